/* env: the one environment API. An env is a spec (constant: spaces, limits, function
 * pointers) plus a state struct; reset and step write into caller-owned buffers and do no
 * allocation and no I/O. Termination (the task ended) is distinct from truncation (the
 * time limit, counted here, as Gymnasium's TimeLimit does). Any thread may use its own
 * env_t; specs are immutable and shared. */
#ifndef RLSERVE_ENV_H
#define RLSERVE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* ENV_MAX_DIM: the widest space with one bound pair per dimension (every action space, the
 * vector observations, plugins). Wider observation spaces (images: MinAtar's 10x10xC grids) go
 * up to ENV_MAX_OBS_DIM floats and share one bound pair, low[0] / high[0], for every element;
 * read bounds through env_space_low / env_space_high. */
#define ENV_MAX_DIM 16
#define ENV_MAX_OBS_DIM 1000
#define ENV_SEED_NONE UINT64_MAX /* env_reset: continue the env's own random stream */

typedef enum { ENV_DISCRETE = 0, ENV_BOX = 1 } env_space_kind_t;

typedef struct env_space {
  env_space_kind_t kind;
  int n;   /* ENV_DISCRETE: number of actions (dim is 1) */
  int dim; /* number of floats an observation / action occupies */
  /* ENV_BOX bounds (may be +-INFINITY): per dimension when dim <= ENV_MAX_DIM, else low[0] and
   * high[0] hold for every element. */
  float low[ENV_MAX_DIM], high[ENV_MAX_DIM];
  /* Observations only: an image of shape[0] rows x shape[1] columns x shape[2] channels, laid
   * out channels last ((row * shape[1] + col) * shape[2] + channel; H * W * C = dim), for nets
   * with conv layers (config `net`); all 0 for a plain vector. */
  int shape[3];
  /* Observations only: 1 when every element is exactly 0 or 1 (MinAtar), so observations
   * travel in transition batches and sit in replay as packed bits (common/obsbits.h). */
  int binary;
} env_space_t;

/* The bounds of element i (0 <= i < dim) of a space, whatever its width. */
static inline float env_space_low(const env_space_t *s, int i) {
  return s->low[s->dim <= ENV_MAX_DIM ? i : 0];
}
static inline float env_space_high(const env_space_t *s, int i) {
  return s->high[s->dim <= ENV_MAX_DIM ? i : 0];
}

typedef struct env_spec {
  const char *id;          /* "CartPole-v1" */
  env_space_t obs, act;
  int max_episode_steps;   /* TimeLimit; 0 = none */
  double reward_threshold; /* solve threshold (mean return over 100 episodes) */
  int n_state;             /* doubles in the internal state vector (envcheck) */
  size_t state_size;       /* bytes of the private state struct */
  /* Draw a start state from the reset distribution with rng; write the observation. */
  void (*reset)(void *state, rng_t *rng, float *obs);
  /* One step of the dynamics (no time limit). Discrete actions come as action[0] = index. */
  void (*step)(void *state, const float *action, float *obs, float *reward, int *terminated);
  /* Set / read the internal state as doubles (for test vectors). */
  void (*set_state)(void *state, const double *s, float *obs);
  void (*get_state)(const void *state, double *s);
  /* The range of one step's reward (may be +-INFINITY): the learner refuses transitions
   * outside it, and outside the observation bounds (envs/bounds.h). */
  float reward_low, reward_high;
  /* Optional (NULL for most envs). configure: called by env_init with the options of the id
   * ("Id:key=value,key=value", the part after ':'; "" when none) on the zeroed state; returns 0
   * or -1 with a message naming the option. An env without it refuses options. */
  int (*configure)(void *state, const char *opts, char *err, size_t errlen);
  /* seed: env_reset(e, seed) with a seed calls it (besides reseeding e->rng), for envs that
   * keep their own generator (MinAtar: numpy's legacy RandomState, envs/npmt.h). */
  void (*seed)(void *state, uint64_t seed);
} env_spec_t;

typedef struct env {
  const env_spec_t *spec;
  void *state; /* spec->state_size bytes, owned */
  rng_t rng;
  int t;       /* steps since the last reset */
} env_t;

/* Registry: the spec for an id, or NULL. An id may carry options after ':' (envs/README.md,
 * e.g. "MinAtar/Breakout-v1:sticky_action_prob=0"); env_find ignores them, env_init applies
 * them. env_ids lists the known ids (NULL-terminated). */
const env_spec_t *env_find(const char *id);
const char *const *env_ids(void);

/* Returns 0, or -1 when the id is unknown or its options are bad (err names it). */
int env_init(env_t *e, const char *id, char *err, size_t errlen);
/* Whether env_init would accept the id with its options: 0, or -1 with the reason in err (for
 * validating a config before any env exists). */
int env_check_id(const char *id, char *err, size_t errlen);
void env_free(env_t *e);
/* seed: reseed the env's stream first (same seed, same episode); ENV_SEED_NONE: continue. */
void env_reset(env_t *e, uint64_t seed, float *obs);
/* Steps; truncated is set when the time limit is reached (terminated may be set too). */
void env_step(env_t *e, const float *action, float *obs, float *reward, int *terminated,
              int *truncated);
/* Clamp/validate helpers for an action a policy produced: returns 0 if valid. */
int env_action_valid(const env_spec_t *s, const float *action);

/* K copies of one env stepped in one call with automatic reset. obs holds the K current
 * observations contiguously (K x obs.dim); after a step, next_obs receives the observation
 * the step produced (the terminal one for finished episodes) while obs already holds the
 * first observation of the next episode for those envs. */
typedef struct env_vec {
  int k;
  env_t *envs;
  float *obs;        /* k * obs.dim, current observations */
  double *ep_return; /* running return per env */
  int *ep_len;
} env_vec_t;

/* Env i is seeded with rng_derive(seed, i). Returns 0 or -1 (unknown id, in err). */
int env_vec_init(env_vec_t *v, const char *id, int k, uint64_t seed, char *err, size_t errlen);
void env_vec_free(env_vec_t *v);
/* actions: k * act.dim floats. Outputs are k-long (next_obs k*obs.dim). For each env whose
 * episode ended, its return and length are written to done_returns/done_lens (if non-NULL,
 * room for k) and the count is returned. */
int env_vec_step(env_vec_t *v, const float *actions, float *next_obs, float *rewards,
                 uint8_t *terminated, uint8_t *truncated, float *done_returns, int *done_lens);

/* --- Additions (envs/README.md) --------------------------------------------------------- */

/* Sets the internal state (spec->n_state doubles) as Gymnasium's test generator does after a
 * reset: the time-limit count restarts at 0. Writes the observation for that state. */
void env_set_state(env_t *e, const double *s, float *obs);
/* Clamps an action into the action space in place (discrete: rounds to a valid index). */
void env_action_clamp(const env_spec_t *s, float *action);

/* The discrete action index held in action[0], rounded and clamped into [0, n). The envs
 * read actions through this, so an out-of-range index never reads out of bounds. */
static inline int env_action_index(const float *action, int n) {
  float a = action[0];
  if (!(a >= 0.0f)) return 0; /* also NaN */
  if (a >= (float)n - 0.5f) return n - 1;
  return (int)(a + 0.5f);
}

/* 1000-state random walk (Sutton & Barto Example 9.1), "RandomWalk1000-v0". */
#define ENV_RANDOMWALK_N 1000   /* states 1..N; observations 0 and N+1 are the two ends */
#define ENV_RANDOMWALK_JUMP 100 /* a step jumps uniformly to one of 100 states either side */
/* True state values under the walk's only policy, by iterative policy evaluation (in-place
 * sweeps until the largest change is below 1e-12). v has n_states + 2 entries indexed by state
 * number: v[1..n_states] the values, v[0] = v[n_states + 1] = 0 the terminal ends. Jumps are
 * ENV_RANDOMWALK_JUMP wide whatever n_states is (the env itself uses ENV_RANDOMWALK_N).
 * Returns the number of sweeps, or -1 if n_states < 1. */
int env_randomwalk_true_values(double *v, int n_states);

/* The registered specs (look them up by id with env_find). */
extern const env_spec_t env_cartpole_v1, env_mountaincar_v0, env_mountaincar_continuous_v0,
    env_pendulum_v1, env_acrobot_v1, env_randomwalk1000_v0;
/* MinAtar (envs/minatar.h): -v1 minimal action sets, -v0 all six actions. */
extern const env_spec_t env_minatar_asterix_v0, env_minatar_asterix_v1, env_minatar_breakout_v0,
    env_minatar_breakout_v1, env_minatar_freeway_v0, env_minatar_freeway_v1,
    env_minatar_seaquest_v0, env_minatar_seaquest_v1, env_minatar_spaceinvaders_v0,
    env_minatar_spaceinvaders_v1;

#endif
