/* MountainCarContinuous-v0, as Gymnasium's continuous_mountain_car.py under numpy 1.x: the
 * arithmetic of a step is float64, the state is stored as float32 after every step, the force
 * uses the action clipped to [-1, 1] while the reward penalty uses the unclipped action. */
#include <math.h>

#include "env.h"
#include "numerics.h"

typedef struct mountaincar_continuous {
  double pos, vel; /* float32 values after a step; any float64 after set_state */
} mountaincar_continuous_t;

static const double min_action = -1.0, max_action = 1.0, min_position = -1.2, max_position = 0.6,
                    max_speed = 0.07, goal_position = 0.45, goal_velocity = 0.0, power = 0.0015;

static void observe(const mountaincar_continuous_t *m, float *obs) {
  obs[0] = (float)m->pos;
  obs[1] = (float)m->vel;
}

static void mcc_reset(void *state, rng_t *rng, float *obs) {
  mountaincar_continuous_t *m = state;
  m->pos = rng_range(rng, -0.6, -0.4);
  m->vel = 0.0;
  observe(m, obs);
}

static void mcc_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  mountaincar_continuous_t *m = state;
  double a = action[0];
  double position = m->pos, velocity = m->vel;
  double f = fmin(fmax(a, min_action), max_action);
  if (isnan(a)) f = 0.0; /* Python's min/max would pass NaN through; keep the state finite */
  velocity += f * power - 0.0025 * cos(3 * position);
  if (velocity > max_speed) velocity = max_speed;
  if (velocity < -max_speed) velocity = -max_speed;
  position += velocity;
  if (position > max_position) position = max_position;
  if (position < min_position) position = min_position;
  if (position == min_position && velocity < 0) velocity = 0.0;
  int done = position >= goal_position && velocity >= goal_velocity;
  double r = done ? 100.0 : 0.0;
  r -= py_square(a) * 0.1;
  m->pos = to_f32(position);
  m->vel = to_f32(velocity);
  *terminated = done;
  *reward = (float)r;
  observe(m, obs);
}

static void mcc_set_state(void *state, const double *s, float *obs) {
  mountaincar_continuous_t *m = state;
  m->pos = s[0];
  m->vel = s[1];
  observe(m, obs);
}

static void mcc_get_state(const void *state, double *s) {
  const mountaincar_continuous_t *m = state;
  s[0] = m->pos;
  s[1] = m->vel;
}

const env_spec_t env_mountaincar_continuous_v0 = {
    .id = "MountainCarContinuous-v0",
    .obs = {.kind = ENV_BOX, .dim = 2, .low = {-1.2f, -0.07f}, .high = {0.6f, 0.07f}},
    .act = {.kind = ENV_BOX, .dim = 1, .low = {-1.0f}, .high = {1.0f}},
    .max_episode_steps = 999,
    .reward_threshold = 90.0,
    /* 100 at the goal less 0.1 a^2, the action within its bounds [-1, 1] (workers clip it). */
    .reward_low = -0.1f,
    .reward_high = 100.0f,
    .n_state = 2,
    .state_size = sizeof(mountaincar_continuous_t),
    .reset = mcc_reset,
    .step = mcc_step,
    .set_state = mcc_set_state,
    .get_state = mcc_get_state,
};
