/* eval: greedy evaluation of a Q-network policy: `episodes` episodes, episode i reset with
 * seed + i, run to termination or the time limit, stepped together with one batched forward
 * per step. Deterministic for given weights and seed. Any thread (allocates its own envs and
 * workspace). */
#ifndef RLSERVE_EVAL_H
#define RLSERVE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

typedef struct eval_result {
  double mean, std, min, max;
  int episodes;
  long steps;
} eval_result_t;

/* Discrete actions: the argmax of a Q-network. */
int eval_greedy(const char *env_id, const nn_layout_t *l, const float *params, int episodes,
                uint64_t seed, eval_result_t *out, char *err, size_t errlen);
/* Continuous actions: a deterministic actor (tanh outputs mapped by scale and bias). */
int eval_actor(const char *env_id, const nn_layout_t *l, const float *params, const float *scale,
               const float *bias, int episodes, uint64_t seed, eval_result_t *out, char *err,
               size_t errlen);

#endif
