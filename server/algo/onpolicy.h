/* onpolicy: `rlserve run` for the on-policy algorithms, in-process ("--workers 0"). They learn
 * from the current policy's own episodes only, so there is no replay and no worker: one thread
 * steps the env and updates the weights in turn.
 *
 * A family of them (linear_rows.c: prediction and control; pg_rows.c: policy gradient) is an
 * onpolicy_ops_t; each of its rows is an algo_t with mode ALGO_IN_PROCESS, family = &ops,
 * run = onpolicy_run_row and its own `variant`. Adding one is one file and one line in algo.c.
 * The runner here owns the rest: episodes, the 100-episode training window, progress lines,
 * evaluation and the run folder, and never asks which algorithm it runs.
 *
 * Writes out_dir/metrics.jsonl (every metrics_every episodes: episode, env_steps, mean return
 * and length of those episodes, then the family's metrics, e.g. value_rmse and
 * value_rmse_plain for prediction), out_dir/summary.json ({"solved", "env_steps", "updates",
 * "wall_seconds", "eval_mean", "eval_std", ...} then the family's metrics) and the family's own
 * files (prediction: values.csv). Main thread only. */
#ifndef RLSERVE_ONPOLICY_H
#define RLSERVE_ONPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "algo.h"
#include "config.h"
#include "env.h"
#include "linfeat.h"

/* A number a family reports beyond return and length (snake_case key). */
#define ONPOLICY_MAX_METRICS 4
typedef struct onpolicy_metric {
  const char *key;
  double value;
} onpolicy_metric_t;

typedef struct onpolicy_ops {
  /* The learner of row a for c on env (initialized by the runner from c->env): NULL with a
   * message naming the setting that does not fit. */
  void *(*create)(const algo_t *a, const config_t *c, const env_spec_t *spec, char *err,
                  size_t errlen);
  void (*destroy)(void *state);
  /* One learning episode on env (reset with seed; ENV_SEED_NONE continues its stream); writes
   * its length and return. 0, or -1 when out of memory. */
  int (*episode)(void *state, env_t *env, uint64_t seed, long *len, double *ret);
  /* The evaluation action for obs (greedy, or the learned stochastic policy). */
  void (*act)(void *state, const float *obs, float *action);
  /* Weight updates made in the run. NULL: one per env step. */
  long (*updates)(void *state, long episodes, long env_steps);

  /* Optional: a target of the family's own instead of the training return. NULL: the run is
   * solved when a 100-episode training mean reaches solve_threshold (default the env's).
   * Otherwise called at the end: 1 when reached, 0 when not, with the target in *target
   * (NAN: none); the training mean is then not a goal (train_best_mean100 is null). */
  int (*reached)(void *state, const config_t *c, double *target);
  /* Optional: metrics computed now, appended to every metrics.jsonl line and to summary.json;
   * returns how many (at most ONPOLICY_MAX_METRICS). */
  int (*metrics)(void *state, onpolicy_metric_t *m);
  /* Optional: the same for a person, appended to progress lines ("value_rmse 0.1963 (plain
   * 0.2431)"). */
  void (*describe)(void *state, char *buf, size_t len);
  /* Optional: the family's own files in out_dir at the end (prediction: values.csv). 0, or -1
   * with a message. */
  int (*write_files)(void *state, const char *out_dir, char *err, size_t errlen);
} onpolicy_ops_t;

/* Runs cfg's algorithm (progress lines on stdout unless quiet). Returns 0 when the run reached
 * its target, 1 when not, 2 on an error (message in err). */
int onpolicy_run(const config_t *cfg, const char *out_dir, int quiet, char *err, size_t errlen);
/* The `run` of every in-process row: runs a with the ops its `family` points to. */
int onpolicy_run_row(const algo_t *a, const config_t *cfg, const char *out_dir, int quiet,
                     char *err, size_t errlen);

/* For the families. Linear features over spec's observation from the config (features,
 * feature_low / feature_high or the env's bounds, feature_order, tiles, tilings, tile_hash).
 * 0, or -1 with a message. */
int onpolicy_features(const config_t *cfg, const env_spec_t *spec, linfeat_t *f, char *err,
                      size_t errlen);
/* "a,b,c" into at most max doubles: the count, or -1 when malformed or longer. */
int onpolicy_parse_list(const char *s, double *out, int max);

#endif
