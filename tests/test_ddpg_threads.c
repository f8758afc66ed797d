/* test_ddpg_threads: ddpg_update_ext (server/algo/ddpg.c) with the trainer's pool
 * (gemm_set_pool, trainer_threads = T). With a pool of two or more the whole DDPG / TD3 update
 * runs as one job split by units across the pool (ddpg.c par_*, common/nnpar.h); with none, or
 * a pool of one, the single-thread code. On a Pendulum-like spec (obs_dim 3, one action in
 * [-2, 2]), for DDPG and TD3 with hidden 400,300 (batch 64; TD3 also batch 256) and 64,64
 * (batch 256: too narrow to split at nnpar.c's 64 units per part, so the pool's update runs on
 * one thread, ddpg.c's one_thread path), UPDATES updates on fixed random batches from the same
 * initial parameters:
 *   - a pool of 1 gives the same bits as no pool (the old code path);
 *   - two runs with the same T (2, 3) give the same bits: online, target, Adam moments and
 *     every update's stats (no dependence on timing);
 *   - T = 2 and 3 stay within rounding of T = 1 after the updates (online and target, to
 *     1e-4 * (1 + max |T=1 parameter|)), with the first update's critic loss, mean Q and critic
 *     gradient norm to 1e-4 * (1 + |T=1 value|);
 *   - the actor steps: actor_updates is UPDATES / policy_delay (TD3: 3, DDPG: 6) on every T and
 *     last_actor_loss agrees with T = 1 to 1e-4 * (1 + |T=1 value|);
 *   - the optional rows (n-step disc, importance weights, td out) at T = 2 against T = 1: td is
 *     finite and within 1e-4 * (1 + |T=1 td|) at every update, the same bits on a second T = 2
 *     run;
 *   - a pool changed mid-run (2 updates on 2 threads, 2 on 3, 2 with none) still agrees with
 *     T = 1 (the split is rebuilt for a new pool size).
 * Pools are made as the trainer makes them (tpool_create(T, nn_flush_denormals)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "ddpg.h"
#include "env.h"
#include "gemm.h"
#include "nn.h"
#include "rng.h"
#include "tpool.h"

#define UPDATES 6
#define OBS_DIM 3
#define TOL 1e-4

typedef struct run {
  ddpg_t d;
  ddpg_stats_t st[UPDATES];
  float *td; /* UPDATES x batch when the optional rows are on, else NULL */
} run_t;

static env_space_t pendulum_actions(void) {
  env_space_t s;
  memset(&s, 0, sizeof s);
  s.kind = ENV_BOX;
  s.dim = 1;
  s.low[0] = -2.0f;
  s.high[0] = 2.0f;
  return s;
}

static void make_config(config_t *c, const char *algo, const char *hidden, int batch) {
  config_init(c);
  snprintf(c->algo, sizeof c->algo, "%s", algo);
  snprintf(c->hidden, sizeof c->hidden, "%s", hidden);
  c->batch_size = batch;
  c->tau = 0.005;
  c->gamma = 0.99;
  c->policy_delay = 2; /* TD3 only (ddpg_init uses 1 for DDPG) */
  c->target_noise = 0.2;
  c->target_noise_clip = 0.5;
  /* grad_clip stays at its default (10): the clip's norm is part of the split step */
}

/* UPDATES updates of a fresh ddpg_t (parameters from seed 5) on fixed random batches (seed 9),
 * update u with the pool pools[u] (NULL: none). rows: also n-step discounts gamma^k, importance
 * weights in (0, 1] and the td output. */
static void run_updates(run_t *r, const config_t *c, tpool_t *const *pools, int rows) {
  rng_t init, data;
  rng_seed(&init, 5);
  rng_seed(&data, 9);
  char err[256];
  env_space_t as = pendulum_actions();
  memset(r, 0, sizeof *r);
  int rc = ddpg_init(&r->d, c, OBS_DIM, &as, &init, err, sizeof err);
  CHECK(rc == 0, "ddpg_init: %s", err);
  if (rc) exit(1);
  const int B = r->d.batch;
  const size_t no = (size_t)B * OBS_DIM;
  float *obs = malloc(no * sizeof(float)), *next = malloc(no * sizeof(float));
  float *act = malloc(B * sizeof(float)), *rew = malloc(B * sizeof(float));
  float *term = malloc(B * sizeof(float)), *disc = malloc(B * sizeof(float));
  float *weight = malloc(B * sizeof(float));
  if (rows) r->td = malloc((size_t)UPDATES * B * sizeof(float));
  if (!obs || !next || !act || !rew || !term || !disc || !weight || (rows && !r->td)) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  for (int u = 0; u < UPDATES; u++) {
    for (size_t i = 0; i < no; i++) {
      obs[i] = (float)rng_range(&data, -1, 1);
      next[i] = (float)rng_range(&data, -1, 1);
    }
    for (int b = 0; b < B; b++) {
      act[b] = (float)rng_range(&data, -2, 2);
      rew[b] = (float)rng_range(&data, -1, 1);
      term[b] = rng_below(&data, 10) == 0 ? 1.0f : 0.0f;
      disc[b] = (float)pow(c->gamma, 1 + (int)rng_below(&data, 3));
      weight[b] = (float)(1.0 - rng_range(&data, 0, 0.95));
    }
    float *td = rows ? r->td + (size_t)u * B : NULL;
    if (td)
      for (int b = 0; b < B; b++) td[b] = NAN; /* must be overwritten */
    gemm_set_pool(pools[u]);
    ddpg_update_ext(&r->d, obs, act, rew, next, term, rows ? disc : NULL, rows ? weight : NULL,
                    td, &r->st[u]);
    gemm_set_pool(NULL);
  }
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
  free(disc);
  free(weight);
}

static void run_free(run_t *r) {
  ddpg_free(&r->d);
  free(r->td);
  r->td = NULL;
}

static double max_abs(const float *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

static int same_floats(const float *a, const float *b, size_t n) {
  return memcmp(a, b, n * sizeof(float)) == 0;
}

static int same_stats(const ddpg_stats_t *a, const ddpg_stats_t *b) {
  return a->critic_loss == b->critic_loss && a->mean_q == b->mean_q &&
         a->critic_grad_norm == b->critic_grad_norm && a->actor_updated == b->actor_updated &&
         a->actor_loss == b->actor_loss && a->actor_grad_norm == b->actor_grad_norm;
}

/* Two runs give the same bits: parameters, targets, Adam moments, counters, every update's
 * stats (and td rows). */
static void check_identical(const char *what, const run_t *a, const run_t *b) {
  const ddpg_t *x = &a->d, *y = &b->d;
  const size_t n = x->n_online, na = x->n_actor, nc = n - na;
  CHECK(same_floats(x->online, y->online, n), "%s: online buffers differ", what);
  CHECK(same_floats(x->target, y->target, n), "%s: target buffers differ", what);
  CHECK(same_floats(x->adam_actor.m, y->adam_actor.m, na) &&
            same_floats(x->adam_actor.v, y->adam_actor.v, na) &&
            same_floats(x->adam_critic.m, y->adam_critic.m, nc) &&
            same_floats(x->adam_critic.v, y->adam_critic.v, nc),
        "%s: Adam moments differ", what);
  CHECK(x->updates == y->updates && x->actor_updates == y->actor_updates &&
            x->last_actor_loss == y->last_actor_loss,
        "%s: counters or last actor loss differ", what);
  for (int u = 0; u < UPDATES; u++)
    CHECK(same_stats(&a->st[u], &b->st[u]),
          "%s: stats of update %d differ (critic_loss %.9g vs %.9g, mean_q %.9g vs %.9g, "
          "critic_grad_norm %.9g vs %.9g)",
          what, u + 1, a->st[u].critic_loss, b->st[u].critic_loss, a->st[u].mean_q,
          b->st[u].mean_q, a->st[u].critic_grad_norm, b->st[u].critic_grad_norm);
  if (a->td && b->td)
    CHECK(same_floats(a->td, b->td, (size_t)UPDATES * x->batch), "%s: td rows differ", what);
}

/* Run r stays within rounding of the T = 1 run one. */
static void check_near(const char *what, const run_t *r, const run_t *one) {
  const ddpg_t *d = &r->d, *o = &one->d;
  const size_t n = o->n_online;
  double don = max_diff(d->online, o->online, n), son = max_abs(o->online, n);
  double dtg = max_diff(d->target, o->target, n), stg = max_abs(o->target, n);
  CHECK(don <= TOL * (1 + son), "%s vs 1 thread: online parameters %.3g apart (largest %.3g)",
        what, don, son);
  CHECK(dtg <= TOL * (1 + stg), "%s vs 1 thread: target parameters %.3g apart (largest %.3g)",
        what, dtg, stg);
  const ddpg_stats_t *s = &r->st[0], *s1 = &one->st[0];
  CHECK_NEAR(s->critic_loss, s1->critic_loss, TOL * (1 + fabs(s1->critic_loss)));
  CHECK_NEAR(s->mean_q, s1->mean_q, TOL * (1 + fabs(s1->mean_q)));
  CHECK_NEAR(s->critic_grad_norm, s1->critic_grad_norm, TOL * (1 + fabs(s1->critic_grad_norm)));
  CHECK(d->actor_updates == o->actor_updates, "%s: %ld actor updates, 1 thread %ld", what,
        d->actor_updates, o->actor_updates);
  CHECK(d->actor_updates == UPDATES / d->policy_delay, "%s: %ld actor updates, expected %ld",
        what, d->actor_updates, (long)(UPDATES / d->policy_delay));
  CHECK_NEAR(d->last_actor_loss, o->last_actor_loss, TOL * (1 + fabs(o->last_actor_loss)));
  double dloss = 0, dq = 0, dnorm = 0;
  for (int u = 0; u < UPDATES; u++) {
    dloss = fmax(dloss, fabs((double)r->st[u].critic_loss - one->st[u].critic_loss));
    dq = fmax(dq, fabs((double)r->st[u].mean_q - one->st[u].mean_q));
    dnorm = fmax(dnorm, fabs((double)r->st[u].critic_grad_norm - one->st[u].critic_grad_norm));
  }
  printf("  %s: online %.3g (largest %.3g), target %.3g; first update: critic_loss %.3g, "
         "mean_q %.3g, critic_grad_norm %.3g (of %.4g, %.4g, %.4g); over all updates %.3g, "
         "%.3g, %.3g; last_actor_loss %.3g (of %.4g); bits %s\n",
         what, don, son, dtg, fabs((double)s->critic_loss - s1->critic_loss),
         fabs((double)s->mean_q - s1->mean_q),
         fabs((double)s->critic_grad_norm - s1->critic_grad_norm), s1->critic_loss, s1->mean_q,
         s1->critic_grad_norm, dloss, dq, dnorm,
         fabs((double)d->last_actor_loss - o->last_actor_loss), o->last_actor_loss,
         same_floats(d->online, o->online, n) ? "equal" : "differ");
}

static void fill(tpool_t **s, tpool_t *p) {
  for (int u = 0; u < UPDATES; u++) s[u] = p;
}

/* Checks 1-3, 5 and (schedule) 6 for one configuration. pools[t]: a pool of t threads. */
static void check_config(const char *algo, const char *hidden, int batch, tpool_t **pools,
                         int schedule) {
  config_t c;
  make_config(&c, algo, hidden, batch);
  printf("%s %d-%s-1, batch %d:\n", algo, OBS_DIM, hidden, batch);
  tpool_t *sched[UPDATES];
  run_t one, r1;
  fill(sched, NULL);
  run_updates(&one, &c, sched, 0);
  CHECK(one.d.par == NULL, "%s %s: no pool, yet a split was made", algo, hidden);
  CHECK(one.d.actor_updates == UPDATES / one.d.policy_delay,
        "%s %s, 1 thread: %ld actor updates, expected %d", algo, hidden, one.d.actor_updates,
        UPDATES / (int)one.d.policy_delay);
  /* a pool of one: the single-thread code, the same bits as no pool */
  fill(sched, pools[1]);
  run_updates(&r1, &c, sched, 0);
  char what[128];
  snprintf(what, sizeof what, "%s %s, pool of 1 vs none", algo, hidden);
  check_identical(what, &r1, &one);
  run_free(&r1);
  for (int t = 2; t <= 3; t++) {
    run_t a, b;
    fill(sched, pools[t]);
    run_updates(&a, &c, sched, 0);
    run_updates(&b, &c, sched, 0);
    CHECK(a.d.par != NULL, "%s %s, %d threads: no split was set up", algo, hidden, t);
    snprintf(what, sizeof what, "%s %s, %d threads twice", algo, hidden, t);
    check_identical(what, &a, &b);
    snprintf(what, sizeof what, "%d threads", t);
    check_near(what, &a, &one);
    run_free(&a);
    run_free(&b);
  }
  if (schedule) {
    /* 2 updates on 2 threads, 2 on 3, 2 with no pool */
    tpool_t *mixed[UPDATES] = {pools[2], pools[2], pools[3], pools[3], NULL, NULL};
    run_t a, b;
    run_updates(&a, &c, mixed, 0);
    run_updates(&b, &c, mixed, 0);
    snprintf(what, sizeof what, "%s %s, pools 2,2,3,3,-,- twice", algo, hidden);
    check_identical(what, &a, &b);
    check_near("pools 2,2,3,3,-,-", &a, &one);
    run_free(&a);
    run_free(&b);
  }
  run_free(&one);
}

/* Check 4: disc, weight and td through ddpg_update_ext at T = 2 against T = 1. */
static void check_rows(const char *algo, const char *hidden, int batch, tpool_t **pools) {
  config_t c;
  make_config(&c, algo, hidden, batch);
  printf("%s %d-%s-1, batch %d, with disc, weight and td rows:\n", algo, OBS_DIM, hidden, batch);
  tpool_t *sched[UPDATES];
  run_t one, plain, a, b;
  fill(sched, NULL);
  run_updates(&one, &c, sched, 1);
  run_updates(&plain, &c, sched, 0);
  /* the rows change the update (else this check would not exercise them) */
  CHECK(one.st[0].critic_loss != plain.st[0].critic_loss,
        "%s %s: disc and weight left the critic loss unchanged", algo, hidden);
  run_free(&plain);
  fill(sched, pools[2]);
  run_updates(&a, &c, sched, 1);
  run_updates(&b, &c, sched, 1);
  char what[128];
  snprintf(what, sizeof what, "%s %s rows, 2 threads twice", algo, hidden);
  check_identical(what, &a, &b);
  check_near("2 threads, rows", &a, &one);
  const int B = one.d.batch;
  double worst = 0, worst_first = 0;
  int bad = 0, far = 0, first_far = -1;
  for (int u = 0; u < UPDATES; u++)
    for (int i = 0; i < B; i++) {
      size_t k = (size_t)u * B + i;
      if (!isfinite(a.td[k]) || !isfinite(one.td[k])) {
        bad++;
        continue;
      }
      double e = fabs((double)a.td[k] - one.td[k]);
      worst = fmax(worst, e);
      if (u == 0) worst_first = fmax(worst_first, e);
      if (e > TOL * (1 + fabs(one.td[k]))) {
        if (!far) first_far = (int)k;
        far++;
      }
    }
  CHECK(bad == 0, "%s %s: %d td values not finite (or not written)", algo, hidden, bad);
  CHECK(far == 0,
        "%s %s: %d td values beyond 1e-4 * (1 + |td_1|) of 1 thread's, first at update %d row "
        "%d: %.9g vs %.9g",
        algo, hidden, far, first_far < 0 ? 0 : first_far / B + 1, first_far < 0 ? 0 : first_far % B,
        first_far < 0 ? 0.0 : a.td[first_far], first_far < 0 ? 0.0 : one.td[first_far]);
  printf("  td rows: max difference %.3g at the first update, %.3g over all %d updates (largest "
         "td %.4g)\n",
         worst_first, worst, UPDATES, max_abs(one.td, (size_t)UPDATES * B));
  run_free(&a);
  run_free(&b);
  run_free(&one);
}

int main(void) {
  nn_flush_denormals();
  tpool_t *pools[4] = {NULL, NULL, NULL, NULL};
  for (int t = 1; t <= 3; t++) {
    pools[t] = tpool_create(t, nn_flush_denormals);
    CHECK(pools[t] != NULL && tpool_size(pools[t]) == t, "pool of %d", t);
    if (!pools[t]) {
      for (int k = 1; k < t; k++) tpool_destroy(pools[k]);
      CHECK_DONE();
    }
  }
  check_config("ddpg", "400,300", 64, pools, 1);
  check_config("td3", "400,300", 64, pools, 1);
  check_config("td3", "400,300", 256, pools, 0);
  check_config("ddpg", "64,64", 256, pools, 0);
  check_config("td3", "64,64", 256, pools, 0);
  check_rows("td3", "400,300", 64, pools);
  for (int t = 1; t <= 3; t++) tpool_destroy(pools[t]);
  CHECK_DONE();
}
