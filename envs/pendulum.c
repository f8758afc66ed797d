/* Pendulum-v1, as Gymnasium's pendulum.py: float64 state (theta not wrapped), reward from the
 * state before the update and the clipped torque, semi-implicit Euler, never terminates. */
#include <math.h>

#include "env.h"
#include "numerics.h"

typedef struct pendulum {
  double th, thdot;
} pendulum_t;

static const double max_speed = 8.0, max_torque = 2.0, dt = 0.05, g = 10.0, m = 1.0, l = 1.0;

static void observe(const pendulum_t *p, float *obs) {
  obs[0] = (float)cos(p->th);
  obs[1] = (float)sin(p->th);
  obs[2] = (float)p->thdot;
}

static void pd_reset(void *state, rng_t *rng, float *obs) {
  pendulum_t *p = state;
  p->th = rng_range(rng, -M_PI, M_PI);
  p->thdot = rng_range(rng, -1.0, 1.0);
  observe(p, obs);
}

static double clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ((x + pi) mod 2pi) - pi with Python's floor-mod (numpy npy_divmod): result in [-pi, pi). */
static double angle_normalize(double x) {
  const double b = 2 * M_PI;
  double mod = fmod(x + M_PI, b);
  if (mod != 0.0) {
    if (mod < 0) mod += b;
  } else {
    mod = 0.0; /* copysign(0, b) */
  }
  return mod - M_PI;
}

static void pd_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  pendulum_t *p = state;
  double th = p->th, thdot = p->thdot;
  double u = clip(action[0], -max_torque, max_torque);
  if (isnan(u)) u = 0.0;
  double an = angle_normalize(th);
  double costs = py_square(an) + 0.1 * py_square(thdot) + 0.001 * py_square(u);
  double newthdot = thdot + (3 * g / (2 * l) * sin(th) + 3.0 / (m * (l * l)) * u) * dt;
  newthdot = clip(newthdot, -max_speed, max_speed);
  double newth = th + newthdot * dt;
  p->th = newth;
  p->thdot = newthdot;
  *reward = (float)-costs;
  *terminated = 0;
  observe(p, obs);
}

static void pd_set_state(void *state, const double *s, float *obs) {
  pendulum_t *p = state;
  p->th = s[0];
  p->thdot = s[1];
  observe(p, obs);
}

static void pd_get_state(const void *state, double *s) {
  const pendulum_t *p = state;
  s[0] = p->th;
  s[1] = p->thdot;
}

const env_spec_t env_pendulum_v1 = {
    .id = "Pendulum-v1",
    .obs = {.kind = ENV_BOX, .dim = 3, .low = {-1.0f, -1.0f, -8.0f}, .high = {1.0f, 1.0f, 8.0f}},
    .act = {.kind = ENV_BOX, .dim = 1, .low = {-2.0f}, .high = {2.0f}},
    .max_episode_steps = 200,
    .reward_threshold = -200.0, /* not registered by Gymnasium; the usual "solved" bar */
    /* -(theta^2 + 0.1 thetadot^2 + 0.001 u^2), theta in [-pi, pi], |thetadot| <= 8, |u| <= 2. */
    .reward_low = -(float)(M_PI * M_PI + 0.1 * 64.0 + 0.001 * 4.0),
    .reward_high = 0.0f,
    .n_state = 2,
    .state_size = sizeof(pendulum_t),
    .reset = pd_reset,
    .step = pd_step,
    .set_state = pd_set_state,
    .get_state = pd_get_state,
};
