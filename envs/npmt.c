/* npmt: numpy 1.24 legacy RandomState, read from numpy's mt19937.c (init_genrand, the
 * in-place regeneration), distributions.c (random_standard_uniform as 53-bit doubles) and
 * _bounded_integers (the legacy masked method of randint). */
#include "npmt.h"

#include <string.h>

#define NPMT_M 397
#define MATRIX_A 0x9908b0dfU
#define UPPER 0x80000000U
#define LOWER 0x7fffffffU

void npmt_seed(npmt_t *m, uint32_t seed) {
  m->key[0] = seed;
  for (int i = 1; i < NPMT_N; i++)
    m->key[i] = 1812433253U * (m->key[i - 1] ^ (m->key[i - 1] >> 30)) + (uint32_t)i;
  m->pos = NPMT_N;
}

/* Regenerates all 624 words in index order, each from already-updated neighbours. */
void npmt_regen(npmt_t *m) {
  uint32_t *k = m->key;
  int i = 0;
  for (; i < NPMT_N - NPMT_M; i++) {
    uint32_t y = (k[i] & UPPER) | (k[i + 1] & LOWER);
    k[i] = k[i + NPMT_M] ^ (y >> 1) ^ (-(y & 1U) & MATRIX_A);
  }
  for (; i < NPMT_N - 1; i++) {
    uint32_t y = (k[i] & UPPER) | (k[i + 1] & LOWER);
    k[i] = k[i + NPMT_M - NPMT_N] ^ (y >> 1) ^ (-(y & 1U) & MATRIX_A);
  }
  uint32_t y = (k[NPMT_N - 1] & UPPER) | (k[0] & LOWER);
  k[NPMT_N - 1] = k[NPMT_M - 1] ^ (y >> 1) ^ (-(y & 1U) & MATRIX_A);
  m->pos = 0;
}

static double uniform53(npmt_t *m) {
  uint32_t a = npmt_next32(m) >> 5, b = npmt_next32(m) >> 6;
  return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

static int64_t masked(npmt_t *m, int64_t low, int64_t high) {
  uint64_t rng = (uint64_t)(high - 1 - low);
  if (rng == 0) return low;
  uint64_t mask = rng;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t v;
  if (rng <= 0xffffffffU) {
    do v = npmt_next32(m) & mask;
    while (v > rng);
  } else { /* 64-bit ranges take two outputs, high word first (unused by MinAtar) */
    do {
      uint64_t hi = npmt_next32(m);
      v = ((hi << 32) | npmt_next32(m)) & mask;
    } while (v > rng);
  }
  return low + (int64_t)v;
}

static npmt_draw_t *log_entry(npmt_t *m, npmt_call_t call, int size, int64_t low, int64_t high) {
  npmt_log_t *l = m->log;
  if (l->n >= l->cap) {
    l->overflow++;
    return NULL;
  }
  npmt_draw_t *d = &l->d[l->n++];
  memset(d, 0, sizeof *d);
  d->call = call;
  d->size = size;
  d->low = low;
  d->high = high;
  return d;
}

double npmt_rand_logged(npmt_t *m) {
  double v = uniform53(m);
  npmt_draw_t *d = log_entry(m, NPMT_RAND, 0, 0, 0);
  if (d) d->v[0] = v;
  return v;
}

void npmt_rand_n(npmt_t *m, double *out, int n) {
  for (int i = 0; i < n; i++) out[i] = uniform53(m);
  if (m->log) {
    npmt_draw_t *d = log_entry(m, NPMT_RAND, n, 0, 0);
    for (int i = 0; d && i < n && i < NPMT_LOG_VALUES; i++) d->v[i] = out[i];
  }
}

int64_t npmt_randint(npmt_t *m, int64_t low, int64_t high) {
  int64_t v = masked(m, low, high);
  if (m->log) {
    npmt_draw_t *d = log_entry(m, NPMT_RANDINT, 0, low, high);
    if (d) d->v[0] = (double)v;
  }
  return v;
}

void npmt_randint_n(npmt_t *m, int64_t low, int64_t high, int64_t *out, int n) {
  for (int i = 0; i < n; i++) out[i] = masked(m, low, high);
  if (m->log) {
    npmt_draw_t *d = log_entry(m, NPMT_RANDINT, n, low, high);
    for (int i = 0; d && i < n && i < NPMT_LOG_VALUES; i++) d->v[i] = (double)out[i];
  }
}
