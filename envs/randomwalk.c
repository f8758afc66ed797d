/* RandomWalk1000-v0: the 1000-state random walk of Sutton & Barto, Example 9.1. States 1..1000,
 * start 500; each step jumps uniformly to one of the 100 states on the left or the 100 on the
 * right. A jump past an end terminates there: reward -1 past the left end (observation 0), +1
 * past the right end (observation 1001), 0 otherwise. The policy is fixed: one action. */
#include <stdlib.h>

#include "env.h"

typedef struct randomwalk {
  int s;     /* 1..N, or 0 / N + 1 after termination */
  rng_t rng; /* the step's randomness, seeded from the env's stream at reset */
} randomwalk_t;

static void rw_reset(void *state, rng_t *rng, float *obs) {
  randomwalk_t *w = state;
  rng_seed(&w->rng, rng_u64(rng));
  w->s = ENV_RANDOMWALK_N / 2;
  obs[0] = (float)w->s;
}

static void rw_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  randomwalk_t *w = state;
  int d = (int)rng_below(&w->rng, 2 * ENV_RANDOMWALK_JUMP); /* 0..199 */
  int s = w->s + (d < ENV_RANDOMWALK_JUMP ? d - ENV_RANDOMWALK_JUMP : d - ENV_RANDOMWALK_JUMP + 1);
  *reward = 0.0f;
  *terminated = 0;
  if (s < 1) {
    s = 0;
    *reward = -1.0f;
    *terminated = 1;
  } else if (s > ENV_RANDOMWALK_N) {
    s = ENV_RANDOMWALK_N + 1;
    *reward = 1.0f;
    *terminated = 1;
  }
  w->s = s;
  obs[0] = (float)s;
}

static void rw_set_state(void *state, const double *s, float *obs) {
  randomwalk_t *w = state;
  double x = s[0];
  w->s = x < 0 ? 0 : x > ENV_RANDOMWALK_N + 1 ? ENV_RANDOMWALK_N + 1 : (int)x;
  obs[0] = (float)w->s;
}

static void rw_get_state(const void *state, double *s) {
  const randomwalk_t *w = state;
  s[0] = w->s;
}

int env_randomwalk_true_values(double *v, int n_states) {
  if (n_states < 1) return -1;
  const int n = n_states, jump = ENV_RANDOMWALK_JUMP;
  const double p = 1.0 / (2 * jump);
  for (int s = 0; s <= n + 1; s++) v[s] = 0.0;
  int sweeps = 0;
  double delta;
  do {
    delta = 0.0;
    for (int s = 1; s <= n; s++) {
      double sum = 0.0;
      for (int d = -jump; d <= jump; d++) {
        if (d == 0) continue;
        int t = s + d;
        if (t < 1)
          sum -= 1.0; /* terminal: reward -1, value 0 */
        else if (t > n)
          sum += 1.0;
        else
          sum += v[t];
      }
      double nv = p * sum;
      double change = nv > v[s] ? nv - v[s] : v[s] - nv;
      if (change > delta) delta = change;
      v[s] = nv;
    }
    sweeps++;
  } while (delta >= 1e-12);
  return sweeps;
}

const env_spec_t env_randomwalk1000_v0 = {
    .id = "RandomWalk1000-v0",
    .obs = {.kind = ENV_BOX, .dim = 1, .low = {0.0f}, .high = {(float)(ENV_RANDOMWALK_N + 1)}},
    .act = {.kind = ENV_DISCRETE, .n = 1, .dim = 1, .low = {0}, .high = {0}},
    .max_episode_steps = 0,
    .reward_threshold = 0.0, /* a prediction task: nothing to solve */
    .reward_low = -1.0f,
    .reward_high = 1.0f,
    .n_state = 1,
    .state_size = sizeof(randomwalk_t),
    .reset = rw_reset,
    .step = rw_step,
    .set_state = rw_set_state,
    .get_state = rw_get_state,
};
