/* returns: the moving window of episode returns and lengths (training progress, per worker and
 * per run)
 * and the learner's monotonic clock: small utilities the net, trainer and status code share
 * without calling back into learner.c. Not thread-safe: each window has one owner. */
#ifndef RLSERVE_RETURNS_H
#define RLSERVE_RETURNS_H

#include <stdint.h>

#define LEARNER_RETURNS 100 /* training returns (or lengths) kept for the moving mean */

/* The mean of the last LEARNER_RETURNS episode returns (or lengths: float holds an episode
 * length exactly up to 2^24 steps). */
typedef struct returns_window {
  float r[LEARNER_RETURNS];
  int n, pos;
  uint64_t total;
} returns_window_t;

void returns_window_add(returns_window_t *w, float r);
double returns_window_mean(const returns_window_t *w); /* NAN when empty */

double learner_now(void); /* monotonic seconds */

#endif
