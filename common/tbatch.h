/* tbatch: transition batches, msgpack on the wire (FRAME_TRANSITIONS payload).
 *
 * Payload: a msgpack map with keys
 *   "v" u32 schema version (1), "n" u32 transitions, "obs_dim" u32, "act_dim" u32,
 *   "wv" u64 weights version that produced them, "wid" u32 worker id,
 *   "obs" bin n*obs_dim float32 LE, "act" bin n*act_dim float32 LE (discrete: the index),
 *   "rew" bin n float32 LE, "next_obs" bin n*obs_dim float32 LE,
 *   "flags" bin n uint8 (bit 0 terminated, bit 1 truncated).
 * Optional keys (absent: the learner's defaults):
 *   "disc" bin n float32 LE, each transition's bootstrap discount in [0, 1] (gamma^k of a
 *     k-step return built on the worker; absent: one-step, gamma),
 *   "prio" bin n float32 LE, each transition's initial priority (|TD error|), finite, >= 0
 *     (absent: the replay's largest priority so far),
 *   "obs_enc" str, how "obs" and "next_obs" are encoded: "f32" (the default when absent:
 *     n*obs_dim float32 LE) or "bits" (binary observations, e.g. MinAtar: each observation
 *     packed by common/obsbits.h into ceil(obs_dim/8) bytes, LSB first, unused high bits of
 *     the last byte 0; the bins hold n*ceil(obs_dim/8) bytes; a receiver refuses bits for an
 *     env whose observations are not binary, nonzero padding bits and wrong sizes).
 * Unknown keys are ignored (forward compatible). Bulk arrays are single bins so encoding
 * and decoding run at memcpy speed. Pure functions over bytes; any thread. */
#ifndef RLSERVE_TBATCH_H
#define RLSERVE_TBATCH_H

#include <stddef.h>
#include <stdint.h>

#define TBATCH_MAX_OBJECTS 65536 /* msgpack objects in one payload (bounds decode memory) */

#define TBATCH_TERMINATED 1u
#define TBATCH_TRUNCATED 2u

/* tbatch_t.obs_enc: the layout of obs / next_obs */
#define TBATCH_OBS_F32 0  /* n*obs_dim float32 LE */
#define TBATCH_OBS_BITS 1 /* n rows of obsbits_bytes(obs_dim) packed bytes */

typedef struct tbatch {
  uint32_t n, obs_dim, act_dim;
  uint64_t weights_version;
  uint32_t worker_id;
  /* Raw little-endian arrays. After decode they point into the payload (no alignment
   * guarantee: read them with memcpy, e.g. replay_insert does). */
  const void *obs, *act, *rew, *next_obs;
  const uint8_t *flags;
  const void *disc, *prio; /* optional: NULL when absent (encode: not sent) */
  uint8_t obs_enc;          /* TBATCH_OBS_F32 (0, "obs_enc" not sent) or TBATCH_OBS_BITS */
} tbatch_t;

/* What the receiver expects; a batch that does not fit is rejected. */
typedef struct tbatch_limits {
  uint32_t obs_dim, act_dim;
  uint32_t n_actions; /* > 0: discrete, every action must be an integer in [0, n_actions) */
  uint32_t max_n;     /* most transitions in one batch */
  int allow_bits;     /* 1: "obs_enc" = "bits" accepted (the env's observations are binary) */
} tbatch_limits_t;

/* Encodes a whole frame (header + msgpack payload); malloc'd, caller frees. NULL on OOM. */
uint8_t *tbatch_encode(const tbatch_t *b, size_t *frame_len);
/* Decodes and validates a payload: sizes, dims, flags, finite values, action range.
 * 0, or -1 with a reason in err. out's arrays point into p (zero-copy; valid while p is).
 * Discrete (n_actions > 0): each act value is an action index as float32 (act_dim 1). Also
 * rejected: duplicate known keys, trailing bytes, more than TBATCH_MAX_OBJECTS objects. */
int tbatch_decode(const uint8_t *p, size_t len, const tbatch_limits_t *lim, tbatch_t *out,
                  char *err, size_t errlen);

#endif
