/* Checks the DQN update's prioritized / n-step inputs: with weights 1 and disc = gamma it is
 * the plain update bit for bit; td holds |Q(s, a) - y| with y computed by hand from the
 * networks before the step and each row's own discount; the loss is the importance-weighted
 * mean (Huber by hand). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "check.h"
#include "dqn.h"
#include "nn.h"
#include "tbatch.h"

#define B 4
#define S 3
#define A 2

static float huber(float e, float d) {
  float a = fabsf(e);
  return a <= d ? 0.5f * e * e : d * (a - 0.5f * d);
}

int main(void) {
  config_t c;
  config_init(&c);
  snprintf(c.hidden, sizeof c.hidden, "8");
  c.batch_size = B;
  c.double_dqn = 1;
  c.gamma = 0.9;
  char err[256];
  rng_t rng;
  float obs[B * S], next[B * S], act[B] = {0, 1, 1, 0}, rew[B] = {1, -1, 0.5f, 2},
                                 term[B] = {0, 0, 1, 0};
  rng_seed(&rng, 4);
  for (int i = 0; i < B * S; i++) {
    obs[i] = (float)rng_range(&rng, -1, 1);
    next[i] = (float)rng_range(&rng, -1, 1);
  }
  dqn_t a, b;
  rng_seed(&rng, 9);
  CHECK(dqn_init(&a, &c, S, A, &rng, err, sizeof err) == 0, "%s", err);
  rng_seed(&rng, 9);
  CHECK(dqn_init(&b, &c, S, A, &rng, err, sizeof err) == 0, "%s", err);
  /* Make the target differ from the online network so double DQN matters. */
  for (size_t i = 0; i < a.layout.n_params; i++) a.target[i] = b.target[i] = a.online[i] * 0.7f;

  /* Expected targets from the networks before the step. */
  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, &a.layout, B) == 0, "ws");
  float qs[B * A], qn[B * A], qt[B * A];
  memcpy(qs, nn_forward(&ws, a.online, obs, B), sizeof qs);
  memcpy(qn, nn_forward(&ws, a.online, next, B), sizeof qn);
  memcpy(qt, nn_forward(&ws, a.target, next, B), sizeof qt);
  float disc[B] = {0.9f, 0.81f, 0.729f, 0.0f}, w1[B] = {1, 1, 1, 1},
        gam[B] = {0.9f, 0.9f, 0.9f, 0.9f};
  float td[B], want_td[B];
  for (int i = 0; i < B; i++) {
    int as = qn[i * A] >= qn[i * A + 1] ? 0 : 1;
    float y = rew[i] + disc[i] * (1 - term[i]) * qt[i * A + as];
    want_td[i] = fabsf(qs[i * A + (int)act[i]] - y);
  }

  dqn_stats_t sa, sb;
  dqn_update(&a, obs, act, rew, next, term, &sa);
  dqn_update_ext(&b, obs, act, rew, next, term, gam, w1, NULL, &sb);
  CHECK(memcmp(a.online, b.online, a.layout.n_params * sizeof(float)) == 0,
        "weights 1 and disc gamma differ from the plain update");
  CHECK(sa.loss == sb.loss, "loss %g vs %g", sa.loss, sb.loss);
  dqn_free(&a);
  dqn_free(&b);

  /* Per-row discount and weights, from the same starting point. */
  rng_seed(&rng, 9);
  CHECK(dqn_init(&a, &c, S, A, &rng, err, sizeof err) == 0, "%s", err);
  for (size_t i = 0; i < a.layout.n_params; i++) a.target[i] = a.online[i] * 0.7f;
  /* The worker's priorities (the algo row, through a 3-row workspace: chunks) agree with the
   * learner's TD errors on the same networks. */
  const algo_t *row = algo_find("dqn");
  CHECK(row && row->priorities, "dqn row has no priorities");
  if (row && row->priorities) {
    algo_policy_t pol = {
        .layout = a.layout, .obs_dim = S, .act_dim = 1, .n_actions = A, .n_out = A};
    nn_ws_t ws3;
    CHECK(nn_ws_init(&ws3, &a.layout, 3) == 0, "ws3");
    uint8_t flags[B] = {0, TBATCH_TRUNCATED, TBATCH_TERMINATED, 0};
    float prio[B];
    row->priorities(&c, &pol, a.online, a.target, &ws3, B, obs, act, rew, next, flags, disc, prio);
    for (int i = 0; i < B; i++) CHECK_NEAR(prio[i], want_td[i], 1e-5);
    nn_ws_free(&ws3);
  }
  float w[B] = {0.5f, 1, 0.25f, 0.125f};
  dqn_update_ext(&a, obs, act, rew, next, term, disc, w, td, &sa);
  double wl = 0;
  for (int i = 0; i < B; i++) {
    CHECK_NEAR(td[i], want_td[i], 1e-5);
    wl += w[i] * huber(want_td[i], (float)c.huber_delta);
  }
  CHECK_NEAR(sa.loss, wl / B, 1e-5);
  dqn_free(&a);
  nn_ws_free(&ws);
  CHECK_DONE();
}
