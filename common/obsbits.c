/* obsbits: packing with SSE2 where the compiler targets it (every x86-64): a compare of 4
 * floats with 1.0 gives 4 bits through movemask, two of them make a byte; elsewhere a portable
 * loop. Unpacking copies 8 floats per byte from a 256-entry table (8 KiB, built once, read-only
 * afterwards). The validity test is a branch-free OR over the input, which gcc vectorizes. */
#include "obsbits.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int refuse(const float *x, size_t n, char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++)
    if (!(x[i] == 0.0f || x[i] == 1.0f)) {
      if (err && errlen)
        snprintf(err, errlen,
                 "bits encoding: observation element %zu is %.9g, not 0 or 1 (element %zu of %zu)",
                 i, (double)x[i], i, n);
      return -1;
    }
  return -1;
}

static unsigned byte_of(const float *p, size_t k) { /* k <= 8 elements */
  unsigned v = 0;
  for (size_t j = 0; j < k; j++) v |= (unsigned)(p[j] == 1.0f) << j;
  return v;
}

int obsbits_pack(const float *x, size_t n, uint8_t *out, char *err, size_t errlen) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) bad |= (x[i] != 0.0f) & (x[i] != 1.0f); /* NaN is bad too */
  if (bad) return refuse(x, n, err, errlen);
  const size_t full = n / 8;
#ifdef __SSE2__
  const __m128 one = _mm_set1_ps(1.0f);
  for (size_t b = 0; b < full; b++) {
    const float *p = x + 8 * b;
    int lo = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(p), one));
    int hi = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(p + 4), one));
    out[b] = (uint8_t)(lo | hi << 4);
  }
#else
  for (size_t b = 0; b < full; b++) out[b] = (uint8_t)byte_of(x + 8 * b, 8);
#endif
  if (n % 8) out[full] = (uint8_t)byte_of(x + 8 * full, n % 8);
  return 0;
}

static float table[256][8];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
  for (int v = 0; v < 256; v++)
    for (int j = 0; j < 8; j++) table[v][j] = (float)((v >> j) & 1);
}

void obsbits_unpack(const uint8_t *in, size_t n, float *out) {
  pthread_once(&table_once, build_table);
  const size_t full = n / 8;
  for (size_t b = 0; b < full; b++) memcpy(out + 8 * b, table[in[b]], sizeof table[0]);
  for (size_t j = 0; j < n % 8; j++) out[8 * full + j] = (float)((in[full] >> j) & 1u);
}

int obsbits_padding_ok(const uint8_t *in, size_t n) {
  if (n % 8 == 0) return 1;
  return (in[n / 8] >> (n % 8)) == 0;
}
