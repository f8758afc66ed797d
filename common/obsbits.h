/* obsbits: binary observations (MinAtar's 10x10xC grids of 0/1) as packed bits, the "bits"
 * observation encoding of proto/README.md. n floats become ceil(n / 8) bytes; element i is bit
 * i % 8 of byte i / 8, least significant bit first; the unused high bits of the last byte are 0.
 * Pure functions over caller buffers; any thread. */
#ifndef RLSERVE_OBSBITS_H
#define RLSERVE_OBSBITS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes that n elements pack into: ceil(n / 8). */
static inline size_t obsbits_bytes(size_t n) { return (n + 7) / 8; }

/* Packs n floats, each exactly 0 or 1 (-0 counts as 0), into obsbits_bytes(n) bytes of out.
 * Returns 0, or -1 with a message naming the first element that is neither (out is then
 * unspecified). */
int obsbits_pack(const float *x, size_t n, uint8_t *out, char *err, size_t errlen);

/* Unpacks n elements from obsbits_bytes(n) bytes into 0.0f / 1.0f floats. */
void obsbits_unpack(const uint8_t *in, size_t n, float *out);

/* 1 when the padding bits of the last byte (beyond element n - 1) are 0, as obsbits_pack
 * writes them; a decoder of wire data refuses other encodings of the same observation. */
int obsbits_padding_ok(const uint8_t *in, size_t n);

#endif
