/* numerics: float64 arithmetic as Gymnasium's Python/numpy code does it, where a C compiler
 * would otherwise be cleverer (private to the env implementations). */
#ifndef RLSERVE_NUMERICS_H
#define RLSERVE_NUMERICS_H

#include <math.h>

/* x**2 as Python/numpy compute it for a float64: libm pow(x, 2.0), which is not always the
 * correctly rounded x*x (glibc's pow errs up to ~0.52 ulp). The volatile exponent keeps the
 * compiler from rewriting pow(x, 2.0) into x * x. */
static inline double py_square(double x) {
  volatile double two = 2.0;
  return pow(x, two);
}

/* Rounds a float64 to float32 and back. Through a volatile because GCC 12's SLP vectorizer
 * (-O2, x86-64) drops the (double)(float)x round trip when it merges two adjacent stores. */
static inline double to_f32(double x) {
  volatile float f = (float)x;
  return f;
}

#endif
