/* pg_rows: the policy-gradient family of the in-process runner (onpolicy.h) and its rows;
 * variant is the pg_algo_t. Linear softmax over features, or MLPs (features = mlp). Evaluated
 * with the learned stochastic policy: the short corridor's best policy is stochastic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onpolicy.h"
#include "pg.h"

static void pg_row_destroy(void *state) {
  pg_t *p = state;
  if (p->obs) pg_free(p);
  free(p);
}

/* The options from the config and the env, all but the linear features; init holds
 * policy_init. */
static int pg_row_opts(const algo_t *a, const config_t *c, const env_spec_t *spec, pg_opts_t *o,
                       double *init, int max_init, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  int n_init = 0;
  if (c->policy_init[0] && (n_init = onpolicy_parse_list(c->policy_init, init, max_init)) < 0) {
    snprintf(err, errlen, "policy_init = '%s': not a comma list of at most %d numbers",
             c->policy_init, max_init);
    return -1;
  }
  o->algo = (pg_algo_t)a->variant;
  o->mlp = strcmp(c->features, "mlp") == 0;
  o->obs_dim = spec->obs.dim;
  o->n_actions = spec->act.n;
  if (o->mlp) {
    o->n_hidden = config_parse_hidden(c->hidden, o->hidden, NN_MAX_LAYERS - 1);
    if (o->n_hidden < 0) {
      snprintf(err, errlen, "hidden = '%s': not a list of sizes", c->hidden);
      return -1;
    }
    o->activation = strcmp(c->activation, "tanh") == 0 ? NN_TANH : NN_RELU;
    if (c->net[0] && nn_spec_parse(&o->net, c->net, err, errlen) != 0) return -1;
    o->has_net = c->net[0] != 0;
    memcpy(o->obs_shape, spec->obs.shape, sizeof o->obs_shape);
  }
  o->alpha = c->alpha;
  o->alpha_w = c->alpha_w;
  o->gamma = c->gamma;
  o->min_prob = c->policy_min_prob;
  o->theta_init = n_init > 0 ? init : NULL;
  o->n_init = n_init;
  o->max_len = spec->max_episode_steps > 0 ? spec->max_episode_steps : 100000;
  o->seed = rng_derive((uint64_t)c->seed, 1);
  return 0;
}

static void *pg_row_create(const algo_t *a, const config_t *c, const env_spec_t *spec, char *err,
                           size_t errlen) {
  linfeat_t f;
  memset(&f, 0, sizeof f);
  if (strcmp(c->features, "mlp") != 0 && onpolicy_features(c, spec, &f, err, errlen)) return NULL;
  if (spec->act.kind != ENV_DISCRETE) {
    snprintf(err, errlen, "algo %s needs discrete actions; %s has a Box action space", c->algo,
             spec->id);
    return NULL;
  }
  pg_opts_t o;
  double init[64];
  if (pg_row_opts(a, c, spec, &o, init, 64, err, errlen)) return NULL;
  o.f = f;
  pg_t *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (pg_init(p, &o, err, errlen)) {
    pg_row_destroy(p);
    return NULL;
  }
  return p;
}

static int pg_row_episode(void *state, env_t *env, uint64_t seed, long *len, double *ret) {
  pg_episode(state, env, seed, len, ret);
  return 0;
}

static void pg_row_act(void *state, const float *obs, float *action) {
  action[0] = (float)pg_act(state, obs, 0);
}

/* One update per step, except MLP REINFORCE: one per episode. */
static long pg_row_updates(void *state, long episodes, long env_steps) {
  const pg_t *p = state;
  return p->o.mlp && p->o.algo != PG_ACTOR_CRITIC ? episodes : env_steps;
}

static const onpolicy_ops_t pg_ops = {.create = pg_row_create,
                                      .destroy = pg_row_destroy,
                                      .episode = pg_row_episode,
                                      .act = pg_row_act,
                                      .updates = pg_row_updates};

#define PG_ROW(id, var, text)                        \
  const algo_t algo_##id = {.name = #id,             \
                            .summary = text,         \
                            .mode = ALGO_IN_PROCESS, \
                            .actions = ENV_DISCRETE, \
                            .variant = var,          \
                            .family = &pg_ops,       \
                            .run = onpolicy_run_row}
PG_ROW(reinforce, PG_REINFORCE, "REINFORCE (Monte-Carlo policy gradient)");
PG_ROW(reinforce_baseline, PG_REINFORCE_BASELINE, "REINFORCE with a learned baseline");
PG_ROW(actor_critic, PG_ACTOR_CRITIC, "one-step actor-critic");
