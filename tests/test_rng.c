/* Checks rng: reproducibility per seed, distinct streams, range and moments. */
#include <stdint.h>

#include "check.h"
#include "rng.h"

int main(void) {
  rng_t a, b, c;
  rng_seed(&a, 42);
  rng_seed(&b, 42);
  rng_seed(&c, 43);
  int same = 1, diff = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
    same &= (x == y);
    diff += (x != z);
  }
  CHECK(same, "same seed gave different streams");
  CHECK(diff > 990, "seeds 42 and 43 agreed on %d of 1000 draws", 1000 - diff);
  CHECK(rng_derive(1, 0) != rng_derive(1, 1), "derived seeds collide");
  CHECK(rng_derive(1, 0) != rng_derive(2, 0), "derived seeds ignore the base seed");

  /* Moments of 1e6 draws: uniform mean 1/2, var 1/12; normal mean 0, var 1. */
  const int n = 1000000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0;
  int64_t counts[7] = {0};
  int out_of_range = 0;
  for (int i = 0; i < n; i++) {
    double u = rng_uniform(&a);
    out_of_range += (u < 0.0 || u >= 1.0);
    su += u;
    su2 += u * u;
    double g = rng_normal(&a);
    sn += g;
    sn2 += g * g;
    uint64_t k = rng_below(&a, 7);
    if (k < 7)
      counts[k]++;
    else
      out_of_range++;
  }
  CHECK(out_of_range == 0, "%d draws out of range", out_of_range);
  CHECK_NEAR(su / n, 0.5, 0.002);
  CHECK_NEAR(su2 / n - (su / n) * (su / n), 1.0 / 12, 0.002);
  CHECK_NEAR(sn / n, 0.0, 0.005);
  CHECK_NEAR(sn2 / n, 1.0, 0.01);
  for (int k = 0; k < 7; k++) CHECK_NEAR(counts[k] / (double)n, 1.0 / 7, 0.003);
  for (int i = 0; i < 1000; i++) {
    double r = rng_range(&a, -2.0, 3.0);
    CHECK(r >= -2.0 && r < 3.0, "rng_range gave %g", r);
  }
  CHECK_DONE();
}
