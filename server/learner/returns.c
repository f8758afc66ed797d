#include "returns.h"

#include <math.h>
#include <time.h>

void returns_window_add(returns_window_t *w, float r) {
  w->r[w->pos] = r;
  w->pos = (w->pos + 1) % LEARNER_RETURNS;
  if (w->n < LEARNER_RETURNS) w->n++;
  w->total++;
}

double returns_window_mean(const returns_window_t *w) {
  if (w->n == 0) return NAN;
  double s = 0;
  for (int i = 0; i < w->n; i++) s += w->r[i];
  return s / w->n;
}

double learner_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
