/* Ape-X DPG actor priorities (server/algo/ddpg.c, the ddpg and td3 rows' `priorities`): on the
 * same networks and transitions, what a worker computes with its copies of the published online
 * buffer (actor | critics) and target buffer equals the learner's |TD error| (ddpg_update_ext's
 * td, critic 1 against the n-step target from the target actor and the target critic(s), min of
 * the two for TD3), row by row, through a 3-row actor workspace (chunks), with terminated rows
 * not bootstrapped and truncated rows bootstrapped. TD3 runs with target_noise = 0: the
 * learner's target smoothing is random, the worker's estimate is its noise-free version. Also:
 * the rows publish their target buffer (what the Weights frame carries under actor_priorities)
 * and the config check accepts actor_priorities for them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algo.h"
#include "check.h"
#include "config.h"
#include "ddpg.h"
#include "env.h"
#include "nn.h"
#include "rng.h"
#include "tbatch.h"

#define B 7

static void check_algo(const char *name) {
  config_t c;
  config_init(&c);
  snprintf(c.algo, sizeof c.algo, "%s", name);
  snprintf(c.env, sizeof c.env, "Pendulum-v1");
  snprintf(c.hidden, sizeof c.hidden, "16,8");
  snprintf(c.replay, sizeof c.replay, "prioritized");
  c.actor_priorities = 1;
  c.batch_size = B;
  c.gamma = 0.95;
  c.target_noise = 0;
  char err[512];
  const algo_t *row = NULL;
  CHECK(algo_validate_config(&c, NULL, &row, err, sizeof err) == 0, "%s: %s", name, err);
  row = algo_find(name);
  CHECK(row && row->priorities, "%s row has no priorities", name);
  const env_spec_t *spec = env_find("Pendulum-v1");
  CHECK(spec != NULL, "Pendulum-v1 not registered");
  if (!row || !row->priorities || !spec) return;

  algo_policy_t pol;
  CHECK(row->policy(&c, spec, &pol, err, sizeof err) == 0, "%s policy: %s", name, err);
  rng_t rng;
  rng_seed(&rng, 11);
  ddpg_t *d = row->create(row, &c, spec, &rng, err, sizeof err);
  CHECK(d != NULL, "%s create: %s", name, err);
  if (!d) return;
  algo_weights_t w;
  row->weights(d, &w);
  CHECK(w.target != NULL && w.n == d->n_online && w.n_policy == pol.layout.n_params,
        "%s: published buffer %zu floats (policy %zu), target %p", name, w.n, w.n_policy,
        (void *)w.target);
  /* A target that differs from the online buffer, so that mixing them up shows. */
  for (size_t i = 0; i < d->n_online; i++)
    d->target[i] = d->online[i] * 0.7f + (float)rng_range(&rng, -0.05, 0.05);

  const int S = spec->obs.dim, A = spec->act.dim;
  float obs[B * 3], next[B * 3], act[B], rew[B], term[B], disc[B];
  uint8_t flags[B];
  for (int i = 0; i < B * S; i++) {
    obs[i] = (float)rng_range(&rng, -1, 1);
    next[i] = (float)rng_range(&rng, -1, 1);
  }
  for (int i = 0; i < B; i++) {
    act[i] = (float)rng_range(&rng, spec->act.low[0], spec->act.high[0]);
    rew[i] = (float)rng_range(&rng, -8, 0);
    flags[i] = i == 2 ? TBATCH_TERMINATED : i == 4 ? TBATCH_TRUNCATED : 0;
    term[i] = (flags[i] & TBATCH_TERMINATED) ? 1.0f : 0.0f;
    int k = 1 + i % 3; /* a k-step return: gamma^k */
    disc[i] = (float)pow(c.gamma, k);
  }
  CHECK(A == 1 && S == 3, "Pendulum-v1 spaces %d, %d", S, A);

  /* The worker side first (it reads the networks before the learner's step changes them). */
  nn_ws_t ws3;
  CHECK(nn_ws_init(&ws3, &pol.layout, 3) == 0, "ws3");
  float prio[B], td[B];
  CHECK(row->priorities(&c, &pol, w.online, w.target, &ws3, B, obs, act, rew, next, flags, disc,
                        prio) == 0,
        "%s priorities failed", name);
  float ones[B];
  for (int i = 0; i < B; i++) ones[i] = 1.0f;
  ddpg_update_ext(d, obs, act, rew, next, term, disc, ones, td, NULL);
  for (int i = 0; i < B; i++) {
    CHECK(isfinite(prio[i]) && prio[i] >= 0, "%s prio[%d] = %g", name, i, prio[i]);
    CHECK_NEAR(prio[i], td[i], 1e-4 * (1 + fabsf(td[i])));
  }
  /* Not a coincidence of constants: the rows differ. */
  int differ = 0;
  for (int i = 1; i < B; i++) differ |= fabsf(td[i] - td[0]) > 1e-3f;
  CHECK(differ, "%s: all TD errors equal (%g)", name, td[0]);
  nn_ws_free(&ws3);
  row->destroy(d);
}

int main(void) {
  check_algo("ddpg");
  check_algo("td3");
  CHECK_DONE();
}
