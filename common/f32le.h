/* f32le: reading little-endian float32 arrays of any alignment, as they arrive from the wire
 * (msgpack bins, protobuf bytes). Header-only: the codecs are also built alone for fuzzing. */
#ifndef RLSERVE_F32LE_H
#define RLSERVE_F32LE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Element i (host is little-endian x86_64). */
static inline float f32le_at(const void *p, size_t i) {
  float f;
  memcpy(&f, (const uint8_t *)p + 4 * i, 4);
  return f;
}

/* Index of the first non-finite value among n, or n. Works on the bit pattern (exponent all
 * ones), so it is fast and needs no alignment. */
static inline size_t f32le_first_nonfinite(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, b + 4 * i, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u) return i;
  }
  return n;
}

#endif
