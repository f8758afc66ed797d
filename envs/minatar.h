/* minatar: what the five MinAtar games (Young & Tian 2019) share: the 10x10xC observation
 * grid, the six full actions, the sticky-action wrapper and its options, and the numpy legacy
 * stream (envs/npmt.h) that the wrapper and the game draw from, seeded as
 * RandomState(seed). Each game is one file (minatar_<game>.c) whose state struct starts with a
 * minatar_t. Facts: ../shared/reference/minatar.md. */
#ifndef RLSERVE_MINATAR_H
#define RLSERVE_MINATAR_H

#include <stddef.h>
#include <string.h>

#include "env.h"
#include "npmt.h"

#define MINATAR_GRID 10
#define MINATAR_STICKY_DEFAULT 0.1

/* Full action indices (MinAtar's order). */
enum { MINATAR_NOOP, MINATAR_LEFT, MINATAR_UP, MINATAR_RIGHT, MINATAR_DOWN, MINATAR_FIRE };

typedef struct minatar {
  npmt_t mt;             /* one stream for the sticky draw and the game's draws */
  double sticky;         /* sticky_action_prob */
  int ramping;           /* difficulty_ramping */
  int last_action;       /* previous executed full action; 0 at env_init, kept across resets */
  const int *action_map; /* env action index -> full action */
  int n_actions;
} minatar_t;

/* Sets defaults (sticky 0.1, ramping on) and parses opts "key=value,..." with the keys
 * sticky_action_prob (a number in [0, 1]) and difficulty_ramping (true/false/1/0). */
int minatar_configure(minatar_t *m, const char *opts, const int *action_map, int n_actions,
                      char *err, size_t errlen);
/* env_spec_t.seed for every MinAtar spec: RandomState(seed); seeds >= 2^32 (numpy refuses them)
 * are folded to 32 bits as (seed ^ seed >> 32) & 0xffffffff. */
void minatar_seed(void *state, uint64_t seed);
/* The wrapper's part of a step: one rand() (always), the sticky repeat, the mapping to a full
 * action; returns the full action to execute. */
int minatar_action(minatar_t *m, const float *action);
/* The MinAtar stream of an env, or NULL when e is not a MinAtar env (envcheck logs draws). */
npmt_t *minatar_stream(const env_t *e);

/* obs[(row * 10 + col) * C + ch] = 1: numpy's state().flatten() order. */
static inline void minatar_on(float *obs, int C, int row, int col, int ch) {
  obs[(row * MINATAR_GRID + col) * C + ch] = 1.0f;
}
/* Zeroes the 100 * C floats. Not inline: a constant-size memset compiles to `rep stos`, which
 * bench_minatar measured slower at these sizes than libc's vector memset, so the size goes
 * through a call. */
void minatar_clear(float *obs, int C);

/* The two specs of a game: -v1 over the minimal action set, -v0 over all six actions. */
#define MINATAR_SPECS(game, name, C, state_t, resetf, stepf, min_map, rhigh, threshold)       \
  static const int game##_full_map[6] = {0, 1, 2, 3, 4, 5};                                   \
  static int game##_configure_v1(void *s, const char *o, char *e, size_t n) {                 \
    return minatar_configure(s, o, min_map, (int)(sizeof min_map / sizeof min_map[0]), e, n); \
  }                                                                                           \
  static int game##_configure_v0(void *s, const char *o, char *e, size_t n) {                 \
    return minatar_configure(s, o, game##_full_map, 6, e, n);                                 \
  }                                                                                           \
  const env_spec_t env_minatar_##game##_v1 = {                                                \
      .id = "MinAtar/" name "-v1",                                                            \
      .obs = {.kind = ENV_BOX,                                                                \
              .dim = 100 * (C),                                                               \
              .low = {0.0f},                                                                  \
              .high = {1.0f},                                                                 \
              .shape = {10, 10, (C)},                                                         \
              .binary = 1},                                                                   \
      .act = {.kind = ENV_DISCRETE,                                                           \
              .n = (int)(sizeof min_map / sizeof min_map[0]),                                 \
              .dim = 1,                                                                       \
              .low = {0},                                                                     \
              .high = {(float)(sizeof min_map / sizeof min_map[0]) - 1}},                     \
      .reward_threshold = threshold,                                                          \
      .state_size = sizeof(state_t),                                                          \
      .reset = resetf,                                                                        \
      .step = stepf,                                                                          \
      .reward_low = 0.0f,                                                                     \
      .reward_high = rhigh,                                                                   \
      .configure = game##_configure_v1,                                                       \
      .seed = minatar_seed,                                                                   \
  };                                                                                          \
  const env_spec_t env_minatar_##game##_v0 = {                                                \
      .id = "MinAtar/" name "-v0",                                                            \
      .obs = {.kind = ENV_BOX,                                                                \
              .dim = 100 * (C),                                                               \
              .low = {0.0f},                                                                  \
              .high = {1.0f},                                                                 \
              .shape = {10, 10, (C)},                                                         \
              .binary = 1},                                                                   \
      .act = {.kind = ENV_DISCRETE, .n = 6, .dim = 1, .low = {0}, .high = {5}},               \
      .reward_threshold = threshold,                                                          \
      .state_size = sizeof(state_t),                                                          \
      .reset = resetf,                                                                        \
      .step = stepf,                                                                          \
      .reward_low = 0.0f,                                                                     \
      .reward_high = rhigh,                                                                   \
      .configure = game##_configure_v0,                                                       \
      .seed = minatar_seed,                                                                   \
  }

#endif
