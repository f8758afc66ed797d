/* libFuzzer target: tbatch_decode with fixed limits (obs_dim 4, discrete, 2 actions, bits
 * allowed). A success must satisfy every documented check (the optional disc and prio keys
 * too); the arrays must lie inside the input; a bits batch has one byte per observation with
 * its 4 padding bits zero. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tbatch.h"

#define EXPECT(c)      \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static int inside(const void *x, size_t n, const uint8_t *p, size_t len) {
  uintptr_t a = (uintptr_t)x, lo = (uintptr_t)p;
  return a >= lo && a - lo <= len && len - (a - lo) >= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const tbatch_limits_t lim = {4, 1, 2, 1024, 1};
  tbatch_t b;
  char err[256];
  err[0] = 0;
  if (tbatch_decode(data, size, &lim, &b, err, sizeof err) != 0) {
    EXPECT(err[0]);
    return 0;
  }
  EXPECT(b.n >= 1 && b.n <= lim.max_n && b.obs_dim == 4 && b.act_dim == 1);
  size_t n = b.n;
  int bits = b.obs_enc == TBATCH_OBS_BITS;
  EXPECT(bits || b.obs_enc == TBATCH_OBS_F32);
  size_t row = bits ? 1 : 16;
  EXPECT(inside(b.obs, n * row, data, size) && inside(b.next_obs, n * row, data, size));
  EXPECT(inside(b.act, n * 4, data, size) && inside(b.rew, n * 4, data, size));
  EXPECT(inside(b.flags, n, data, size));
  for (size_t i = 0; i < n; i++) {
    float f[10] = {0};
    if (bits) {
      EXPECT((((const uint8_t *)b.obs)[i] >> 4) == 0 && (((const uint8_t *)b.next_obs)[i] >> 4) == 0);
    } else {
      memcpy(f, (const uint8_t *)b.obs + 16 * i, 16);
      memcpy(f + 4, (const uint8_t *)b.next_obs + 16 * i, 16);
    }
    memcpy(f + 8, (const uint8_t *)b.act + 4 * i, 4);
    memcpy(f + 9, (const uint8_t *)b.rew + 4 * i, 4);
    for (int k = 0; k < 10; k++) EXPECT(isfinite(f[k]));
    EXPECT(f[8] == 0.0f || f[8] == 1.0f);
    EXPECT((b.flags[i] & ~3u) == 0);
  }
  /* Optional keys: "disc" (n floats in [0, 1]) and "prio" (n finite floats >= 0). */
  if (b.disc) EXPECT(inside(b.disc, n * 4, data, size));
  if (b.prio) EXPECT(inside(b.prio, n * 4, data, size));
  for (size_t i = 0; i < n; i++) {
    float g, q;
    if (b.disc) {
      memcpy(&g, (const uint8_t *)b.disc + 4 * i, 4);
      EXPECT(g >= 0.0f && g <= 1.0f);
    }
    if (b.prio) {
      memcpy(&q, (const uint8_t *)b.prio + 4 * i, 4);
      EXPECT(isfinite(q) && q >= 0.0f);
    }
  }
  return 0;
}
