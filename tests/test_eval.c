/* test_eval: greedy evaluation (server/algo/eval.c) of a fixed random DQN policy on
 * CartPole-v1: deterministic for given weights and seeds, episode i resets with seed + i (two
 * one-episode evaluations average to the two-episode one), a set abort flag stops it before
 * the first step, and a flag raised by another thread mid-evaluation stops it within a
 * fraction of a second (the learner's stop flag on SIGINT). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "algo.h"
#include "check.h"
#include "env.h"
#include "eval.h"
#include "rng.h"

static config_t cfg;
static algo_policy_t pol;
static const algo_t *dqn;
static float *params;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int setup(void) {
  char err[256];
  config_init(&cfg);
  dqn = algo_find("dqn");
  const env_spec_t *spec = env_find("CartPole-v1");
  CHECK(dqn && spec, "dqn or CartPole-v1 missing");
  if (!dqn || !spec) return -1;
  int rc = dqn->policy(&cfg, spec, &pol, err, sizeof err);
  CHECK(rc == 0, "policy: %s", err);
  if (rc != 0) return -1;
  params = malloc(pol.layout.n_params * sizeof(float));
  rng_t rng;
  rng_seed(&rng, 5);
  for (size_t i = 0; i < pol.layout.n_params; i++)
    params[i] = 0.2f * ((float)rng_uniform(&rng) - 0.5f);
  return 0;
}

static int run(int episodes, uint64_t seed, const atomic_int *abort, eval_result_t *r) {
  char err[256] = "";
  int rc = eval_policy("CartPole-v1", dqn, &pol, params, episodes, seed, abort, r, err, sizeof err);
  if (rc == EVAL_ERROR) fprintf(stderr, "eval: %s\n", err);
  return rc;
}

static void test_deterministic(void) {
  eval_result_t a, b, one0, one1, two;
  CHECK(run(20, 1000, NULL, &a) == EVAL_OK && run(20, 1000, NULL, &b) == EVAL_OK, "eval failed");
  CHECK(a.mean == b.mean && a.std == b.std && a.steps == b.steps, "%g/%g vs %g/%g", a.mean, a.std,
        b.mean, b.std);
  CHECK(a.episodes == 20 && a.steps > 0, "%d episodes, %ld steps", a.episodes, a.steps);
  CHECK(run(1, 1000, NULL, &one0) == EVAL_OK && run(1, 1001, NULL, &one1) == EVAL_OK &&
            run(2, 1000, NULL, &two) == EVAL_OK,
        "eval failed");
  CHECK_NEAR(two.mean, (one0.mean + one1.mean) / 2, 1e-9);
}

static void test_abort_set(void) {
  atomic_int stop = 1;
  eval_result_t r = {.mean = -7, .episodes = -7};
  CHECK(run(20, 1000, &stop, &r) == EVAL_ABORTED, "a set flag did not abort");
  CHECK(r.mean == -7 && r.episodes == -7, "an aborted evaluation wrote its result");
  atomic_int go = 0;
  CHECK(run(5, 1000, &go, &r) == EVAL_OK && r.episodes == 5, "a clear flag stopped the eval");
}

typedef struct {
  atomic_int stop;
  int rc;
  eval_result_t r;
  double t_end;
} async_t;

static void *eval_async(void *arg) {
  async_t *a = arg;
  a->rc = run(100000, 1, &a->stop, &a->r); /* many seconds if left alone */
  a->t_end = now_s();
  return NULL;
}

static void test_abort_from_thread(void) {
  async_t a = {.rc = 99};
  atomic_init(&a.stop, 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, eval_async, &a) == 0, "pthread_create");
  struct timespec d = {0, 50 * 1000 * 1000};
  nanosleep(&d, NULL);
  double t_stop = now_s();
  atomic_store(&a.stop, 1);
  pthread_join(t, NULL);
  CHECK(a.rc == EVAL_ABORTED, "rc %d, expected EVAL_ABORTED (%d)", a.rc, EVAL_ABORTED);
  CHECK(a.t_end - t_stop < 0.5, "stopped %.3f s after the flag was raised", a.t_end - t_stop);
}

int main(void) {
  if (setup() == 0) {
    test_deterministic();
    test_abort_set();
    test_abort_from_thread();
  }
  free(params);
  CHECK_DONE();
}
