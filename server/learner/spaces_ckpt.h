/* spaces_ckpt: the "spaces" checkpoint section, the env spaces a run with `env = worker:ID` took
 * from its first worker's Hello (extenv.h), so that `rlserve export` can rebuild the policy of a
 * run whose env the learner has no code for, and a resume can refuse workers of other spaces.
 *
 * Layout (little-endian, exactly this long, nothing after it):
 *   "RLSPACES" | u32 version (1) | u16 id length (1..256) | id bytes (printable ASCII) |
 *   u32 obs_dim (1..ENV_MAX_OBS_DIM) | u8 obs_binary (0/1) | 3 x u32 obs_shape (all 0, or
 *   H, W, C with H*W*C = obs_dim) | u32 obs bound pairs (obs_dim when <= ENV_MAX_DIM, else 1) |
 *   low[pairs] f32 | high[pairs] f32 (not NaN, low <= high; binary: exactly 0 and 1) |
 *   u8 act_kind (0 discrete, 1 box) | u32 act_n (discrete: 1..SPACES_CKPT_MAX_ACTIONS; box: 0) |
 *   u32 act_dim (discrete: 1; box: 1..ENV_MAX_DIM) | box only: low[act_dim] f32 | high[act_dim]
 *   f32 (finite, low < high).
 * Pure functions over bytes; any thread. */
#ifndef RLSERVE_SPACES_CKPT_H
#define RLSERVE_SPACES_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "env.h"

#define SPACES_CKPT_SECTION "spaces"
#define SPACES_CKPT_VERSION 1
#define SPACES_CKPT_MAX_ACTIONS 4096 /* as extenv.c accepts */
#define SPACES_CKPT_MAX_ID 256
/* The longest encoding: header, id, observation and action parts with every bound. */
#define SPACES_CKPT_MAX_BYTES (14 + SPACES_CKPT_MAX_ID + 21 + 8 * ENV_MAX_DIM + 9 + 8 * ENV_MAX_DIM)

/* Decoded spaces: spec.id points at id; spec has no reset/step (nothing plays it in C). */
typedef struct spaces_ckpt {
  char id[SPACES_CKPT_MAX_ID + 1];
  env_spec_t spec;
} spaces_ckpt_t;

/* Encodes s's id and spaces into out (room for SPACES_CKPT_MAX_BYTES); the length, or 0 when s
 * cannot be encoded (an id longer than SPACES_CKPT_MAX_ID, sizes out of range). */
size_t spaces_ckpt_encode(const env_spec_t *s, uint8_t *out);

/* Decodes and validates a section; 0, or -1 with a message naming the field ("spaces: obs_dim
 * 0 outside 1..1000"). */
int spaces_ckpt_decode(const uint8_t *p, size_t len, spaces_ckpt_t *out, char *err, size_t errlen);

/* 1 when a and b have the same spaces (kinds, sizes, bounds, binary flag, shape). */
int spaces_ckpt_same(const env_spec_t *a, const env_spec_t *b);

#endif
