/* dqn: the DQN update on a sampled batch (Mnih et al. 2015, with the double-DQN target of
 * van Hasselt et al. 2016 as an option). Knows nothing of sockets or threads: the trainer
 * thread owns a dqn_t and calls dqn_update on batches it sampled from replay.
 *
 * Target: y = r + g * (1 - terminated) * Q_target(s', a*), g = gamma or the transition's own
 * bootstrap discount (gamma^k for a k-step return built on the worker), a* = argmax_a Q_online(s', a)
 * (double) or argmax_a Q_target(s', a). Truncated transitions are stored as not terminated,
 * so they bootstrap. Loss (Huber or MSE) on Q_online(s, a) - y, global-norm clipping, Adam;
 * the target network is copied every target_update_interval updates (tau = 1) or moved by
 * Polyak averaging every update (tau < 1). */
#ifndef RLSERVE_DQN_H
#define RLSERVE_DQN_H

#include "config.h"
#include "nn.h"

typedef struct dqn_stats {
  float loss, mean_q, grad_norm;
} dqn_stats_t;

typedef struct dqn {
  nn_layout_t layout;
  float *online, *target, *grads; /* layout.n_params each */
  adam_t adam;
  nn_ws_t ws, ws_target; /* Q(s) (double DQN: with Q_online(s') below it), Q_target(s') */
  nn_ws_t ws_next;        /* double DQN, conv net with a pool: Q_online of the last rows of s' */
  float *stack;           /* double DQN: s then s', 2 x batch x obs_dim (one online forward) */
  float *qn;              /* the same: Q_online(s') gathered, batch x n_actions */
  int batch, obs_dim, n_actions;
  float gamma, huber_delta, grad_clip, tau;
  int use_huber, double_dqn;
  long target_update_interval;
  long updates;
  float *q_sel, *y, *dsel, *dq; /* batch, batch, batch, batch x n_actions */
  dqn_stats_t last;             /* of the last update (status) */
  /* With a trainer pool of two or more and a dense network: the update split by units across
   * the pool (common/nnpar.h), set up at the first such update (dqn.c). */
  struct dqn_par *par;
} dqn_t;

/* Builds the online network from the config (net, or hidden and activation; dueling), initializes
 * it with rng and copies it to the target. obs_shape: the observation's (H, W, C) for conv
 * layers, or NULL (a flat vector; dqn_init). 0, or -1 with a message. */
int dqn_init_shaped(dqn_t *d, const config_t *c, int obs_dim, const int *obs_shape, int n_actions,
                    rng_t *rng, char *err, size_t errlen);
int dqn_init(dqn_t *d, const config_t *c, int obs_dim, int n_actions, rng_t *rng, char *err,
             size_t errlen);
void dqn_free(dqn_t *d);
/* One gradient step on a batch (d->batch rows; act holds action indices as floats). */
void dqn_update(dqn_t *d, const float *obs, const float *act, const float *rew,
                const float *next_obs, const float *term, dqn_stats_t *out);
/* The same with optional rows (NULL: absent): disc, each transition's bootstrap discount (else
 * gamma); weight, importance weights scaling each row's loss (prioritized replay); td, filled
 * with |Q(s, a) - y| of each row before the step (the new priorities). */
void dqn_update_ext(dqn_t *d, const float *obs, const float *act, const float *rew,
                    const float *next_obs, const float *term, const float *disc,
                    const float *weight, float *td, dqn_stats_t *out);

#endif
