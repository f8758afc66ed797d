/* npmt: numpy's legacy RandomState stream (MT19937 with init_genrand seeding) and the two
 * draws MinAtar uses, so a C game fed the same seed makes exactly the draws the Python game
 * makes (../shared/reference/minatar.md, section 2):
 *   rand()            two 32-bit outputs a, b -> ((a >> 5) * 2^26 + (b >> 6)) / 2^53
 *   randint(lo, hi)   legacy masked rejection over [lo, hi); a one-value range draws nothing
 * An optional log records every call (envcheck compares it with the recorded draws); with no
 * log attached a draw costs one branch more. One stream per env; no globals; any thread. */
#ifndef RLSERVE_NPMT_H
#define RLSERVE_NPMT_H

#include <stdint.h>

#define NPMT_N 624
#define NPMT_LOG_VALUES 8 /* the widest vector draw MinAtar makes: rand(8), randint(1, 6, 8) */

typedef enum { NPMT_RAND = 1, NPMT_RANDINT = 2 } npmt_call_t;

typedef struct npmt_draw {
  npmt_call_t call;
  int size;                  /* 0: a scalar draw (size=None); n: a vector of n values */
  int64_t low, high;         /* randint only: [low, high) */
  double v[NPMT_LOG_VALUES]; /* the values (randint values are exact integers) */
} npmt_draw_t;

typedef struct npmt_log {
  npmt_draw_t *d; /* caller-owned, room for cap entries */
  int n, cap;
  int overflow; /* calls that did not fit (counted, not stored) */
} npmt_log_t;

typedef struct npmt {
  uint32_t key[NPMT_N];
  int pos;
  npmt_log_t *log; /* NULL: no logging; owned by the caller, kept by npmt_seed (zero-init it) */
} npmt_t;

/* RandomState(seed) for seed in [0, 2^32 - 1] (init_genrand). */
void npmt_seed(npmt_t *m, uint32_t seed);
/* Refills the 624 words (the reference's in-place regeneration); npmt_next32 calls it. */
void npmt_regen(npmt_t *m);
/* The next tempered 32-bit output (not logged). Inline: every game step draws at least two. */
static inline uint32_t npmt_next32(npmt_t *m) {
  if (m->pos >= NPMT_N) npmt_regen(m);
  uint32_t y = m->key[m->pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}
/* rand() into the log (npmt.c). */
double npmt_rand_logged(npmt_t *m);
/* rand(): a double in [0, 1) with 53 random bits: ((a >> 5) * 2^26 + (b >> 6)) / 2^53. */
static inline double npmt_rand(npmt_t *m) {
  if (m->log) return npmt_rand_logged(m);
  uint32_t a = npmt_next32(m) >> 5, b = npmt_next32(m) >> 6;
  return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}
/* rand(n): n doubles in order, logged as one call (n <= NPMT_LOG_VALUES for a full log). */
void npmt_rand_n(npmt_t *m, double *out, int n);
/* randint(low, high), high exclusive, high > low (callers guarantee it). */
int64_t npmt_randint(npmt_t *m, int64_t low, int64_t high);
/* randint(low, high, n): n values in order, logged as one call. */
void npmt_randint_n(npmt_t *m, int64_t low, int64_t high, int64_t *out, int n);

#endif
