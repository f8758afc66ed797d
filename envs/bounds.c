#include "bounds.h"

#include <math.h>
#include <stdio.h>

#include "f32le.h"

static double widened(float bound, double tol, int up) {
  if (isinf(bound)) return bound;
  double b = bound, m = tol * (fabs(b) > 1 ? fabs(b) : 1);
  return up ? b + m : b - m;
}

int env_bounds_value_ok(float v, float lo, float hi, double tol) {
  return (double)v >= widened(lo, tol, 0) && (double)v <= widened(hi, tol, 1);
}

static int refuse(char *err, size_t errlen, const env_spec_t *s, size_t row, const char *what,
                  int i, float v, float lo, float hi, double tol) {
  char idx[16] = "";
  if (i >= 0) snprintf(idx, sizeof idx, "[%d]", i);
  snprintf(err, errlen,
           "transitions: row %zu %s%s = %.9g is outside %s's bounds [%.9g, %.9g] (tolerance %g)",
           row, what, idx, (double)v, s->id, (double)lo, (double)hi, tol);
  return -1;
}

int env_bounds_check(const env_spec_t *s, double tol, const void *obs, const void *rew,
                     const void *next_obs, size_t n, char *err, size_t errlen) {
  const int d = s->obs.dim;
  for (size_t r = 0; r < n; r++) {
    for (int i = 0; i < d; i++) {
      float lo = env_space_low(&s->obs, i), hi = env_space_high(&s->obs, i);
      float o = f32le_at(obs, r * (size_t)d + i), no = f32le_at(next_obs, r * (size_t)d + i);
      if (!env_bounds_value_ok(o, lo, hi, tol))
        return refuse(err, errlen, s, r, "obs", i, o, lo, hi, tol);
      if (!env_bounds_value_ok(no, lo, hi, tol))
        return refuse(err, errlen, s, r, "next_obs", i, no, lo, hi, tol);
    }
    float rw = f32le_at(rew, r);
    if (!env_bounds_value_ok(rw, s->reward_low, s->reward_high, tol))
      return refuse(err, errlen, s, r, "reward", -1, rw, s->reward_low, s->reward_high, tol);
  }
  return 0;
}
