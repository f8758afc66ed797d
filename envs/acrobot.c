/* Acrobot-v1, as Gymnasium's acrobot.py ("book" dynamics): one classical RK4 step of
 * dt = 0.2 s with the torque held constant, then angles wrapped into [-pi, pi] and velocities
 * clamped. Expressions keep the Python operation order so float64 results agree bitwise. */
#include <math.h>

#include "env.h"
#include "numerics.h"

typedef struct acrobot {
  double s[4]; /* theta1, theta2, dtheta1, dtheta2 */
} acrobot_t;

static const double dt = 0.2, link_length_1 = 1.0, link_mass_1 = 1.0, link_mass_2 = 1.0,
                    link_com_pos_1 = 0.5, link_com_pos_2 = 0.5, link_moi = 1.0, g = 9.8;
#define MAX_VEL_1 (4 * M_PI)
#define MAX_VEL_2 (9 * M_PI)
static const double avail_torque[3] = {-1.0, 0.0, +1.0};

static void observe(const acrobot_t *a, float *obs) {
  obs[0] = (float)cos(a->s[0]);
  obs[1] = (float)sin(a->s[0]);
  obs[2] = (float)cos(a->s[1]);
  obs[3] = (float)sin(a->s[1]);
  obs[4] = (float)a->s[2];
  obs[5] = (float)a->s[3];
}

static void ac_reset(void *state, rng_t *rng, float *obs) {
  acrobot_t *a = state;
  /* Gymnasium draws in float64 and stores the reset state as float32. */
  for (int i = 0; i < 4; i++) a->s[i] = to_f32(rng_range(rng, -0.1, 0.1));
  observe(a, obs);
}

/* Time derivative of (theta1, theta2, dtheta1, dtheta2) under torque tau ("book" variant). */
static void dsdt(const double *s, double tau, double *ds) {
  const double m1 = link_mass_1, m2 = link_mass_2, l1 = link_length_1, lc1 = link_com_pos_1,
               lc2 = link_com_pos_2, I1 = link_moi, I2 = link_moi;
  double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  double d1 =
      m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * cos(theta2)) + I1 + I2;
  double d2 = m2 * ((lc2 * lc2) + l1 * lc2 * cos(theta2)) + I2;
  double phi2 = m2 * lc2 * g * cos(theta1 + theta2 - M_PI / 2.0);
  double phi1 = -m2 * l1 * lc2 * py_square(dtheta2) * sin(theta2) -
                2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2) +
                (m1 * lc1 + m2 * l1) * g * cos(theta1 - M_PI / 2) + phi2;
  double ddtheta2 =
      (tau + d2 / d1 * phi1 - m2 * l1 * lc2 * py_square(dtheta1) * sin(theta2) - phi2) /
      (m2 * (lc2 * lc2) + I2 - py_square(d2) / d1);
  double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  ds[0] = dtheta1;
  ds[1] = dtheta2;
  ds[2] = ddtheta1;
  ds[3] = ddtheta2;
}

static double wrap(double x, double lo, double hi) {
  double diff = hi - lo;
  while (x > hi) x = x - diff;
  while (x < lo) x = x + diff;
  return x;
}

static double bound(double x, double lo, double hi) { return fmin(fmax(x, lo), hi); }

static int is_terminal(const acrobot_t *a) { return -cos(a->s[0]) - cos(a->s[1] + a->s[0]) > 1.0; }

static void ac_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  acrobot_t *a = state;
  double tau = avail_torque[env_action_index(action, 3)];
  /* rk4(derivs, y0, [0, dt]) over the 5-vector (state, torque); the torque's derivative is
   * 0, so its component stays tau exactly and is not carried. */
  const double h = dt - 0.0, h2 = h / 2.0;
  double y0[4], k1[4], k2[4], k3[4], k4[4], y[4];
  for (int i = 0; i < 4; i++) y0[i] = a->s[i];
  dsdt(y0, tau, k1);
  for (int i = 0; i < 4; i++) y[i] = y0[i] + h2 * k1[i];
  dsdt(y, tau, k2);
  for (int i = 0; i < 4; i++) y[i] = y0[i] + h2 * k2[i];
  dsdt(y, tau, k3);
  for (int i = 0; i < 4; i++) y[i] = y0[i] + h * k3[i];
  dsdt(y, tau, k4);
  double ns[4];
  for (int i = 0; i < 4; i++) ns[i] = y0[i] + h / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  a->s[0] = wrap(ns[0], -M_PI, M_PI);
  a->s[1] = wrap(ns[1], -M_PI, M_PI);
  a->s[2] = bound(ns[2], -MAX_VEL_1, MAX_VEL_1);
  a->s[3] = bound(ns[3], -MAX_VEL_2, MAX_VEL_2);
  int done = is_terminal(a);
  *terminated = done;
  *reward = done ? 0.0f : -1.0f;
  observe(a, obs);
}

static void ac_set_state(void *state, const double *s, float *obs) {
  acrobot_t *a = state;
  for (int i = 0; i < 4; i++) a->s[i] = s[i];
  observe(a, obs);
}

static void ac_get_state(const void *state, double *s) {
  const acrobot_t *a = state;
  for (int i = 0; i < 4; i++) s[i] = a->s[i];
}

const env_spec_t env_acrobot_v1 = {
    .id = "Acrobot-v1",
    .obs = {.kind = ENV_BOX,
            .dim = 6,
            .low = {-1.0f, -1.0f, -1.0f, -1.0f, -(float)MAX_VEL_1, -(float)MAX_VEL_2},
            .high = {1.0f, 1.0f, 1.0f, 1.0f, (float)MAX_VEL_1, (float)MAX_VEL_2}},
    .act = {.kind = ENV_DISCRETE, .n = 3, .dim = 1, .low = {0}, .high = {2}},
    .max_episode_steps = 500,
    .reward_threshold = -100.0,
    .reward_low = -1.0f,
    .reward_high = 0.0f,
    .n_state = 4,
    .state_size = sizeof(acrobot_t),
    .reset = ac_reset,
    .step = ac_step,
    .set_state = ac_set_state,
    .get_state = ac_get_state,
};
