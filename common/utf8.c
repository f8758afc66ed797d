/* utf8: see utf8.h. */
#include "utf8.h"

#include <string.h>

/* Bytes of the well-formed sequence at s (RFC 3629, table 3-7 of Unicode), 0 if there is none. */
static size_t seq_len(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0; /* overlong */
    if (c == 0xed) hi = 0x9f; /* surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90; /* overlong */
    if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
  } else
    return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if ((s[k] & 0xc0) != 0x80) return 0;
  return len;
}

size_t utf8_copy(char *dst, size_t n, const char *src) {
  const unsigned char *s = (const unsigned char *)(src ? src : "");
  size_t o = 0;
  while (*s) {
    size_t len = seq_len(s);
    if (o + (len ? len : 1) >= n) break;
    if (len) {
      memcpy(dst + o, s, len);
    } else {
      dst[o] = '?';
      len = 1;
    }
    o += len;
    s += len;
  }
  dst[o] = '\0';
  return o;
}
