/* ShortCorridor-v0: the short corridor with switched actions of Sutton & Barto, Example 13.1.
 * Three nonterminal states 0, 1, 2 and the goal 3; the start is state 0. Action 0 moves left,
 * action 1 right, except in state 1 where they are switched; moving left in state 0 stays
 * there. Reward -1 per step. All states look alike: the observation is always 0, so a policy
 * can only choose a probability of going right (the optimal one is about 0.59, with value
 * about -11.6 from the start). Time limit 1000 steps. */
#include "env.h"

#define CORRIDOR_GOAL 3

typedef struct corridor {
  int s; /* 0..2, or CORRIDOR_GOAL after termination */
} corridor_t;

static void corridor_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  ((corridor_t *)state)->s = 0;
  obs[0] = 0.0f;
}

static void corridor_step(void *state, const float *action, float *obs, float *reward,
                          int *terminated) {
  corridor_t *c = state;
  int right = env_action_index(action, 2) == 1;
  if (c->s == 1) right = !right; /* the switched state */
  c->s += right ? 1 : -1;
  if (c->s < 0) c->s = 0;
  *reward = -1.0f;
  *terminated = c->s == CORRIDOR_GOAL;
  obs[0] = 0.0f;
}

static void corridor_set_state(void *state, const double *s, float *obs) {
  double x = s[0];
  ((corridor_t *)state)->s = x <= 0 ? 0 : x >= CORRIDOR_GOAL ? CORRIDOR_GOAL : (int)x;
  obs[0] = 0.0f;
}

static void corridor_get_state(const void *state, double *s) {
  s[0] = ((const corridor_t *)state)->s;
}

const env_spec_t env_shortcorridor_v0 = {
    .id = "ShortCorridor-v0",
    .obs = {.kind = ENV_BOX, .dim = 1, .low = {0.0f}, .high = {1.0f}},
    .act = {.kind = ENV_DISCRETE, .n = 2, .dim = 1, .low = {0}, .high = {0}},
    .max_episode_steps = 1000,
    .reward_threshold = -11.6, /* v*(start) */
    .reward_low = -1.0f,
    .reward_high = -1.0f,
    .n_state = 1,
    .state_size = sizeof(corridor_t),
    .reset = corridor_reset,
    .step = corridor_step,
    .set_state = corridor_set_state,
    .get_state = corridor_get_state,
};
