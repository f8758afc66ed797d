/* linear_rows: the linear families of the in-process runner (onpolicy.h) and their rows.
 * Prediction (gmc, td0; variant 1 = TD(0)) learns v on RandomWalk1000-v0 and is judged by its
 * value error against the DP values (target_rmse); control (sarsa, qlearning; variant 1 =
 * Q-learning) is judged by its training return and evaluated greedily. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linear.h"
#include "onpolicy.h"

/* Features from the config; MLP features belong to the policy-gradient family. */
static int linear_features(const config_t *c, const env_spec_t *spec, linfeat_t *f, char *err,
                           size_t errlen) {
  if (strcmp(c->features, "mlp") == 0) {
    snprintf(err, errlen, "features = mlp: only for reinforce, reinforce_baseline, actor_critic");
    return -1;
  }
  return onpolicy_features(c, spec, f, err, errlen);
}

/* ---- prediction ------------------------------------------------------------------------ */

typedef struct pred {
  linear_pred_t p;
  double v_true[ENV_RANDOMWALK_N + 2], mu[ENV_RANDOMWALK_N + 2]; /* indexed by state */
} pred_t;

static void pred_destroy(void *state) {
  pred_t *s = state;
  if (s->p.w) linear_pred_free(&s->p);
  free(s);
}

static void *pred_create(const algo_t *a, const config_t *c, const env_spec_t *spec, char *err,
                         size_t errlen) {
  linfeat_t f;
  memset(&f, 0, sizeof f);
  if (linear_features(c, spec, &f, err, errlen)) return NULL;
  if (strcmp(spec->id, "RandomWalk1000-v0") != 0) {
    snprintf(err, errlen,
             "algo %s: the value error needs DP values; only RandomWalk1000-v0 has them (env %s)",
             c->algo, spec->id);
    return NULL;
  }
  pred_t *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  env_randomwalk_true_values(s->v_true, ENV_RANDOMWALK_N);
  linear_randomwalk_mu(s->mu, ENV_RANDOMWALK_N);
  if (linear_pred_init(&s->p, &f, a->variant, c->alpha, c->gamma, err, errlen)) {
    pred_destroy(s);
    return NULL;
  }
  return s;
}

static int pred_episode(void *state, env_t *env, uint64_t seed, long *len, double *ret) {
  return linear_pred_episode(&((pred_t *)state)->p, env, seed, len, ret);
}

/* The env's only action. */
static void pred_act(void *state, const float *obs, float *action) { action[0] = 0.0f; }

static void pred_error(pred_t *s, double *rmse, double *plain) {
  linear_value_error(&s->p, s->v_true, s->mu, ENV_RANDOMWALK_N, rmse, plain);
}

static int pred_reached(void *state, const config_t *c, double *target) {
  double rmse, plain;
  pred_error(state, &rmse, &plain);
  *target = c->target_rmse;
  return isnan(c->target_rmse) || rmse <= c->target_rmse;
}

static int pred_metrics(void *state, onpolicy_metric_t *m) {
  m[0].key = "value_rmse";
  m[1].key = "value_rmse_plain";
  pred_error(state, &m[0].value, &m[1].value);
  return 2;
}

static void pred_describe(void *state, char *buf, size_t len) {
  double rmse, plain;
  pred_error(state, &rmse, &plain);
  snprintf(buf, len, "value_rmse %.4f (plain %.4f)", rmse, plain);
}

/* values.csv: state, DP value, learned value. */
static int pred_write_files(void *state, const char *out_dir, char *err, size_t errlen) {
  pred_t *s = state;
  char path[1200];
  snprintf(path, sizeof path, "%s/values.csv", out_dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %s", path);
    return -1;
  }
  fprintf(f, "state,true_value,learned_value\n");
  for (int st = 1; st <= ENV_RANDOMWALK_N; st++) {
    float o = (float)st;
    fprintf(f, "%d,%.8f,%.8f\n", st, s->v_true[st], linear_pred_value(&s->p, &o));
  }
  if (fclose(f) != 0) {
    snprintf(err, errlen, "cannot write %s", path);
    return -1;
  }
  return 0;
}

static const onpolicy_ops_t pred_ops = {.create = pred_create,
                                        .destroy = pred_destroy,
                                        .episode = pred_episode,
                                        .act = pred_act,
                                        .reached = pred_reached,
                                        .metrics = pred_metrics,
                                        .describe = pred_describe,
                                        .write_files = pred_write_files};

/* ---- control --------------------------------------------------------------------------- */

static void ctl_destroy(void *state) {
  linear_ctl_t *s = state;
  if (s->w) linear_ctl_free(s);
  free(s);
}

static void *ctl_create(const algo_t *a, const config_t *c, const env_spec_t *spec, char *err,
                        size_t errlen) {
  linfeat_t f;
  memset(&f, 0, sizeof f);
  if (linear_features(c, spec, &f, err, errlen)) return NULL;
  if (spec->act.kind != ENV_DISCRETE) {
    snprintf(err, errlen, "algo %s needs discrete actions; %s has a Box action space", c->algo,
             spec->id);
    return NULL;
  }
  linear_ctl_t *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (linear_ctl_init(s, &f, spec->act.n, a->variant, c->alpha, c->gamma, c->epsilon,
                      rng_derive((uint64_t)c->seed, 1), err, errlen)) {
    ctl_destroy(s);
    return NULL;
  }
  return s;
}

static int ctl_episode(void *state, env_t *env, uint64_t seed, long *len, double *ret) {
  linear_ctl_episode(state, env, seed, len, ret);
  return 0;
}

/* Greedy, ties broken at random. */
static void ctl_act(void *state, const float *obs, float *action) {
  action[0] = (float)linear_ctl_act(state, obs, 0.0);
}

static const onpolicy_ops_t ctl_ops = {
    .create = ctl_create, .destroy = ctl_destroy, .episode = ctl_episode, .act = ctl_act};

/* ---- rows ------------------------------------------------------------------------------ */

#define LINEAR_ROW(id, ops, var, text)               \
  const algo_t algo_##id = {.name = #id,             \
                            .summary = text,         \
                            .mode = ALGO_IN_PROCESS, \
                            .actions = ENV_DISCRETE, \
                            .variant = var,          \
                            .family = &ops,          \
                            .run = onpolicy_run_row}
LINEAR_ROW(gmc, pred_ops, 0, "gradient Monte-Carlo prediction, linear features");
LINEAR_ROW(td0, pred_ops, 1, "semi-gradient TD(0) prediction, linear features");
LINEAR_ROW(sarsa, ctl_ops, 0, "episodic semi-gradient Sarsa, linear action values");
LINEAR_ROW(qlearning, ctl_ops, 1, "semi-gradient Q-learning, linear action values");
