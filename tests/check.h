/* check: the tiny assert header of the test programs. A failed check prints where,
 * what and the values it saw, and the program exits 1 at the end of main. A part that cannot
 * run here (CHECK_SKIP: a missing component) makes the program exit 77, which ctest reports as
 * skipped (SKIP_RETURN_CODE, tests/CMakeLists.txt), never as passed; under CI=true or as root
 * every component must be there, so a skip fails the program. */
#ifndef RLSERVE_CHECK_H
#define RLSERVE_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures = 0;
static int check_skips = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  do {                                                                                             \
    double check_a_ = (double)(a), check_b_ = (double)(b);                                         \
    if (!(fabs(check_a_ - check_b_) <= (tol))) {                                                   \
      fprintf(stderr, "%s:%d: %s = %.10g, expected %s = %.10g (tol %g)\n", __FILE__, __LINE__, #a, \
              check_a_, #b, check_b_, (double)(tol));                                              \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

static inline int check_skip_is_fatal(void) {
  const char *ci = getenv("CI");
  return (ci && strcmp(ci, "true") == 0) || geteuid() == 0;
}

#define CHECK_SKIP(...)                                                                  \
  do {                                                                                   \
    printf("SKIP ");                                                                     \
    printf(__VA_ARGS__);                                                                 \
    printf("\n");                                                                        \
    if (check_skip_is_fatal()) {                                                         \
      fprintf(stderr, "%s:%d: a skip is a failure under CI=true or as root\n", __FILE__, \
              __LINE__);                                                                 \
      check_failures++;                                                                  \
    } else {                                                                             \
      check_skips++;                                                                     \
    }                                                                                    \
  } while (0)

#define CHECK_DONE()                                                                 \
  do {                                                                               \
    if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures);     \
    if (!check_failures && check_skips) printf("%d part(s) skipped\n", check_skips); \
    return check_failures ? 1 : check_skips ? 77 : 0;                                \
  } while (0)

#endif
