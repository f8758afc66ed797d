/* check: the tiny assert header of the test programs. A failed check prints where,
 * what and the values it saw, and the program exits 1 at the end of main. */
#ifndef RLSERVE_CHECK_H
#define RLSERVE_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures = 0;

#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                       \
      fprintf(stderr, "\n");                                              \
      check_failures++;                                                   \
    }                                                                     \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                          \
  do {                                                                                 \
    double check_a_ = (double)(a), check_b_ = (double)(b);                             \
    if (!(fabs(check_a_ - check_b_) <= (tol))) {                                       \
      fprintf(stderr, "%s:%d: %s = %.10g, expected %s = %.10g (tol %g)\n", __FILE__,    \
              __LINE__, #a, check_a_, #b, check_b_, (double)(tol));                    \
      check_failures++;                                                                \
    }                                                                                  \
  } while (0)

#define CHECK_DONE()                                                   \
  do {                                                                 \
    if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures); \
    return check_failures ? 1 : 0;                                     \
  } while (0)

#endif
