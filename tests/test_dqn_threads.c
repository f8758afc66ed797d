/* test_dqn_threads: dqn_update_ext (server/algo/dqn.c) with the trainer's pool (gemm_set_pool,
 * trainer_threads = T). A conv DQN (minatar-breakout-dqn: RMSprop, plain DQN) runs its online
 * and target forwards at once and splits the backward's products and the optimizer step
 * (gemm.h); a dense one (cartpole-dqn, 4-256-256-2, Adam; double DQN, and plain) runs the whole
 * update as one job split by units (common/nnpar.h); 4-64-64-2 is too narrow to split and runs
 * on one thread. For each, T = 2 and 3:
 *   - two runs with the same T give the same bits (no dependence on timing);
 *   - T = 2 and 3 stay within rounding of T = 1 after a few updates (sums in other orders),
 *     with the same loss and mean Q to 1e-5 at the first update;
 *   - with the optional rows (n-step discounts, importance weights, |TD errors| out), every
 *     |TD error| is written and within 1e-4 (relative) of T = 1's, the same bits per T. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "dqn.h"
#include "env.h"
#include "gemm.h"
#include "nn.h"
#include "rng.h"
#include "tpool.h"

#define UPDATES 6

typedef struct run {
  dqn_t d;
  dqn_stats_t first;
  float *td; /* rows: UPDATES x batch |TD errors| (dqn_update_ext's td row) */
} run_t;

/* UPDATES updates of a fresh dqn_t (parameters from seed 5) on fixed random batches. */
static void run_updates(run_t *r, const config_t *c, int obs_dim, const int *shape, int n_actions,
                        int binary, tpool_t *pool, int rows) {
  rng_t init, data;
  rng_seed(&init, 5);
  rng_seed(&data, 9);
  char err[256];
  CHECK(dqn_init_shaped(&r->d, c, obs_dim, shape, n_actions, &init, err, sizeof err) == 0, "%s",
        err);
  const int B = r->d.batch;
  size_t no = (size_t)B * obs_dim;
  float *obs = malloc(no * sizeof(float)), *next = malloc(no * sizeof(float));
  float *act = malloc(B * sizeof(float)), *rew = malloc(B * sizeof(float));
  float *term = malloc(B * sizeof(float));
  float *disc = malloc(B * sizeof(float)), *weight = malloc(B * sizeof(float));
  r->td = rows ? malloc((size_t)UPDATES * B * sizeof(float)) : NULL;
  gemm_set_pool(pool);
  for (int u = 0; u < UPDATES; u++) {
    for (size_t i = 0; i < no; i++) {
      obs[i] = binary ? (rng_below(&data, 8) == 0 ? 1.0f : 0.0f) : (float)rng_range(&data, -1, 1);
      next[i] = binary ? (rng_below(&data, 8) == 0 ? 1.0f : 0.0f) : (float)rng_range(&data, -1, 1);
    }
    for (int b = 0; b < B; b++) {
      act[b] = (float)rng_below(&data, (uint64_t)n_actions);
      rew[b] = (float)rng_range(&data, -1, 1);
      term[b] = rng_below(&data, 10) == 0 ? 1.0f : 0.0f;
    }
    dqn_stats_t st;
    if (rows) { /* n-step discounts, importance weights, |TD errors| out (prioritized replay) */
      for (int b = 0; b < B; b++) {
        disc[b] = powf(0.99f, (float)(1 + rng_below(&data, 3)));
        weight[b] = (float)rng_range(&data, 0.05, 1.0);
      }
      float *td = r->td + (size_t)u * B;
      for (int b = 0; b < B; b++) td[b] = NAN;
      dqn_update_ext(&r->d, obs, act, rew, next, term, disc, weight, td, &st);
    } else {
      dqn_update(&r->d, obs, act, rew, next, term, &st);
    }
    if (u == 0) r->first = st;
  }
  gemm_set_pool(NULL);
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
  free(disc);
  free(weight);
}

/* key = value settings over the preset (NULL-terminated pairs) */
static void check_preset(const char *preset, const char *const *set, int rows) {
  config_t c;
  config_init(&c);
  char err[256], name[160];
  CHECK(config_load_preset(&c, preset, err, sizeof err) == 0, "%s", err);
  size_t k = (size_t)snprintf(name, sizeof name, "%s", preset);
  for (int i = 0; set && set[i]; i += 2) {
    CHECK(config_set(&c, set[i], set[i + 1], err, sizeof err) == 0, "%s", err);
    k += (size_t)snprintf(name + k, sizeof name - k, " %s=%s", set[i], set[i + 1]);
  }
  if (rows) snprintf(name + k, sizeof name - k, " (disc, weight, td rows)");
  const env_spec_t *spec = env_find(c.env);
  CHECK(spec != NULL, "%s: env %s", preset, c.env);
  if (!spec) return;
  int binary = spec->obs.shape[0] > 0;
  const int *shape = binary ? spec->obs.shape : NULL;
  run_t one;
  run_updates(&one, &c, spec->obs.dim, shape, spec->act.n, binary, NULL, rows);
  const size_t n = one.d.layout.n_params, ntd = (size_t)UPDATES * one.d.batch;
  for (int t = 2; t <= 3; t++) {
    tpool_t *pool = tpool_create(t, nn_flush_denormals);
    CHECK(pool != NULL, "pool of %d", t);
    if (!pool) continue;
    run_t a, b;
    run_updates(&a, &c, spec->obs.dim, shape, spec->act.n, binary, pool, rows);
    run_updates(&b, &c, spec->obs.dim, shape, spec->act.n, binary, pool, rows);
    CHECK(memcmp(a.d.online, b.d.online, n * sizeof(float)) == 0 &&
              memcmp(a.d.adam.v, b.d.adam.v, n * sizeof(float)) == 0,
          "%s, %d threads: two runs differ", name, t);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
      worst = fmax(worst, fabs(a.d.online[i] - one.d.online[i]));
      scale = fmax(scale, fabs(one.d.online[i]));
    }
    CHECK(worst <= 1e-5 * scale, "%s, %d threads vs 1: parameters %g apart (largest %g)", name, t,
          worst, scale);
    CHECK_NEAR(a.first.loss, one.first.loss, 1e-5 * (1 + fabs(one.first.loss)));
    CHECK_NEAR(a.first.mean_q, one.first.mean_q, 1e-5 * (1 + fabs(one.first.mean_q)));
    CHECK_NEAR(a.first.grad_norm, one.first.grad_norm, 1e-4 * (1 + one.first.grad_norm));
    double td_worst = 0;
    for (size_t i = 0; rows && i < ntd; i++) {
      CHECK(isfinite(a.td[i]), "%s, %d threads: td[%zu] not written", name, t, i);
      td_worst = fmax(td_worst, fabs(a.td[i] - one.td[i]) / (1 + fabs(one.td[i])));
    }
    CHECK(td_worst <= 1e-4, "%s, %d threads: |TD errors| %g from 1 thread's", name, t, td_worst);
    CHECK(!rows || memcmp(a.td, b.td, ntd * sizeof(float)) == 0, "%s, %d threads: td differs",
          name, t);
    printf("%s, %d threads: parameters after %d updates within %.3g of 1 thread's%s", name, t,
           UPDATES, worst, worst == 0 ? " (the same bits)" : "");
    if (rows) printf("; |TD errors| within %.3g (relative)", td_worst);
    printf("\n");
    free(a.td);
    free(b.td);
    dqn_free(&a.d);
    dqn_free(&b.d);
    tpool_destroy(pool);
  }
  free(one.td);
  dqn_free(&one.d);
}

int main(void) {
  nn_flush_denormals();
  static const char *const wide[] = {"hidden", "256,256", NULL};
  static const char *const plain[] = {"hidden", "256,256", "double_dqn", "false", NULL};
  static const char *const narrow[] = {"hidden", "64,64", NULL};
  check_preset("minatar-breakout-dqn", NULL, 0); /* conv: products split by gemm.h */
  check_preset("cartpole-dqn", wide, 0);         /* dense: split by units (nnpar.h) */
  check_preset("cartpole-dqn", wide, 1);
  check_preset("cartpole-dqn", plain, 0);
  check_preset("cartpole-dqn", narrow, 0); /* too narrow: one thread's update, the same bits */
  CHECK_DONE();
}
