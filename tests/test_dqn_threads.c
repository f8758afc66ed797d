/* test_dqn_threads: dqn_update_ext (server/algo/dqn.c) with the trainer's pool (gemm_set_pool,
 * trainer_threads = T): the online and target forwards run at once on two threads, the
 * backward's products and the optimizer step are split. For the minatar-breakout-dqn preset
 * (conv DQN, RMSprop, plain DQN) and cartpole-dqn (4-256-256-2, Adam, double DQN):
 *   - two runs with the same T give the same bits (no dependence on timing);
 *   - T = 2 and 3 stay within rounding of T = 1 after a few updates (products split in other
 *     orders), with the same loss and mean Q to 1e-5 at the first update (the forwards are the
 *     same computation on every T). */
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
} run_t;

/* UPDATES updates of a fresh dqn_t (parameters from seed 5) on fixed random batches. */
static void run_updates(run_t *r, const config_t *c, int obs_dim, const int *shape, int n_actions,
                        int binary, tpool_t *pool) {
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
    dqn_update(&r->d, obs, act, rew, next, term, &st);
    if (u == 0) r->first = st;
  }
  gemm_set_pool(NULL);
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
}

static void check_preset(const char *preset, const char *hidden) {
  config_t c;
  config_init(&c);
  char err[256];
  CHECK(config_load_preset(&c, preset, err, sizeof err) == 0, "%s", err);
  if (hidden) CHECK(config_set(&c, "hidden", hidden, err, sizeof err) == 0, "%s", err);
  const env_spec_t *spec = env_find(c.env);
  CHECK(spec != NULL, "%s: env %s", preset, c.env);
  if (!spec) return;
  int binary = spec->obs.shape[0] > 0;
  run_t one;
  run_updates(&one, &c, spec->obs.dim, binary ? spec->obs.shape : NULL, spec->act.n, binary, NULL);
  const size_t n = one.d.layout.n_params;
  for (int t = 2; t <= 3; t++) {
    tpool_t *pool = tpool_create(t, nn_flush_denormals);
    CHECK(pool != NULL, "pool of %d", t);
    if (!pool) continue;
    run_t a, b;
    run_updates(&a, &c, spec->obs.dim, binary ? spec->obs.shape : NULL, spec->act.n, binary, pool);
    run_updates(&b, &c, spec->obs.dim, binary ? spec->obs.shape : NULL, spec->act.n, binary, pool);
    CHECK(memcmp(a.d.online, b.d.online, n * sizeof(float)) == 0 &&
              memcmp(a.d.adam.v, b.d.adam.v, n * sizeof(float)) == 0,
          "%s, %d threads: two runs differ", preset, t);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
      worst = fmax(worst, fabs(a.d.online[i] - one.d.online[i]));
      scale = fmax(scale, fabs(one.d.online[i]));
    }
    CHECK(worst <= 1e-5 * scale, "%s, %d threads vs 1: parameters %g apart (largest %g)", preset,
          t, worst, scale);
    CHECK_NEAR(a.first.loss, one.first.loss, 1e-5 * (1 + fabs(one.first.loss)));
    CHECK_NEAR(a.first.mean_q, one.first.mean_q, 1e-5 * (1 + fabs(one.first.mean_q)));
    CHECK_NEAR(a.first.grad_norm, one.first.grad_norm, 1e-4 * (1 + one.first.grad_norm));
    printf("%s, %d threads: parameters after %d updates within %.3g of 1 thread's\n", preset, t,
           UPDATES, worst);
    dqn_free(&a.d);
    dqn_free(&b.d);
    tpool_destroy(pool);
  }
  dqn_free(&one.d);
}

int main(void) {
  nn_flush_denormals();
  check_preset("minatar-breakout-dqn", NULL);
  check_preset("cartpole-dqn", "256,256");
  CHECK_DONE();
}
