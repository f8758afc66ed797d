/* policy: the value network shape a config implies and action selection from its outputs,
 * shared by the learner (training, evaluation) and the workers (acting). */
#ifndef RLSERVE_POLICY_H
#define RLSERVE_POLICY_H

#include <stddef.h>

#include "config.h"
#include "nn.h"
#include "rng.h"

/* The network the config describes from obs_dim inputs to n_out outputs (out_act after the
 * last): the layers of `net` when set (conv layers need obs_shape, the observation's (H, W, C),
 * channels last; NULL or zeros for a flat vector), else the MLP of `hidden` exactly as
 * nn_layout_init builds it; `activation` after every hidden layer; dueling = 1 ends it in a
 * dueling head instead of a dense layer. 0, or -1 with a message naming the problem. */
int policy_net_layout(nn_layout_t *l, const config_t *c, int obs_dim, const int *obs_shape,
                      int n_out, nn_act_t out_act, int dueling, char *err, size_t errlen);
/* policy_net_layout for a flat input, identity output, no dueling head (no message). */
int policy_layout(nn_layout_t *l, const config_t *c, int obs_dim, int n_out);
/* The same with a chosen output activation (NN_TANH for a deterministic actor). */
int policy_layout_out(nn_layout_t *l, const config_t *c, int obs_dim, int n_out, nn_act_t out_act);
/* Affine map of tanh outputs onto bounds: scale = (high - low) / 2, bias = (high + low) / 2.
 * 0, or -1 if a bound is not finite or low > high. */
int policy_action_affine(int dim, const float *low, const float *high, float *scale, float *bias);
/* Deterministic actor actions bias + scale * mu(obs) for n observations, in chunks of
 * ws->max_batch (ws built on the actor's layout). */
void policy_actor_actions(const nn_layout_t *l, const float *params, nn_ws_t *ws, const float *obs,
                          int n, const float *scale, const float *bias, float *actions);

/* Epsilon-greedy over n action values: uniform with probability eps, else the argmax. */
int policy_eps_greedy(const float *q, int n, double eps, rng_t *rng);
/* The spread of worker `index` of `n`: eps^(1 + alpha * index / (n - 1)) (eps for n <= 1). Ape-X
 * uses it over the actors connected with eps = 0.4, alpha = 7 (explore = apex); explore =
 * annealed uses it over the `workers` setting as the end point of an annealing. */
double policy_apex_epsilon(double eps, double alpha, int index, int n);
/* Linear annealing from start to final over `steps` env steps. */
double policy_anneal(double start, double final, double steps_done, double steps);

#endif
