/* linear: prediction and control with linear function approximation (Sutton & Barto ch. 9-10).
 *
 * Prediction (linear_pred_*): v(s; w) = w . x(s) learned by gradient Monte-Carlo (w += alpha
 * [G_t - v(S_t)] x(S_t) after each episode) or semi-gradient TD(0) (w += alpha [R + gamma
 * v(S') - v(S)] x(S) each step), following the env's only action (action 0).
 * Control (linear_ctl_*): q(s, a; w) = w . x(s, a) over state-action features, episodic
 * semi-gradient Sarsa or (option) Q-learning, epsilon-greedy with random tie-breaking.
 * alpha is the step size of one update of w (with tile coding the book writes 0.5/8 for 8
 * tilings: pass 0.0625). Terminal states have value 0; a truncated episode (time limit)
 * bootstraps from the last state as if it continued.
 *
 * Single thread: each struct belongs to one thread. Buffers are allocated at init (the MC
 * trajectory grows as needed); episodes allocate nothing else. */
#ifndef RLSERVE_LINEAR_H
#define RLSERVE_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "linfeat.h"

typedef struct linear_pred {
  linfeat_t f;
  int td; /* 0: gradient Monte-Carlo, 1: semi-gradient TD(0) */
  double alpha, gamma;
  double *w;   /* f.size weights */
  int *idx;    /* f.nnz scratch */
  double *val; /* f.nnz scratch */
  float *traj; /* MC: observations of the episode (cap x obs dim) */
  double *rew; /* MC: rewards */
  size_t cap;
} linear_pred_t;

/* 0, or -1 with a message (allocation). Weights start at 0. */
int linear_pred_init(linear_pred_t *p, const linfeat_t *f, int td, double alpha, double gamma,
                     char *err, size_t errlen);
void linear_pred_free(linear_pred_t *p);
double linear_pred_value(linear_pred_t *p, const float *obs);
/* One episode on env (reset with seed, ENV_SEED_NONE to continue its stream), learning as it
 * goes. Writes its length and return; 0, or -1 if the trajectory buffer cannot grow. */
int linear_pred_episode(linear_pred_t *p, env_t *env, uint64_t seed, long *len, double *ret);

/* The 1000-state random walk (RandomWalk1000-v0) with n states: the on-policy distribution
 * mu(s) of section 9.2 (expected visits per episode, eta = h + P^T eta, normalized), solved
 * by sweeps until the largest change is below 1e-12. mu has n + 2 entries indexed by state
 * (mu[0] = mu[n+1] = 0). Returns the sweeps, or -1 if n < 1. */
int linear_randomwalk_mu(double *mu, int n);
/* Root-mean-square value error over states 1..n against v_true (indexed by state): weighted
 * by mu (sqrt of the book's VE) and plain (uniform over states). */
void linear_value_error(linear_pred_t *p, const double *v_true, const double *mu, int n,
                        double *rmse_mu, double *rmse_plain);

typedef struct linear_ctl {
  linfeat_t f;
  int n_actions, qlearning;
  double alpha, gamma, epsilon;
  int size;    /* linfeat_size_sa */
  double *w;   /* size weights, start at 0 (optimistic when rewards are negative) */
  int *idx;    /* f.nnz scratch */
  double *val; /* f.nnz scratch */
  double *q;   /* n_actions scratch */
  rng_t rng;   /* exploration and tie-breaking */
} linear_ctl_t;

int linear_ctl_init(linear_ctl_t *c, const linfeat_t *f, int n_actions, int qlearning, double alpha,
                    double gamma, double epsilon, uint64_t seed, char *err, size_t errlen);
void linear_ctl_free(linear_ctl_t *c);
double linear_ctl_q(linear_ctl_t *c, const float *obs, int action);
/* Epsilon-greedy action (epsilon 0: greedy), ties broken at random. */
int linear_ctl_act(linear_ctl_t *c, const float *obs, double epsilon);
/* One learning episode; writes its length and return. */
void linear_ctl_episode(linear_ctl_t *c, env_t *env, uint64_t seed, long *len, double *ret);

#endif
