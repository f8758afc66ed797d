/* CartPole-v1, as Gymnasium's cartpole.py (default Euler integrator): float64 state, float32
 * observations, +1 reward on every step. The expressions keep Gymnasium's operation order so
 * the float64 results agree to the last bit. */
#include <math.h>

#include "env.h"

enum { X, X_DOT, THETA, THETA_DOT };

typedef struct cartpole {
  double s[4];
  int terminated; /* an earlier step terminated: later steps give reward 0, as Gymnasium */
} cartpole_t;

static const double gravity = 9.8, masscart = 1.0, masspole = 0.1, length = 0.5, force_mag = 10.0,
                    tau = 0.02, x_threshold = 2.4;
#define THETA_THRESHOLD (12.0 * 2.0 * M_PI / 360.0)

static void observe(const cartpole_t *c, float *obs) {
  for (int i = 0; i < 4; i++) obs[i] = (float)c->s[i];
}

static void cp_reset(void *state, rng_t *rng, float *obs) {
  cartpole_t *c = state;
  for (int i = 0; i < 4; i++) c->s[i] = rng_range(rng, -0.05, 0.05);
  c->terminated = 0;
  observe(c, obs);
}

static void cp_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  cartpole_t *c = state;
  const double total_mass = masspole + masscart, polemass_length = masspole * length;
  double x = c->s[X], x_dot = c->s[X_DOT], theta = c->s[THETA], theta_dot = c->s[THETA_DOT];
  double force = env_action_index(action, 2) == 1 ? force_mag : -force_mag;
  double costheta = cos(theta), sintheta = sin(theta);
  double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
  double thetaacc = (gravity * sintheta - costheta * temp) /
                    (length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass));
  double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
  x = x + tau * x_dot;
  x_dot = x_dot + tau * xacc;
  theta = theta + tau * theta_dot;
  theta_dot = theta_dot + tau * thetaacc;
  c->s[X] = x;
  c->s[X_DOT] = x_dot;
  c->s[THETA] = theta;
  c->s[THETA_DOT] = theta_dot;
  int done =
      x < -x_threshold || x > x_threshold || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
  *reward = c->terminated ? 0.0f : 1.0f;
  if (done) c->terminated = 1;
  *terminated = done;
  observe(c, obs);
}

static void cp_set_state(void *state, const double *s, float *obs) {
  cartpole_t *c = state;
  for (int i = 0; i < 4; i++) c->s[i] = s[i];
  c->terminated = 0;
  observe(c, obs);
}

static void cp_get_state(const void *state, double *s) {
  const cartpole_t *c = state;
  for (int i = 0; i < 4; i++) s[i] = c->s[i];
}

const env_spec_t env_cartpole_v1 = {
    .id = "CartPole-v1",
    .obs = {.kind = ENV_BOX,
            .dim = 4,
            .low = {-4.8f, -INFINITY, -(float)(2 * THETA_THRESHOLD), -INFINITY},
            .high = {4.8f, INFINITY, (float)(2 * THETA_THRESHOLD), INFINITY}},
    .act = {.kind = ENV_DISCRETE, .n = 2, .dim = 1, .low = {0}, .high = {1}},
    .max_episode_steps = 500,
    .reward_threshold = 475.0,
    .reward_low = 0.0f,
    .reward_high = 1.0f,
    .n_state = 4,
    .state_size = sizeof(cartpole_t),
    .reset = cp_reset,
    .step = cp_step,
    .set_state = cp_set_state,
    .get_state = cp_get_state,
};
