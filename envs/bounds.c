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

/* Batches whose observations have up to this many dims are checked against bounds widened
 * once per batch, not once per value (that was a fifth of the learner's ingest time at CartPole
 * size); only a batch that fails goes through the per-value loop, which names the value. */
#define BOUNDS_CACHED_DIMS 256

int env_bounds_check(const env_spec_t *s, double tol, const void *obs, const void *rew,
                     const void *next_obs, size_t n, char *err, size_t errlen) {
  const int d = s->obs.dim;
  if (d <= BOUNDS_CACHED_DIMS) {
    double lo_w[BOUNDS_CACHED_DIMS], hi_w[BOUNDS_CACHED_DIMS];
    for (int i = 0; i < d; i++) {
      lo_w[i] = widened(env_space_low(&s->obs, i), tol, 0);
      hi_w[i] = widened(env_space_high(&s->obs, i), tol, 1);
    }
    double rlo = widened(s->reward_low, tol, 0), rhi = widened(s->reward_high, tol, 1);
    int ok = 1; /* the comparisons fail for NaN, as env_bounds_value_ok's */
    for (size_t r = 0; r < n && ok; r++) {
      for (int i = 0; i < d; i++) {
        double o = f32le_at(obs, r * (size_t)d + i), no = f32le_at(next_obs, r * (size_t)d + i);
        ok &= o >= lo_w[i] && o <= hi_w[i] && no >= lo_w[i] && no <= hi_w[i];
      }
      double rw = f32le_at(rew, r);
      ok &= rw >= rlo && rw <= rhi;
    }
    if (ok) return 0;
  }
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
