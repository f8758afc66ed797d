/* replay: the experience replay buffer. A fixed-capacity ring stored as structure of arrays
 * (obs, act, rew, next_obs, terminated) and uniform sampling, held to the samples-per-insert
 * rate of flow.h: replay keeps the counters under its lock and waits on them, flow_may_sample
 * and flow_ahead say what they allow.
 *
 * Threads: replay_insert / replay_insert_allowed from the net thread, replay_sample_wait from
 * the trainer thread; all functions are thread-safe. The lock is held only for copies. */
#ifndef RLSERVE_REPLAY_H
#define RLSERVE_REPLAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "rng.h"

typedef struct replay {
  pthread_mutex_t mu;
  pthread_cond_t can_sample;
  size_t capacity, obs_dim, act_dim;
  float *obs, *act, *rew, *next_obs, *term; /* term: 1 when the episode terminated */
  size_t head, size;
  uint64_t inserted, sampled; /* totals over the run (transitions) */
  flow_limits_t lim;
  int closed;
} replay_t;

int replay_init(replay_t *r, size_t capacity, size_t obs_dim, size_t act_dim,
                const flow_limits_t *lim);
void replay_free(replay_t *r);

/* Inserts n transitions from little-endian float32 arrays of any alignment (as decoded from
 * the wire); flags bit 0 = terminated (truncation is not stored: it bootstraps). */
void replay_insert(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                   const void *next_obs, const uint8_t *flags);
/* Whether ingest may continue at the configured rate: not flow_ahead (false: withhold credit). */
int replay_insert_allowed(replay_t *r);
/* Waits until a batch may be sampled under the rate limit, then samples `batch` uniform
 * indices into the caller's buffers (term as 0/1 floats). Returns 0, or 1 when the buffer
 * was closed or timeout_ms passed (timeout_ms < 0 waits without a limit). */
int replay_sample_wait(replay_t *r, rng_t *rng, size_t batch, float *obs, float *act, float *rew,
                       float *next_obs, float *term, int timeout_ms);
/* Wakes every waiting sampler for good (shutdown). */
void replay_close(replay_t *r);

typedef struct replay_counts {
  size_t size, capacity;
  uint64_t inserted, sampled;
} replay_counts_t;
replay_counts_t replay_counts(replay_t *r);

#endif
