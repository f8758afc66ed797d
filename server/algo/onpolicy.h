/* onpolicy: `rlserve run` for the on-policy algorithms of issue 5, in-process ("--workers 0"):
 * gmc and td0 (prediction on RandomWalk1000-v0), sarsa and qlearning (linear control),
 * reinforce, reinforce_baseline and actor_critic (policy gradient). They learn from the current
 * policy's own episodes only, so there is no replay and no worker: one thread steps the env and
 * updates the weights in turn.
 *
 * Writes out_dir/metrics.jsonl (every metrics_every episodes: episode, env_steps, mean return
 * and length of those episodes, value_rmse and value_rmse_plain for prediction),
 * out_dir/summary.json ({"solved", "env_steps", "updates", "wall_seconds", "eval_mean",
 * "eval_std", ...} plus "value_rmse" for prediction) and, for prediction, out_dir/values.csv
 * (state, true value, learned value). Main thread only. */
#ifndef RLSERVE_ONPOLICY_H
#define RLSERVE_ONPOLICY_H

#include <stddef.h>

#include "config.h"

/* Runs cfg (progress lines on stdout unless quiet). Returns 0 when the run reached its target
 * (solve_threshold, default the env's, as a 100-episode training mean; target_rmse for
 * prediction, none: 0), 1 when not, 2 on an error (message in err). */
int onpolicy_run(const config_t *cfg, const char *out_dir, int quiet, char *err, size_t errlen);

#endif
