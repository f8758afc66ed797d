/* rng: seedable pseudo-random numbers (xoshiro256**, seeded through splitmix64).
 * One rng_t per thread: the state is plain data owned by the caller, no globals,
 * so any thread may use its own generator without locks. */
#ifndef RLSERVE_RNG_H
#define RLSERVE_RNG_H

#include <stdint.h>

typedef struct rng {
  uint64_t s[4];
} rng_t;

/* Same seed, same stream. Distinct seeds give unrelated streams. */
void rng_seed(rng_t *r, uint64_t seed);
/* A seed for stream `index` of a run seeded with `seed` (workers, envs, threads). */
uint64_t rng_derive(uint64_t seed, uint64_t index);
uint64_t rng_u64(rng_t *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng_t *r);
/* Uniform in [lo, hi). */
double rng_range(rng_t *r, double lo, double hi);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
double rng_normal(rng_t *r);

#endif
