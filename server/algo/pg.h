/* pg: policy-gradient methods for discrete actions (Sutton & Barto ch. 13): REINFORCE, REINFORCE
 * with a learned state-value baseline, and one-step actor-critic (episodic, with I <- gamma I).
 *
 * Policy: softmax over action preferences h(s, a). Linear: h(s, a) = theta_a . x(s) with state
 * features x from linfeat (block a of theta for action a), so grad ln pi(a|s) wrt theta_b is
 * (1[a = b] - pi(b|s)) x(s); the baseline / critic is v(s) = w . x(s). Plain SGD with the
 * book's step sizes (alpha for theta, alpha_w for w) and the book's gamma^t factor.
 * MLP: logits from an nn MLP over the raw observation, v(s) from a second MLP, both trained
 * with Adam (alpha and alpha_w are the learning rates). REINFORCE then uses the common
 * practice of dropping gamma^t and standardizing the episode's returns (or advantages).
 * min_prob > 0 keeps every action's probability at least min_prob (the book's corridor code
 * does this with 0.05), the gradient then uses the clamped probabilities.
 *
 * Single thread: a pg_t belongs to one thread. Buffers are allocated at init; episodes
 * allocate nothing. */
#ifndef RLSERVE_PG_H
#define RLSERVE_PG_H

#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "linfeat.h"
#include "nn.h"

#define PG_MAX_ACTIONS 64

typedef enum { PG_REINFORCE = 0, PG_REINFORCE_BASELINE = 1, PG_ACTOR_CRITIC = 2 } pg_algo_t;

typedef struct pg_opts {
  pg_algo_t algo;
  int mlp;     /* 0: linear over f, 1: MLP over the observation */
  linfeat_t f; /* linear */
  int obs_dim, n_actions;
  int hidden[NN_MAX_LAYERS - 1], n_hidden; /* MLP */
  nn_act_t activation;
  int has_net; /* MLP: 1 to build policy and value nets from `net` instead of hidden */
  nn_spec_t net;
  int obs_shape[3]; /* the observation's (H, W, C) for conv layers, or 0s */
  double alpha, alpha_w, gamma, min_prob;
  const double *theta_init; /* linear: n_init initial theta values (the rest 0), or NULL */
  int n_init;
  int max_len; /* longest episode (the env's time limit) */
  uint64_t seed;
} pg_opts_t;

typedef struct pg {
  pg_opts_t o;
  rng_t rng;
  /* linear */
  int size;          /* f.size */
  double *theta, *w; /* n_actions x size, size */
  int *idx;          /* f.nnz */
  double *val;
  /* MLP */
  nn_layout_t pl, vl;
  float *pp, *pgrad, *vp, *vgrad;
  nn_ws_t pws, vws;
  adam_t pa, va;
  /* episode */
  float *obs; /* (max_len + 1) x obs_dim */
  int *act;
  double *rew, *ret; /* max_len */
  float *dy;         /* max_len x n_actions */
  double *prob;      /* n_actions */
} pg_t;

/* 0, or -1 with a message (bad sizes, allocation). */
int pg_init(pg_t *p, const pg_opts_t *o, char *err, size_t errlen);
void pg_free(pg_t *p);
/* pi(.|obs) into prob (n_actions). */
void pg_policy(pg_t *p, const float *obs, double *prob);
/* An action sampled from pi (greedy = 0) or its most probable one (greedy = 1). */
int pg_act(pg_t *p, const float *obs, int greedy);
/* v(obs) of the baseline / critic (0 for plain REINFORCE). */
double pg_value(pg_t *p, const float *obs);
/* One learning episode; writes its length and undiscounted return. */
void pg_episode(pg_t *p, env_t *env, uint64_t seed, long *len, double *ret);

#endif
