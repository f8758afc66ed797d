/* ddpg: the DDPG update (Lillicrap et al. 2016) and its TD3 variant (Fujimoto et al. 2018) on
 * a sampled batch. Knows nothing of sockets or threads: the trainer thread owns a ddpg_t and
 * calls ddpg_update on batches it sampled from replay; workers act with ddpg_act.
 *
 * Networks: actor mu(s) = bias + scale * tanh(MLP(s)), obs_dim -> hidden -> act_dim, so its
 * actions lie in the env's bounds [low, high] (scale = (high - low) / 2, bias = (high + low)
 * / 2); critic Q(s, a) on the concatenation [s, a], obs_dim + act_dim -> hidden -> 1. Actions
 * in replay and at the critic's input are in env units.
 *
 * Critic step: MSE on Q(s, a) - y with y = r + gamma * (1 - terminated) * Q'(s', a'),
 * a' = mu'(s'). TD3: two critics (the loss is the sum of both MSEs), Q' the min of the two
 * target critics, a' = clip(mu'(s') + clip(N(0, (target_noise * scale)^2), +-target_noise_clip *
 * scale), low, high). Actor step: gradient ascent on mean_b Q1(s_b, mu(s_b)), the critic's input
 * gradient chained into the actor (the critics do not change); then Polyak averaging of all
 * target networks with tau. DDPG does both every update, TD3 every policy_delay updates.
 * Global-norm clipping (grad_clip > 0) of the actor's and of the critics' gradients; Adam with
 * actor_lr for the actor and critic_lr for the critics. */
#ifndef RLSERVE_DDPG_H
#define RLSERVE_DDPG_H

#include <stddef.h>

#include "config.h"
#include "env.h"
#include "nn.h"
#include "rng.h"

typedef struct ddpg {
  nn_layout_t actor_l, critic_l;
  int twin; /* TD3: two critics, min target, target smoothing, delayed actor */
  int batch, obs_dim, act_dim;
  size_t n_actor, n_critic; /* floats of one actor, one critic */
  size_t n_online;          /* n_actor + (1 + twin) * n_critic */
  /* Flat, n_online floats each: actor | critic1 | critic2 (if twin). Publishing the weights is
   * one memcpy; workers need only the first n_actor floats. */
  float *online, *target, *grads;
  adam_t adam_actor;            /* over online[0, n_actor) */
  adam_t adam_critic;           /* over the critics, online[n_actor, n_online) */
  nn_ws_t ws_actor, ws_actor_t; /* mu(s), mu'(s') */
  nn_ws_t ws_q[2], ws_qt[2];    /* Q_i([s, a]), Q'_i([s', a']) */
  float *sa, *sa_next;          /* batch x (obs_dim + act_dim) critic inputs */
  float *y, *dq, *dx, *du;      /* batch, batch, batch x (obs_dim + act_dim), batch x act_dim */
  float gamma, tau, grad_clip, target_noise, target_noise_clip;
  long policy_delay;
  rng_t rng;                                           /* target smoothing noise */
  float act_scale[ENV_MAX_DIM], act_bias[ENV_MAX_DIM]; /* action = bias + scale * tanh */
  long updates;                                        /* critic steps */
  long actor_updates;
  float last_actor_loss, last_actor_norm, last_critic_norm; /* of the last steps (status) */
  /* With a trainer pool of two or more: the update split by units across the pool
   * (common/nnpar.h), set up at the first such update (ddpg.c). */
  struct ddpg_par *par;
} ddpg_t;

typedef struct ddpg_stats {
  float critic_loss; /* MSE of critic 1 (TD3: plus critic 2) */
  float mean_q;      /* mean Q1(s, a) over the batch */
  float critic_grad_norm;
  int actor_updated;     /* whether this update stepped the actor and the targets */
  float actor_loss;      /* -mean Q1(s, mu(s)) of the last actor step (0 before the first) */
  float actor_grad_norm; /* of the last actor step */
} ddpg_stats_t;

/* Builds actor and critic(s) from the config (hidden, activation; algo "td3" makes it twin,
 * "ddpg" not), initializes them with rng and copies them to the targets. act must be a
 * bounded ENV_BOX space. 0, or -1 with a message in err. */
int ddpg_init(ddpg_t *d, const config_t *c, int obs_dim, const env_space_t *act, rng_t *rng,
              char *err, size_t errlen);
void ddpg_free(ddpg_t *d);
/* One critic step on a batch of d->batch rows (act in env units, term 0/1); the actor step and
 * the Polyak target step follow every policy_delay updates (TD3) or every update (DDPG).
 * out may be NULL. Trainer thread. */
void ddpg_update(ddpg_t *d, const float *obs, const float *act, const float *rew,
                 const float *next_obs, const float *term, ddpg_stats_t *out);
/* The same with optional rows (NULL: absent), as dqn_update_ext: disc, each row's bootstrap
 * discount (n-step; else gamma); weight, importance weights of the critic loss (prioritized
 * replay); td, filled with critic 1's |Q1(s, a) - y| (the new priorities). */
void ddpg_update_ext(ddpg_t *d, const float *obs, const float *act, const float *rew,
                     const float *next_obs, const float *term, const float *disc,
                     const float *weight, float *td, ddpg_stats_t *out);
/* The actor step alone (ddpg_update calls it): the gradient of -mean_b Q1(s_b, mu(s_b)) w.r.t.
 * the actor, left in grads[0, n_actor) (after clipping), then one Adam step of the actor. The
 * critics are not written. Returns the gradient norm before clipping; *loss (if non-NULL)
 * receives -mean Q1. Trainer thread. */
float ddpg_actor_step(ddpg_t *d, const float *obs, float *loss);
/* Deterministic actions bias + scale * mu(obs) for n observations (any n: done in chunks of
 * ws->max_batch), actor_params the actor part of an online buffer. Any thread with its own ws
 * (built on actor_l). */
void ddpg_act(const nn_layout_t *actor_l, const float *actor_params, nn_ws_t *ws, const float *obs,
              int n, const float *scale, const float *bias, float *actions);
/* The actor's layout a config implies (what workers build from the Welcome). 0 or -1. */
int ddpg_actor_layout(nn_layout_t *l, const config_t *c, int obs_dim, int act_dim);
/* scale and bias (act->dim floats each) of a bounded ENV_BOX space; 0, or -1 if a bound is
 * not finite or low > high. */
int ddpg_action_affine(const env_space_t *act, float *scale, float *bias);

#endif
