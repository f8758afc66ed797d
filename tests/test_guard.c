/* guard (server/learner/guard.c): the finiteness guard of the trainer's state. The scan finds
 * NaN and infinities wherever they are; a commit after a finite update keeps the state, one
 * after a non-finite loss or tensor restores the last good state exactly (tensors and step
 * counters); and a real DQN update on a batch of 3e38 observations is undone while honest
 * batches before and after it train. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "check.h"
#include "config.h"
#include "env.h"
#include "guard.h"
#include "tpool.h"

static void test_scan(void) {
  float x[1000];
  for (int i = 0; i < 1000; i++) x[i] = (float)i * 0.5f - 3e38f * (i == 7);
  CHECK(guard_find_nonfinite(x, 1000) == -1, "finite buffer (with -3e38) reported at %zd",
        guard_find_nonfinite(x, 1000));
  x[300] = NAN;
  CHECK(guard_find_nonfinite(x, 1000) == 300, "NaN at 300 reported at %zd",
        guard_find_nonfinite(x, 1000));
  x[0] = INFINITY;
  CHECK(guard_find_nonfinite(x, 1000) == 0, "inf at 0 reported at %zd",
        guard_find_nonfinite(x, 1000));
  x[0] = 1;
  x[300] = 2;
  x[999] = -INFINITY;
  CHECK(guard_find_nonfinite(x, 1000) == 999, "-inf at 999 reported at %zd",
        guard_find_nonfinite(x, 1000));
  CHECK(guard_find_nonfinite(x, 0) == -1, "empty buffer");
}

static void test_commit_restore(void) {
  float a[5] = {1, 2, 3, 4, 5}, b[300];
  for (int i = 0; i < 300; i++) b[i] = (float)i;
  long steps = 10;
  algo_state_view_t v = {.n = 2,
                         .name = {"online", "adam_v"},
                         .ptr = {a, b},
                         .len = {5, 300},
                         .n_steps = 1,
                         .steps = {&steps}};
  guard_t g;
  char why[256];
  CHECK(guard_init(&g, &v, why, sizeof why) == 0, "init: %s", why);
  a[0] = 1.5f; /* a finite update */
  steps = 11;
  CHECK(guard_commit(&g, 0.5, 1.0, why, sizeof why) == 0, "finite update refused: %s", why);
  a[1] = 7; /* the next update poisons one moment */
  b[123] = INFINITY;
  steps = 12;
  CHECK(guard_commit(&g, 0.5, 1.0, why, sizeof why) == -1, "inf in adam_v accepted");
  CHECK(strstr(why, "adam_v[123]") != NULL, "reason '%s' does not name adam_v[123]", why);
  CHECK(a[0] == 1.5f && a[1] == 2 && b[123] == 123 && steps == 11,
        "not restored to the last good state: a0 %g a1 %g b123 %g steps %ld", (double)a[0],
        (double)a[1], (double)b[123], steps);
  a[2] = 9; /* a NaN loss undoes a finite-looking state too */
  CHECK(guard_commit(&g, NAN, 1.0, why, sizeof why) == -1 && a[2] == 3,
        "NaN loss: a2 = %g (want 3 restored)", (double)a[2]);
  CHECK(strstr(why, "loss") != NULL, "reason '%s' does not name the loss", why);
  CHECK(guard_commit(&g, 0.1, INFINITY, why, sizeof why) == -1, "inf mean Q accepted");
  guard_free(&g);
  a[4] = NAN;
  CHECK(guard_init(&g, &v, why, sizeof why) == -1 && strstr(why, "online[4]"),
        "a non-finite starting state was accepted (%s)", why);
}

/* Copies every tensor of the view, back to back. */
static float *copy_state(const algo_state_view_t *v, size_t *n) {
  *n = 0;
  for (int t = 0; t < v->n; t++) *n += v->len[t];
  float *c = malloc(*n * sizeof(float)), *p = c;
  for (int t = 0; t < v->n; t++) {
    memcpy(p, v->ptr[t], v->len[t] * sizeof(float));
    p += v->len[t];
  }
  return c;
}

static void test_dqn_poison(void) {
  const algo_t *a = algo_find("dqn");
  const env_spec_t *spec = env_find("CartPole-v1");
  CHECK(a && spec, "dqn row and CartPole-v1 present");
  if (!a || !spec) return;
  config_t c;
  config_init(&c);
  char err[256];
  CHECK(config_set(&c, "batch_size", "16", err, sizeof err) == 0, "%s", err);
  rng_t rng;
  rng_seed(&rng, 5);
  void *st = a->create(a, &c, spec, &rng, err, sizeof err);
  CHECK(st != NULL, "create: %s", err);
  if (!st) return;
  algo_state_view_t v;
  a->state_view(st, &v);
  guard_t g;
  char why[256];
  CHECK(guard_init(&g, &v, why, sizeof why) == 0, "init: %s", why);
  enum { B = 16 };
  float obs[B * 4], next[B * 4], act[B], rew[B], term[B];
  for (int i = 0; i < B * 4; i++) obs[i] = next[i] = 0.01f * (float)(i % 7);
  for (int i = 0; i < B; i++) {
    act[i] = (float)(i % 2);
    rew[i] = 1;
    term[i] = 0;
  }
  algo_batch_t batch = {obs, act, rew, next, term, NULL, NULL, NULL};
  algo_stats_t s;
  a->update(st, &batch, &s);
  CHECK(guard_commit(&g, s.loss, s.mean_q, why, sizeof why) == 0, "honest update refused: %s", why);
  long updates = *v.steps[0];
  size_t n;
  float *before = copy_state(&v, &n);
  float pobs[B * 4]; /* finite but extreme: within CartPole's unbounded velocity dims */
  for (int i = 0; i < B * 4; i++) pobs[i] = (i % 2 ? 3e38f : -3e38f);
  algo_batch_t poison = {pobs, act, rew, pobs, term, NULL, NULL, NULL};
  a->update(st, &poison, &s);
  CHECK(guard_commit(&g, s.loss, s.mean_q, why, sizeof why) == -1, "3e38 batch accepted (loss %g)",
        (double)s.loss);
  size_t n2;
  float *after = copy_state(&v, &n2);
  CHECK(n == n2 && memcmp(before, after, n * sizeof(float)) == 0,
        "state after the undone update differs from the last good one");
  CHECK(*v.steps[0] == updates, "update counter %ld, expected %ld (the skip is not an update)",
        *v.steps[0], updates);
  a->update(st, &batch, &s);
  CHECK(guard_commit(&g, s.loss, s.mean_q, why, sizeof why) == 0 && *v.steps[0] == updates + 1,
        "honest update after the skip refused (%s) or miscounted (%ld)", why, *v.steps[0]);
  free(before);
  free(after);
  guard_free(&g);
  a->destroy(st);
}

/* guard_commit_pool: the check and copy split across pools of 2 and 3 threads, on a state of
 * three tensors (100,003 floats, above the split threshold, lengths off the 16-float blocks):
 * a finite update is kept, a bad value in any part's range (the first tensor, across the
 * boundary of two tensors, the last float) is named and the last good state restored. */
static void test_commit_pool(void) {
  enum { NA = 33331, NB = 50001, NC = 16671 };
  float *a = malloc(NA * sizeof(float)), *b = malloc(NB * sizeof(float));
  float *c = malloc(NC * sizeof(float));
  for (int i = 0; i < NA; i++) a[i] = (float)i;
  for (int i = 0; i < NB; i++) b[i] = (float)-i;
  for (int i = 0; i < NC; i++) c[i] = 0.5f * (float)i;
  long steps = 1;
  algo_state_view_t v = {.n = 3,
                         .name = {"online", "target", "adam_v"},
                         .ptr = {a, b, c},
                         .len = {NA, NB, NC},
                         .n_steps = 1,
                         .steps = {&steps}};
  for (int threads = 2; threads <= 3; threads++) {
    tpool_t *pool = tpool_create(threads, NULL);
    CHECK(pool != NULL, "pool of %d", threads);
    guard_t g;
    char why[256];
    CHECK(guard_init(&g, &v, why, sizeof why) == 0, "init: %s", why);
    const struct {
      int t, i;
      const char *name;
    } bad[] = {{0, 5, "online[5]"}, {1, 0, "target[0]"}, {1, NB - 1, "target[50000]"},
               {2, NC - 1, "adam_v[16670]"}, {1, 25000, "target[25000]"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
      a[1] += 1.0f; /* a finite update, kept */
      steps++;
      CHECK(guard_commit_pool(&g, 0.5, 1.0, why, sizeof why, pool) == 0, "%d threads: %s",
            threads, why);
      float keep_a1 = a[1];
      long keep_steps = steps;
      a[1] += 1.0f; /* the next update poisons one value */
      steps++;
      float *t = bad[k].t == 0 ? a : bad[k].t == 1 ? b : c;
      float was = t[bad[k].i];
      t[bad[k].i] = NAN;
      CHECK(guard_commit_pool(&g, 0.5, 1.0, why, sizeof why, pool) == -1 &&
                strstr(why, bad[k].name) != NULL,
            "%d threads: NaN at %s: reason '%s'", threads, bad[k].name, why);
      CHECK(a[1] == keep_a1 && t[bad[k].i] == was && steps == keep_steps,
            "%d threads: not restored after NaN at %s", threads, bad[k].name);
    }
    guard_free(&g);
    tpool_destroy(pool);
  }
  free(a);
  free(b);
  free(c);
}

int main(void) {
  test_scan();
  test_commit_pool();
  test_commit_restore();
  test_dqn_poison();
  CHECK_DONE();
}
