/* obsbits: packing loops written so that gcc -O2/-O3 vectorizes them: the validity test is a
 * branch-free OR over the whole input, and each byte is built from its 8 elements in a fixed
 * order. */
#include "obsbits.h"

#include <stdio.h>

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

int obsbits_pack(const float *x, size_t n, uint8_t *out, char *err, size_t errlen) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) bad |= (x[i] != 0.0f) & (x[i] != 1.0f); /* NaN is bad too */
  if (bad) return refuse(x, n, err, errlen);
  const size_t full = n / 8;
  for (size_t b = 0; b < full; b++) {
    const float *p = x + 8 * b;
    unsigned v = 0;
    for (int j = 0; j < 8; j++) v |= (unsigned)(p[j] == 1.0f) << j;
    out[b] = (uint8_t)v;
  }
  if (n % 8) {
    unsigned v = 0;
    for (size_t j = 0; j < n % 8; j++) v |= (unsigned)(x[8 * full + j] == 1.0f) << j;
    out[full] = (uint8_t)v;
  }
  return 0;
}

void obsbits_unpack(const uint8_t *in, size_t n, float *out) {
  const size_t full = n / 8;
  for (size_t b = 0; b < full; b++) {
    const unsigned v = in[b];
    float *p = out + 8 * b;
    for (int j = 0; j < 8; j++) p[j] = (float)((v >> j) & 1u);
  }
  for (size_t j = 0; j < n % 8; j++) out[8 * full + j] = (float)((in[full] >> j) & 1u);
}

int obsbits_padding_ok(const uint8_t *in, size_t n) {
  if (n % 8 == 0) return 1;
  return (in[n / 8] >> (n % 8)) == 0;
}
