/* nstep: n-step transitions built on the worker, per env, from one-step ones.
 *
 * For the step from s_t the emitted transition is (s_t, a_t, R, s_{t+m}, flags, gamma^m) with
 * R = sum_{k<m} gamma^k r_{t+k} and m = n, or fewer when the episode ends first:
 *   - terminated at t+m-1: flags TBATCH_TERMINATED, no bootstrap (the learner ignores the
 *     discount), every step still queued is emitted with its partial return;
 *   - truncated at t+m-1: flags TBATCH_TRUNCATED, bootstrap gamma^m from the truncated step's
 *     own next observation (the final one, before the reset).
 * With n = 1 the transitions are exactly the one-step ones (disc = gamma).
 *
 * Plain data, no allocation after init; one per worker (the loop thread). */
#ifndef RLSERVE_NSTEP_H
#define RLSERVE_NSTEP_H

#include <stddef.h>
#include <stdint.h>

typedef struct nstep {
  int k, n, obs_dim, act_dim;
  double gamma;
  float *obs, *act, *rew; /* k rings of n entries */
  int *head, *len;        /* per env: the oldest entry, entries queued */
} nstep_t;

/* Where nstep_push appends: row `n` onward of caller-owned arrays with room for at least
 * n_step more rows per push. */
typedef struct nstep_out {
  float *obs, *act, *rew, *next_obs, *disc;
  uint8_t *flags;
  int n;
} nstep_out_t;

/* 0, or -1 (bad sizes, out of memory). */
int nstep_init(nstep_t *t, int k, int n, int obs_dim, int act_dim, double gamma);
void nstep_free(nstep_t *t);
/* Drops every queued step (a new run). */
void nstep_clear(nstep_t *t);
/* One step of env i: s_t (obs), a_t, r_t, s_{t+1} (next_obs; the final observation when the
 * episode ended) and its TBATCH_* flags. Appends 0..n transitions to out; returns how many. */
int nstep_push(nstep_t *t, int i, const float *obs, const float *act, float rew,
               const float *next_obs, uint8_t flags, nstep_out_t *out);

#endif
