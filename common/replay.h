/* replay: the experience replay buffer. A fixed-capacity ring stored as structure of arrays
 * (obs, act, rew, next_obs, terminated, bootstrap discount) and uniform or proportional
 * prioritized sampling, held to the samples-per-insert rate of flow.h: replay keeps the
 * counters under its lock and waits on them, flow_may_sample and flow_ahead say what they
 * allow.
 *
 * Prioritized (Schaul et al. 2016, proportional): slot i has priority p_i = (|delta_i| + eps)^
 * alpha in a sum tree (common/sumtree.h); P(i) = p_i / sum p; importance weights
 * w_i = (N P(i))^-beta / max_j w_j = (p_i / p_min)^-beta, beta annealed linearly from beta0 to 1
 * over beta_steps inserted transitions. A transition inserted without a priority gets the
 * largest priority seen so far. Transition k of the run (k = 0, 1, ...) lives in slot
 * k % capacity: its id is k, so a priority update for a transition already overwritten is
 * recognised and dropped.
 *
 * Threads: replay_insert* / replay_insert_allowed from the net thread, replay_sample* and
 * replay_update_priorities from the trainer thread; all functions are thread-safe. The lock is
 * held only for copies and O(log n) tree walks. */
#ifndef RLSERVE_REPLAY_H
#define RLSERVE_REPLAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "rng.h"
#include "sumtree.h"

/* Prioritized replay settings (config keys per_alpha, per_eps, per_beta0). */
typedef struct replay_per {
  double alpha, eps, beta0;
  uint64_t beta_steps; /* inserted transitions over which beta reaches 1 */
} replay_per_t;

typedef struct replay {
  pthread_mutex_t mu;
  pthread_cond_t can_sample;
  size_t capacity, obs_dim, act_dim;
  float *obs, *act, *rew, *next_obs, *term; /* term: 1 when the episode terminated */
  /* Binary observations (replay_set_obs_bits): obs / next_obs are NULL and each row sits in
   * obs_b / next_obs_b as obs_row packed bytes (common/obsbits.h), unpacked into floats only
   * when a batch is sampled. Otherwise obs_bits is 0 and obs_row is obs_dim * 4. */
  int obs_bits;
  size_t obs_row;
  uint8_t *obs_b, *next_obs_b;
  int locks; /* mutex and condition initialised */
  float *disc; /* bootstrap discount of each transition (gamma^k for a k-step return) */
  float gamma; /* the discount of a transition inserted without one (one-step) */
  size_t head, size;
  int prioritized;
  replay_per_t per;
  sumtree_t tree;
  double max_prio; /* largest p_i^alpha set so far (new transitions without a priority) */
  uint64_t inserted, sampled; /* totals over the run (transitions) */
  flow_limits_t lim;
  int closed;
  /* Samplers waiting on can_sample and the smallest batch one waits for: an insert wakes them
   * only when that batch may now be sampled (a wake-up per inserted batch would cost the
   * inserting thread and the sampler a context switch each for nothing). */
  size_t waiters, wait_batch;
} replay_t;

int replay_init(replay_t *r, size_t capacity, size_t obs_dim, size_t act_dim,
                const flow_limits_t *lim);
void replay_free(replay_t *r);

/* Switches to prioritized sampling (before any insert). 0, or -1 (bad settings, no memory). */
int replay_set_prioritized(replay_t *r, const replay_per_t *per);
/* Stores observations as packed bits (an env with binary observations): frees the float rows
 * and allocates capacity * ceil(obs_dim/8) bytes for each of obs and next_obs. Before any
 * insert. 0, or -1 (no memory; the replay is then unusable: replay_free it). */
int replay_set_obs_bits(replay_t *r);
/* Bytes of replay memory one stored transition takes: its row in every array (obs and next_obs
 * as stored, act, rew, term, disc) plus, prioritized, its share of the sum tree. */
size_t replay_bytes_per_transition(const replay_t *r);
/* The discount stored for transitions inserted without one (default 1). Before any insert. */
void replay_set_gamma(replay_t *r, float gamma);

/* Inserts n transitions from little-endian float32 arrays of any alignment (as decoded from
 * the wire); flags bit 0 = terminated (truncation is not stored: it bootstraps). */
void replay_insert(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                   const void *next_obs, const uint8_t *flags);
/* The same with optional arrays (NULL: absent): disc, the bootstrap discount of each transition
 * (float32 LE, else the replay's gamma); prio, its initial |TD error| (float32 LE, finite,
 * >= 0, else the largest priority so far). prio is ignored by a uniform replay. */
void replay_insert_ext(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                       const void *next_obs, const uint8_t *flags, const void *disc,
                       const void *prio);
/* The same with the observations' encoding: obs_enc 0 (float32 LE rows, as replay_insert_ext)
 * or 1 (packed bits, rows of ceil(obs_dim/8) bytes with zero padding bits; tbatch.h's
 * TBATCH_OBS_BITS). Either encoding goes into either kind of replay: floats into a bits replay
 * are packed (each must be 0 or 1), bits into a float replay unpacked. 0, or -1 with a message
 * (a float that is not 0 or 1 for a bits replay, no memory) and nothing inserted. */
int replay_insert_enc(replay_t *r, size_t n, int obs_enc, const void *obs, const void *act,
                      const void *rew, const void *next_obs, const uint8_t *flags,
                      const void *disc, const void *prio, char *err, size_t errlen);
/* Whether ingest may continue at the configured rate: not flow_ahead (false: withhold credit). */
int replay_insert_allowed(replay_t *r);
/* Waits until a batch may be sampled under the rate limit, then samples `batch` uniform
 * indices into the caller's buffers (term as 0/1 floats). Returns 0, or 1 when the buffer
 * was closed or timeout_ms passed (timeout_ms < 0 waits without a limit). */
int replay_sample_wait(replay_t *r, rng_t *rng, size_t batch, float *obs, float *act, float *rew,
                       float *next_obs, float *term, int timeout_ms);
/* A sampled batch, the caller's buffers of `batch` rows. weight: the importance weight of each
 * row (1 for a uniform replay); id: the transitions' ids for replay_update_priorities. */
typedef struct replay_sample {
  float *obs, *act, *rew, *next_obs, *term, *disc, *weight;
  uint64_t *id;
} replay_sample_t;
/* Buffers for `batch` sampled transitions of obs_dim and act_dim floats: every field of s.
 * 0, or -1 out of memory (then nothing is left allocated). replay_sample_free frees them. */
int replay_sample_alloc(replay_sample_t *s, size_t batch, size_t obs_dim, size_t act_dim);
void replay_sample_free(replay_sample_t *s);
/* Like replay_sample_wait, into s (every buffer required). Prioritized: proportional,
 * stratified over `batch` equal segments of the total priority. */
int replay_sample_ext(replay_t *r, rng_t *rng, size_t batch, replay_sample_t *s, int timeout_ms);
/* New priorities from the |TD errors| of the n transitions sampled with ids `id`; ids
 * overwritten since are skipped, non-finite errors are ignored. No-op for a uniform replay. */
void replay_update_priorities(replay_t *r, const uint64_t *id, const float *td, size_t n);
/* The beta that weights are computed with now. */
double replay_beta(replay_t *r);

/* Wakes every waiting sampler for good (shutdown). */
void replay_close(replay_t *r);

/* A copy of the replay's contents (checkpoint_replay): the `size` rows in slot order, the
 * counters, and (prioritized) each row's tree value p_i^alpha and the largest so far. */
typedef struct replay_image {
  uint64_t capacity, obs_dim, act_dim, size, inserted, sampled, prioritized;
  uint64_t obs_bits; /* 1: obs_b / next_obs_b hold size rows of ceil(obs_dim/8) bytes and obs /
                      * next_obs are NULL; 0: float rows in obs / next_obs */
  double max_prio;
  float *obs, *act, *rew, *next_obs, *term, *disc;
  uint8_t *obs_b, *next_obs_b;
  double *prio; /* size values, or NULL (uniform) */
} replay_image_t;
/* Copies the contents under the lock (memcpy only). 0, or -1 (out of memory). */
int replay_image_take(replay_t *r, replay_image_t *im);
void replay_image_free(replay_image_t *im);
/* Loads an image into an empty replay of the same capacity, dims, mode and observation
 * encoding, after checking every value (finite, term 0/1, disc in [0, 1], priorities > 0,
 * actions integral in [0, n_actions) when n_actions > 0, bits rows with zero padding bits). Before the threads start. 0, or -1 with a message naming the problem. */
int replay_image_restore(replay_t *r, const replay_image_t *im, int n_actions, char *err,
                         size_t errlen);

typedef struct replay_counts {
  size_t size, capacity;
  uint64_t inserted, sampled;
} replay_counts_t;
replay_counts_t replay_counts(replay_t *r);

#endif
