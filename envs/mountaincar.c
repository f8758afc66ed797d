/* MountainCar-v0, as Gymnasium's mountain_car.py: float64 state (Python floats), math.cos,
 * velocity first then position, inelastic left wall, -1 reward on every step. */
#include <math.h>

#include "env.h"

typedef struct mountaincar {
  double pos, vel;
} mountaincar_t;

static const double min_position = -1.2, max_position = 0.6, max_speed = 0.07, goal_position = 0.5,
                    goal_velocity = 0.0, force = 0.001, gravity = 0.0025;

static void observe(const mountaincar_t *m, float *obs) {
  obs[0] = (float)m->pos;
  obs[1] = (float)m->vel;
}

static void mc_reset(void *state, rng_t *rng, float *obs) {
  mountaincar_t *m = state;
  m->pos = rng_range(rng, -0.6, -0.4);
  m->vel = 0.0;
  observe(m, obs);
}

static double clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static void mc_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  mountaincar_t *m = state;
  int a = env_action_index(action, 3);
  double position = m->pos, velocity = m->vel;
  /* Python: velocity += (action - 1) * force + math.cos(3 * position) * (-gravity) */
  velocity += (a - 1) * force + cos(3 * position) * (-gravity);
  velocity = clip(velocity, -max_speed, max_speed);
  position += velocity;
  position = clip(position, min_position, max_position);
  if (position == min_position && velocity < 0) velocity = 0.0;
  m->pos = position;
  m->vel = velocity;
  *terminated = position >= goal_position && velocity >= goal_velocity;
  *reward = -1.0f;
  observe(m, obs);
}

static void mc_set_state(void *state, const double *s, float *obs) {
  mountaincar_t *m = state;
  m->pos = s[0];
  m->vel = s[1];
  observe(m, obs);
}

static void mc_get_state(const void *state, double *s) {
  const mountaincar_t *m = state;
  s[0] = m->pos;
  s[1] = m->vel;
}

const env_spec_t env_mountaincar_v0 = {
    .id = "MountainCar-v0",
    .obs = {.kind = ENV_BOX, .dim = 2, .low = {-1.2f, -0.07f}, .high = {0.6f, 0.07f}},
    .act = {.kind = ENV_DISCRETE, .n = 3, .dim = 1, .low = {0}, .high = {2}},
    .max_episode_steps = 200,
    .reward_threshold = -110.0,
    .reward_low = -1.0f,
    .reward_high = -1.0f,
    .n_state = 2,
    .state_size = sizeof(mountaincar_t),
    .reset = mc_reset,
    .step = mc_step,
    .set_state = mc_set_state,
    .get_state = mc_get_state,
};
