/* algo: the table of algorithms. Each algorithm is one row (an algo_t, defined in the
 * algorithm's own file) and one line in algo.c's table; code outside a row never names an
 * algorithm or branches on its action space. Like Redis's command table or kann's operator
 * table: the caller looks the row up and calls through it.
 *
 * Two modes:
 *   ALGO_ACTOR_LEARNER  served by the learner and workers (dqn, ddpg, td3): workers act with
 *                       `policy` / `act_explore`, evaluation with `act_greedy`, the trainer
 *                       thread owns the state from `create` and calls `update` on sampled
 *                       batches, publishes `weights`, checkpoints `state_view`.
 *   ALGO_IN_PROCESS     on-policy methods run in one thread by `run` (rlserve run --workers 0).
 *
 * Threads: the functions of a row are pure computation over the caller's buffers; a state
 * from `create` belongs to one thread at a time (the trainer while it runs). Nothing here
 * touches a socket, a lock or a file, except an in-process `run`, which writes its run folder. */
#ifndef RLSERVE_ALGO_H
#define RLSERVE_ALGO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "env.h"
#include "nn.h"
#include "rng.h"

typedef enum { ALGO_ACTOR_LEARNER = 0, ALGO_IN_PROCESS = 1 } algo_mode_t;

/* What acts, built from the config and the env (workers from the Welcome, evaluation from a
 * checkpoint's config): the network and, for continuous actions, the map onto the bounds. */
typedef struct algo_policy {
  nn_layout_t layout; /* the Q-network, or the actor (the first layout.n_params floats) */
  int obs_dim;
  int act_dim;   /* floats per action in a transition: 1 for a discrete action index */
  int n_actions; /* discrete: the number of actions; 0 for continuous */
  int n_out;     /* network outputs: n_actions, or act_dim */
  float scale[ENV_MAX_DIM], bias[ENV_MAX_DIM]; /* continuous: action = bias + scale * tanh */
  float low[ENV_MAX_DIM], high[ENV_MAX_DIM];
  /* 1: the published online buffer is exactly the policy's parameters; 0: it starts with them
   * (an actor followed by its critics). */
  int weights_exact;
} algo_policy_t;

/* One worker's exploration over its k envs. `epsilon_final` and `noise_scale` come from the
 * Welcome (the learner's per-worker assignment); each row uses the one it needs. */
typedef struct algo_explorer {
  const config_t *cfg;
  int k;
  double epsilon_final, noise_scale;
  double now; /* the epsilon or noise scale in effect at the last step (Stats.epsilon) */
  float *ou;  /* k * act_dim Ornstein-Uhlenbeck states (continuous), zeroed by init */
  rng_t *rng;
} algo_explorer_t;

int algo_explorer_init(algo_explorer_t *x, const config_t *cfg, const algo_policy_t *p, int k,
                       rng_t *rng);
void algo_explorer_free(algo_explorer_t *x);

/* A sampled batch, B rows (B = the config's batch_size): act holds B * act_dim floats (action
 * indices as floats when discrete), term 0/1. Optional rows (NULL: absent): disc, each row's
 * bootstrap discount (gamma^k of a k-step return; absent: gamma); weight, importance weights
 * of prioritized replay (absent: 1); td, the row fills it with |TD error| per row (the new
 * priorities) when it sets algo_stats_t.td_filled. */
typedef struct algo_batch {
  const float *obs, *act, *rew, *next_obs, *term;
  const float *disc, *weight;
  float *td;
} algo_batch_t;

typedef struct algo_stats {
  float loss;   /* the value loss of this update (critic loss for actor-critic methods) */
  float mean_q; /* mean Q(s, a) over the batch */
  long updates; /* updates done so far, this one included */
  int td_filled; /* the batch's td rows hold this update's |TD errors| */
} algo_stats_t;

/* What the learner publishes to workers: the online buffer of n floats; its first n_policy floats
 * are what acts (the policy layout's parameters). Target networks stay in the row's state. */
typedef struct algo_weights {
  float *online;
  size_t n, n_policy;
  float *target; /* the target networks, n floats in the online layout (NULL: none) */
} algo_weights_t;

/* The learner-side state as named float tensors plus step counters (updates first), for the
 * checkpoint: saved as they are, restored in place. */
#define ALGO_MAX_TENSORS 8
#define ALGO_MAX_STEPS 4
typedef struct algo_state_view {
  int n;
  const char *name[ALGO_MAX_TENSORS];
  float *ptr[ALGO_MAX_TENSORS];
  size_t len[ALGO_MAX_TENSORS];
  int n_steps;
  long *steps[ALGO_MAX_STEPS];
} algo_state_view_t;

/* A number an algorithm reports on /status and /metrics beyond loss and mean Q. */
#define ALGO_MAX_FIELDS 4
typedef struct algo_field {
  const char *name; /* snake_case; /metrics shows it as rlserve_algo_<name> */
  const char *help;
  double value;
} algo_field_t;

typedef struct algo algo_t;
struct algo {
  const char *name;
  const char *summary; /* one line for --help */
  algo_mode_t mode;
  env_space_kind_t actions; /* the action space the env must have */
  int variant;              /* row data for a family that serves several rows (td3, td0, ...) */
  int per;                  /* update honours disc and weight and fills td (prioritized, n-step) */
  const void *family;       /* the family's own ops (in-process methods: onpolicy.h) */

  /* Checks what config_validate cannot: the settings this algorithm needs, against the env.
   * NULL: nothing beyond the action space. 0, or -1 with a message naming the setting. */
  int (*validate)(const algo_t *a, const config_t *c, const env_spec_t *spec, char *err,
                  size_t errlen);

  /* Acting (ALGO_ACTOR_LEARNER): workers and evaluation. */
  int (*policy)(const config_t *c, const env_spec_t *spec, algo_policy_t *p, char *err,
                size_t errlen);
  void (*act_greedy)(const algo_policy_t *p, const float *params, nn_ws_t *ws, const float *obs,
                     int n, float *actions);
  /* run_steps: env steps of the whole run so far (warm-up and annealing schedules). */
  void (*act_explore)(const algo_policy_t *p, const float *params, nn_ws_t *ws, const float *obs,
                      int n, algo_explorer_t *x, uint64_t run_steps, float *actions);
  /* Actor-side initial priorities (actor_priorities): out[i] = |TD error| of transition i with
   * the worker's copies of the online and target buffers (the published layout), the
   * transition's own bootstrap discount disc[i], no bootstrap when flags[i] has
   * TBATCH_TERMINATED. ws: any max_batch (rows go through in chunks). 0, or -1 (out not
   * filled: the batch goes without priorities). NULL: not supported. */
  int (*priorities)(const config_t *c, const algo_policy_t *p, const float *online,
                    const float *target, nn_ws_t *ws, int n, const float *obs, const float *act,
                    const float *rew, const float *next_obs, const uint8_t *flags,
                    const float *disc, float *out);
  const char *explore_name; /* what explore_level is: "epsilon" or "noise scale" */
  double (*explore_level)(const config_t *c, int index, int n_workers);

  /* Learning (ALGO_ACTOR_LEARNER): the trainer thread. */
  void *(*create)(const algo_t *a, const config_t *c, const env_spec_t *spec, rng_t *init_rng,
                  char *err, size_t errlen);
  void (*destroy)(void *state);
  void (*update)(void *state, const algo_batch_t *b, algo_stats_t *out);
  void (*weights)(void *state, algo_weights_t *w);
  void (*state_view)(void *state, algo_state_view_t *v);
  /* Fills up to ALGO_MAX_FIELDS fields from the last update; returns how many. May be NULL. */
  int (*status_fields)(void *state, algo_field_t *f);

  /* In-process (ALGO_IN_PROCESS): a whole run; 0 reached its target, 1 not, 2 error. */
  int (*run)(const algo_t *a, const config_t *c, const char *out_dir, int quiet, char *err,
             size_t errlen);
};

/* The row named `name`, or NULL. */
const algo_t *algo_find(const char *name);
size_t algo_count(void);
const algo_t *algo_at(size_t i);
/* "dqn, ddpg, td3, ..." (every row, or only those of one mode when mode >= 0). */
void algo_names(char *buf, size_t len, int mode);
/* The table for --help: one line per algorithm (name, mode, summary). */
void algo_print_help(FILE *f);
/* config_validate, then the algorithm's own checks against the env (found by name in the
 * registry when spec is NULL and the env is known). *out receives the row. 0, or -1 with a
 * message. */
int algo_validate_config(const config_t *c, const env_spec_t *spec, const algo_t **out, char *err,
                         size_t errlen);

#endif
