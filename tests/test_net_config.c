/* test_net_config: networks described in config (`net`, `dueling`) reach every place a network
 * is built. config_validate names a bad layer; with `net` unset the hidden sizes build exactly
 * the MLP they always built (old checkpoints keep their meaning); the dqn row builds MinAtar's
 * conv net on an env with an image observation shape, with and without a dueling head, and
 * trains it (updates finite and moving the weights; greedy actions from the batched forward);
 * conv on an env without a shape, and conv or dueling for ddpg, are refused with messages that
 * name the problem; pg builds its nets from `net`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "check.h"
#include "config.h"
#include "dqn.h"
#include "env.h"
#include "pg.h"
#include "policy.h"
#include "rng.h"

static void set(config_t *c, const char *k, const char *v) {
  char err[512];
  CHECK(config_set(c, k, v, err, sizeof err) == 0, "%s = %s: %s", k, v, err);
}

/* A spec with MinAtar's observation shape (10x10x4, channels last) and 6 actions; the dqn row
 * only reads its spaces. */
static env_spec_t image_spec(void) {
  env_spec_t s;
  memset(&s, 0, sizeof s);
  s.id = "Image-test";
  s.obs.kind = ENV_BOX;
  s.obs.dim = 400;
  s.obs.shape[0] = 10, s.obs.shape[1] = 10, s.obs.shape[2] = 4;
  s.act.kind = ENV_DISCRETE;
  s.act.n = 6;
  s.act.dim = 1;
  return s;
}

static void check_config(void) {
  config_t c;
  char err[512] = "";
  config_init(&c);
  CHECK(c.net[0] == 0 && c.dueling == 0, "defaults: net '%s', dueling %d", c.net, c.dueling);
  set(&c, "net", "cnv:16x3x3,fc:128");
  CHECK(config_validate(&c, err, sizeof err) != 0 &&
            strstr(err, "net: unknown layer 'cnv:16x3x3' at position 1"),
        "validate: '%s'", err);
  set(&c, "net", "conv:16x3x3,fc:128");
  set(&c, "dueling", "1");
  CHECK(config_validate(&c, err, sizeof err) == 0, "validate: %s", err);
  char buf[64];
  config_format(&c, config_field_find("dueling"), buf, sizeof buf);
  CHECK(strcmp(buf, "true") == 0, "dueling formats as '%s'", buf);
}

static void check_policy_layouts(void) {
  config_t c;
  char err[512];
  config_init(&c);
  set(&c, "hidden", "64,32");
  set(&c, "activation", "tanh");
  nn_layout_t a, b;
  const int h[2] = {64, 32};
  CHECK(policy_net_layout(&a, &c, 4, NULL, 2, NN_IDENTITY, 0, err, sizeof err) == 0, "%s", err);
  CHECK(nn_layout_init(&b, 4, h, 2, 2, NN_TANH, NN_IDENTITY) == 0, "init");
  CHECK(memcmp(&a, &b, sizeof a) == 0, "hidden 64,32 no longer builds its old MLP");
  CHECK(policy_layout(&a, &c, 4, 2) == 0 && memcmp(&a, &b, sizeof a) == 0, "policy_layout");
  set(&c, "net", "fc:64,fc:32");
  set(&c, "hidden", "8");
  CHECK(policy_net_layout(&a, &c, 4, NULL, 2, NN_IDENTITY, 0, err, sizeof err) == 0 &&
            memcmp(&a, &b, sizeof a) == 0,
        "net fc:64,fc:32 (over hidden 8) differs from the MLP 64,32: %s", err);
  /* dueling on the hidden MLP: same trunk, a (1 + 2)-row head. */
  set(&c, "net", "");
  set(&c, "hidden", "64,32");
  CHECK(policy_net_layout(&a, &c, 4, NULL, 2, NN_IDENTITY, 1, err, sizeof err) == 0 &&
            a.kind[2] == NN_DUELING && a.n_params == b.n_params + 32 + 1,
        "hidden + dueling: %s, %zu params", err, a.n_params);
}

/* One update on a random batch through the row; returns the largest weight change. */
static double one_update(const algo_t *row, void *st, int B, int S, int A, rng_t *r, float *loss) {
  float *obs = malloc((size_t)B * S * sizeof(float)), *next = malloc((size_t)B * S * sizeof(float));
  float *act = malloc((size_t)B * sizeof(float)), *rew = malloc((size_t)B * sizeof(float));
  float *term = malloc((size_t)B * sizeof(float));
  for (int i = 0; i < B * S; i++) {
    obs[i] = rng_uniform(r) < 0.1 ? 1.0f : 0.0f;
    next[i] = rng_uniform(r) < 0.1 ? 1.0f : 0.0f;
  }
  for (int i = 0; i < B; i++) {
    act[i] = (float)rng_below(r, (uint64_t)A);
    rew[i] = (float)rng_range(r, -1, 1);
    term[i] = rng_uniform(r) < 0.1 ? 1.0f : 0.0f;
  }
  algo_weights_t w;
  row->weights(st, &w);
  float *before = malloc(w.n * sizeof(float));
  memcpy(before, w.online, w.n * sizeof(float));
  algo_batch_t b = {.obs = obs, .act = act, .rew = rew, .next_obs = next, .term = term};
  algo_stats_t out;
  row->update(st, &b, &out);
  double change = 0;
  for (size_t i = 0; i < w.n; i++) change = fmax(change, fabs(w.online[i] - before[i]));
  *loss = out.loss;
  free(before);
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
  return change;
}

static void check_dqn_conv(int dueling) {
  const algo_t *row = algo_find("dqn");
  env_spec_t sp = image_spec();
  config_t c;
  char err[512];
  config_init(&c);
  set(&c, "net", "conv:16x3x3,fc:128");
  set(&c, "batch_size", "8");
  set(&c, "dueling", dueling ? "1" : "0");
  algo_policy_t p;
  CHECK(row->policy(&c, &sp, &p, err, sizeof err) == 0, "dqn policy on 10x10x4: %s", err);
  /* conv 592 + fc 131200 + head: 774, or 903 with the dueling head's value row. */
  size_t want = dueling ? 132695 : 132566;
  CHECK(p.layout.n_params == want, "dueling %d: %zu params, expected %zu", dueling,
        p.layout.n_params, want);
  CHECK(p.layout.kind[0] == NN_CONV && p.layout.kind[3] == (dueling ? NN_DUELING : NN_DENSE),
        "layer kinds");
  rng_t r;
  rng_seed(&r, 5 + (uint64_t)dueling);
  void *st = row->create(row, &c, &sp, &r, err, sizeof err);
  CHECK(st != NULL, "dqn create: %s", err);
  if (!st) return;
  algo_weights_t w;
  row->weights(st, &w);
  CHECK(w.n == want && w.n_policy == want, "published %zu / %zu floats", w.n, w.n_policy);
  for (int k = 0; k < 3; k++) {
    float loss;
    double change = one_update(row, st, 8, 400, 6, &r, &loss);
    CHECK(isfinite(loss) && change > 0, "update %d: loss %g, largest change %g", k, loss, change);
  }
  /* Greedy actions through the batched forward (a worker's k envs; more than ws->max_batch). */
  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, &p.layout, 4) == 0, "ws");
  float obs[9 * 400], actions[9];
  for (int i = 0; i < 9 * 400; i++) obs[i] = rng_uniform(&r) < 0.1 ? 1.0f : 0.0f;
  row->act_greedy(&p, w.online, &ws, obs, 9, actions);
  for (int i = 0; i < 9; i++) {
    const float *q = nn_forward(&ws, w.online, obs + (size_t)i * 400, 1);
    CHECK(actions[i] == (float)nn_argmax(q, 6), "greedy action %d: %g, argmax %d", i, actions[i],
          nn_argmax(q, 6));
  }
  nn_ws_free(&ws);
  row->destroy(st);
}

static void check_refusals(void) {
  config_t c;
  char err[512] = "";
  algo_policy_t p;
  config_init(&c);
  set(&c, "net", "conv:16x3x3,fc:128");
  const env_spec_t *cp = env_find("CartPole-v1");
  CHECK(algo_find("dqn")->policy(&c, cp, &p, err, sizeof err) != 0 &&
            strstr(err, "conv:16x3x3 at position 1 needs an image input") &&
            strstr(err, "CartPole-v1"),
        "conv on CartPole: '%s'", err);
  dqn_t d;
  rng_t r;
  rng_seed(&r, 1);
  err[0] = 0;
  CHECK(dqn_init(&d, &c, 4, 2, &r, err, sizeof err) != 0 && strstr(err, "dqn: net: conv"),
        "dqn_init flat + conv: '%s'", err);

  const env_spec_t *pend = env_find("Pendulum-v1");
  config_init(&c);
  set(&c, "algo", "ddpg");
  set(&c, "net", "conv:4x3x3,fc:8");
  err[0] = 0;
  CHECK(algo_find("ddpg")->policy(&c, pend, &p, err, sizeof err) != 0 &&
            strstr(err, "layer 1 is not fc:N"),
        "ddpg conv: '%s'", err);
  set(&c, "net", "fc:32,fc:32");
  set(&c, "dueling", "1");
  err[0] = 0;
  CHECK(algo_find("ddpg")->policy(&c, pend, &p, err, sizeof err) != 0 &&
            strstr(err, "dueling = 1 is for the DQN family"),
        "ddpg dueling: '%s'", err);
  set(&c, "dueling", "0");
  CHECK(algo_find("ddpg")->policy(&c, pend, &p, err, sizeof err) == 0 && p.layout.n_layers == 3 &&
            p.layout.sizes[1] == 32 && p.layout.act[2] == NN_TANH,
        "ddpg fc:32,fc:32: %s", err);
}

static void check_pg(void) {
  pg_opts_t o;
  memset(&o, 0, sizeof o);
  char err[512];
  o.algo = PG_REINFORCE_BASELINE;
  o.mlp = 1;
  o.obs_dim = 4;
  o.n_actions = 2;
  o.activation = NN_RELU;
  o.alpha = o.alpha_w = 1e-3;
  o.gamma = 0.99;
  o.max_len = 10;
  o.has_net = 1;
  CHECK(nn_spec_parse(&o.net, "fc:12,fc:5", err, sizeof err) == 0, "%s", err);
  pg_t p;
  CHECK(pg_init(&p, &o, err, sizeof err) == 0, "pg_init: %s", err);
  CHECK(p.pl.n_layers == 3 && p.pl.sizes[1] == 12 && p.pl.sizes[2] == 5 && p.vl.sizes[3] == 1,
        "pg nets from net");
  pg_free(&p);
  CHECK(nn_spec_parse(&o.net, "conv:2x2x2", err, sizeof err) == 0, "%s", err);
  err[0] = 0;
  CHECK(pg_init(&p, &o, err, sizeof err) != 0 && strstr(err, "pg: net: conv:2x2x2"),
        "pg conv on a flat input: '%s'", err);
}

int main(void) {
  check_config();
  check_policy_layouts();
  check_dqn_conv(0);
  check_dqn_conv(1);
  check_refusals();
  check_pg();
  CHECK_DONE();
}
