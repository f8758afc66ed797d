/* Corridor-v0: the example user environment, built as librlserve_example_env.so against
 * rlserve_env_plugin.h alone (no other rlserve header, no rlserve library).
 *
 * A corridor of 10 cells, 0..9, with the goal at one end (left or right, drawn at reset) and
 * the agent on any other cell. Observation [position / 9, goal side (0 left, 1 right)];
 * actions 0 = left, 1 = right (walls at both ends). Reward -0.1 per step, +1 on the step that
 * reaches the goal, which terminates the episode; rlserve truncates at 50 steps. Walking
 * straight to the goal returns 1 - 0.1 (d - 1) from distance d, 0.6 on average, so the solve
 * threshold 0.5 needs a near-optimal policy, which a small DQN finds in a few thousand steps.
 *
 * Compiled with -DBAD_ABI it claims ABI version 999 (librlserve_example_env_badabi.so), which
 * rlserve must refuse. */
#include <stdint.h>

#include "rlserve_env_plugin.h"

#define CORRIDOR_LEN 10

typedef struct corridor {
  int pos;       /* 0..CORRIDOR_LEN-1 */
  int goal_side; /* 0: goal at cell 0, 1: goal at cell CORRIDOR_LEN-1 */
} corridor_t;

/* splitmix64: turns rlserve's 64-bit reset seed into the few draws reset needs. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int goal_cell(const corridor_t *c) { return c->goal_side ? CORRIDOR_LEN - 1 : 0; }

static void observe(const corridor_t *c, float *obs) {
  obs[0] = (float)c->pos / (float)(CORRIDOR_LEN - 1);
  obs[1] = (float)c->goal_side;
}

static void corridor_reset(void *state, uint64_t seed, float *obs) {
  corridor_t *c = state;
  uint64_t x = seed;
  c->goal_side = (int)(splitmix64(&x) >> 63);
  /* Any cell but the goal, uniformly (the modulo bias over 2^64 is negligible). */
  int k = (int)(splitmix64(&x) % (CORRIDOR_LEN - 1));
  c->pos = c->goal_side ? k : k + 1;
  observe(c, obs);
}

static void corridor_step(void *state, const float *action, float *obs, float *reward,
                          int *terminated) {
  corridor_t *c = state;
  int a = rlserve_env_plugin_action_index(action, 2);
  c->pos += a == 1 ? 1 : -1;
  if (c->pos < 0) c->pos = 0;
  if (c->pos > CORRIDOR_LEN - 1) c->pos = CORRIDOR_LEN - 1;
  int done = c->pos == goal_cell(c);
  *reward = done ? 1.0f : -0.1f;
  *terminated = done;
  observe(c, obs);
}

/* The state as two doubles [position, goal side], for test vectors. */
static void corridor_set_state(void *state, const double *s, float *obs) {
  corridor_t *c = state;
  int pos = (int)s[0];
  c->pos = pos < 0 ? 0 : pos > CORRIDOR_LEN - 1 ? CORRIDOR_LEN - 1 : pos;
  c->goal_side = s[1] != 0.0;
  observe(c, obs);
}

static void corridor_get_state(const void *state, double *s) {
  const corridor_t *c = state;
  s[0] = c->pos;
  s[1] = c->goal_side;
}

#ifdef BAD_ABI
#define CORRIDOR_ABI 999u
#else
#define CORRIDOR_ABI RLSERVE_ENV_PLUGIN_ABI_VERSION
#endif

static const rlserve_env_plugin_t corridor = {
    .abi_version = CORRIDOR_ABI,
    .struct_size = sizeof(rlserve_env_plugin_t),
    .id = "Corridor-v0",
    .obs = {.kind = RLSERVE_ENV_PLUGIN_BOX, .dim = 2, .low = {0.0f, 0.0f}, .high = {1.0f, 1.0f}},
    .act = {.kind = RLSERVE_ENV_PLUGIN_DISCRETE, .n = 2, .dim = 1},
    .max_episode_steps = 50,
    .reward_threshold = 0.5,
    .state_size = sizeof(corridor_t),
    .reset = corridor_reset,
    .step = corridor_step,
    .n_state = 2,
    .set_state = corridor_set_state,
    .get_state = corridor_get_state,
    .reward_low = -0.1,
    .reward_high = 1.0,
};

RLSERVE_ENV_PLUGIN_EXPORT const rlserve_env_plugin_t *RLSERVE_ENV_PLUGIN_ENTRY(void) {
  return &corridor;
}
