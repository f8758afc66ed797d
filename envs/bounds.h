/* bounds: whether transitions lie within an env's declared spaces. The learner checks every
 * batch at ingest, so a worker (even one holding the token) cannot put an observation or a
 * reward the env could never produce into replay. A value v passes a bound [lo, hi] with
 * tolerance tol when lo - tol * max(1, |lo|) <= v <= hi + tol * max(1, |hi|); infinite bounds
 * pass every finite value (non-finite values are refused earlier, by the batch decoder).
 * Pure functions; any thread. */
#ifndef RLSERVE_BOUNDS_H
#define RLSERVE_BOUNDS_H

#include <stddef.h>

#include "env.h"

/* 1 when v lies within [lo, hi] widened by the tolerance, else 0 (NaN never passes). */
int env_bounds_value_ok(float v, float lo, float hi, double tol);

/* Checks n transitions: obs and next_obs n x spec->obs.dim and rew n little-endian float32
 * of any alignment (as a decoded batch holds them, common/tbatch.h). 0, or -1 with a message
 * naming the row, the field, the value and the bounds. */
int env_bounds_check(const env_spec_t *spec, double tol, const void *obs, const void *rew,
                     const void *next_obs, size_t n, char *err, size_t errlen);

#endif
