/* rlserve_env_plugin.h: the C ABI for user environments loaded from a shared library.
 *
 * Self-contained: a plugin is compiled with this file alone, no other rlserve header and no
 * rlserve library (cc -shared -fPIC -o libmyenv.so myenv.c -I/path/to/rlserve/envs).
 *
 * A plugin exports one function, RLSERVE_ENV_PLUGIN_ENTRY (rlserve_env_plugin_v1), returning a
 * pointer to a constant rlserve_env_plugin_t that lives as long as the library: its id, its
 * spaces, its time limit and its reset / step functions. rlserve copies the description,
 * validates every field and registers the env under its id (rlserve: envs/plugin.h).
 *
 * The contract of the functions, as for the built-in envs:
 * - `state` is state_size bytes allocated (zeroed) and owned by rlserve, one per env copy;
 *   the plugin keeps everything it needs there. No globals: many copies run at once, each
 *   used by one thread at a time.
 * - reset and step write into caller-owned buffers, allocate nothing and do no I/O.
 * - Observations are float32 (obs.dim of them). Discrete actions come as action[0] = index
 *   (read it with rlserve_env_plugin_action_index); box actions as act.dim floats that rlserve
 *   has not necessarily clipped.
 * - step reports termination (the task ended). The time limit is counted by rlserve
 *   (max_episode_steps, Gymnasium's TimeLimit): do not truncate in step.
 * - Randomness: reset receives `seed`, 64 random bits rlserve draws from the env's own seeded
 *   stream. The same rlserve seed gives the same `seed`, so seeded resets stay reproducible.
 *   A plugin with random dynamics seeds a small generator in its state from it.
 *
 * Versioning: abi_version is RLSERVE_ENV_PLUGIN_ABI_VERSION as the plugin was compiled; rlserve
 * refuses any other version. An incompatible change to this file bumps the version (and the
 * entry point's name). struct_size is sizeof(rlserve_env_plugin_t) as the plugin was compiled;
 * rlserve refuses a struct smaller than its own ABI-1 struct. Compatible additions, if ever,
 * are appended after the last field and read only when struct_size covers them. */
#ifndef RLSERVE_ENV_PLUGIN_H
#define RLSERVE_ENV_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RLSERVE_ENV_PLUGIN_ABI_VERSION 1

/* Limits (checked by the loader). MAX_DIM equals ENV_MAX_DIM in rlserve's env.h. */
#define RLSERVE_ENV_PLUGIN_MAX_DIM 16               /* floats per observation / box action */
#define RLSERVE_ENV_PLUGIN_MAX_ID 64                /* bytes of the id, without the NUL */
#define RLSERVE_ENV_PLUGIN_MAX_STATE_SIZE (1 << 20) /* bytes of the per-env state */

/* Space kinds. Observations are always BOX; actions are DISCRETE or BOX. */
#define RLSERVE_ENV_PLUGIN_DISCRETE 0
#define RLSERVE_ENV_PLUGIN_BOX 1

typedef struct rlserve_env_plugin_space {
  int32_t kind; /* RLSERVE_ENV_PLUGIN_DISCRETE or RLSERVE_ENV_PLUGIN_BOX */
  int32_t n;    /* DISCRETE: number of actions, >= 1 (0 for BOX) */
  int32_t dim;  /* BOX: floats, 1..RLSERVE_ENV_PLUGIN_MAX_DIM; DISCRETE: 1 */
  /* BOX bounds for i < dim, low[i] <= high[i], no NaN. Observation bounds may be
   * -INFINITY / INFINITY; action bounds must be finite. Unused for DISCRETE. */
  float low[RLSERVE_ENV_PLUGIN_MAX_DIM], high[RLSERVE_ENV_PLUGIN_MAX_DIM];
} rlserve_env_plugin_space_t;

typedef struct rlserve_env_plugin {
  uint32_t abi_version; /* RLSERVE_ENV_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(rlserve_env_plugin_t) */
  const char *id;       /* "MyEnv-v0": non-empty, printable, not an id rlserve already has */
  rlserve_env_plugin_space_t obs, act;
  int32_t max_episode_steps; /* time limit counted by rlserve; 0 = none */
  double reward_threshold;   /* solve threshold: mean return over 100 episodes (not NaN) */
  size_t state_size;         /* bytes of the per-env state, 1..RLSERVE_ENV_PLUGIN_MAX_STATE_SIZE */
  /* Start an episode: draw the start state from `seed` and write the first observation. */
  void (*reset)(void *state, uint64_t seed, float *obs);
  /* One step of the dynamics: write the observation, the reward and whether the task ended
   * (*terminated = 0 or 1). */
  void (*step)(void *state, const float *action, float *obs, float *reward, int *terminated);
  /* Optional (NULL and n_state = 0 when absent): the internal state as n_state doubles
   * (0..RLSERVE_ENV_PLUGIN_MAX_DIM), for test vectors (`rlserve envcheck`). set_state also
   * writes the observation of the state it sets. */
  int32_t n_state;
  void (*set_state)(void *state, const double *s, float *obs);
  void (*get_state)(const void *state, double *s);
  /* Appended to ABI 1 (read only when struct_size covers them): the range of one step's
   * reward, reward_low <= reward_high, no NaN, +-INFINITY allowed. The learner refuses
   * transitions outside it (and outside the observation bounds). Both 0 (left out of the
   * initializer): not declared, any finite reward is accepted. */
  double reward_low, reward_high;
} rlserve_env_plugin_t;

/* The size of the ABI 1 struct before the appended fields: the least struct_size accepted. */
#define RLSERVE_ENV_PLUGIN_V1_BASE_SIZE offsetof(rlserve_env_plugin_t, reward_low)

/* The entry point's name, and its name as a string for dlsym. */
#define RLSERVE_ENV_PLUGIN_ENTRY rlserve_env_plugin_v1
#define RLSERVE_ENV_PLUGIN_ENTRY_NAME "rlserve_env_plugin_v1"

/* Exported even when the plugin is compiled with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define RLSERVE_ENV_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RLSERVE_ENV_PLUGIN_EXPORT
#endif

/* The plugin defines this: `RLSERVE_ENV_PLUGIN_EXPORT const rlserve_env_plugin_t *
 * RLSERVE_ENV_PLUGIN_ENTRY(void) { return &my_env; }`. It may be called more than once and
 * must return the same pointer each time. */
RLSERVE_ENV_PLUGIN_EXPORT const rlserve_env_plugin_t *RLSERVE_ENV_PLUGIN_ENTRY(void);

/* The discrete action index in action[0], rounded and clamped into [0, n) (NaN gives 0), as
 * rlserve's built-in envs read it: an out-of-range action never indexes out of bounds. */
static inline int rlserve_env_plugin_action_index(const float *action, int n) {
  float a = action[0];
  if (!(a >= 0.0f)) return 0;
  if (a >= (float)n - 0.5f) return n - 1;
  return (int)(a + 0.5f);
}

#ifdef __cplusplus
}
#endif

#endif
