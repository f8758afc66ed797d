/* eval: greedy evaluation of a policy through its algorithm's act_greedy (algo.h):
 * `episodes` episodes, episode i reset with seed + i, run to termination or the time limit,
 * stepped together with one batched forward per step. Deterministic for given weights and
 * seed. Any thread (allocates its own envs and workspace); another thread may stop it through
 * the abort flag, which is read between steps. */
#ifndef RLSERVE_EVAL_H
#define RLSERVE_EVAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "algo.h"

typedef struct eval_result {
  double mean, std, min, max;
  int episodes;
  long steps;
} eval_result_t;

enum { EVAL_OK = 0, EVAL_ERROR = -1, EVAL_ABORTED = -2 };

/* params: the policy's parameters (p->layout.n_params floats). abort: NULL, or a flag that
 * stops the evaluation between two steps once it is nonzero (the learner's stop flag, so a
 * signal is not kept waiting for a whole evaluation). EVAL_OK; EVAL_ERROR with a message;
 * EVAL_ABORTED (out untouched, a message). */
/* The result eval_policy reports for these per-episode returns (episodes >= 1) and total steps:
 * also for returns played elsewhere (the workers of an env = worker:ID run, learner/reval.c). */
void eval_summarize(const double *returns, int episodes, long steps, eval_result_t *out);

int eval_policy(const char *env_id, const algo_t *a, const algo_policy_t *p, const float *params,
                int episodes, uint64_t seed, const atomic_int *abort, eval_result_t *out, char *err,
                size_t errlen);

#endif
