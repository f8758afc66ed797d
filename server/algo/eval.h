/* eval: greedy evaluation of a policy through its algorithm's act_greedy (algo.h):
 * `episodes` episodes, episode i reset with seed + i, run to termination or the time limit,
 * stepped together with one batched forward per step. Deterministic for given weights and
 * seed. Any thread (allocates its own envs and workspace). */
#ifndef RLSERVE_EVAL_H
#define RLSERVE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "algo.h"

typedef struct eval_result {
  double mean, std, min, max;
  int episodes;
  long steps;
} eval_result_t;

/* params: the policy's parameters (p->layout.n_params floats). 0, or -1 with a message. */
int eval_policy(const char *env_id, const algo_t *a, const algo_policy_t *p, const float *params,
                int episodes, uint64_t seed, eval_result_t *out, char *err, size_t errlen);

#endif
