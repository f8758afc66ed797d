/* Checks common/obsbits: the documented bit order on hand-made vectors, round trips for every
 * n from 0 to 1000 (odd sizes, partial last bytes), zero padding, and the refusal of values
 * that are not 0 or 1 with a message naming the element. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "obsbits.h"
#include "rng.h"

static void test_bit_order(void) {
  const float x[10] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t b[2] = {0xff, 0xff};
  char err[128];
  CHECK(obsbits_pack(x, 10, b, err, sizeof err) == 0, "%s", err);
  CHECK(b[0] == 0x01 && b[1] == 0x02, "bytes %02x %02x, expected 01 02 (LSB first)", b[0], b[1]);
  const float y[8] = {0, 1, 1, 0, 0, 0, 0, 1};
  CHECK(obsbits_pack(y, 8, b, err, sizeof err) == 0 && b[0] == 0x86, "byte %02x, expected 86",
        b[0]);
  const float z[3] = {-0.0f, 1, 0};
  CHECK(obsbits_pack(z, 3, b, err, sizeof err) == 0 && b[0] == 0x02, "-0 packs as 0: %02x", b[0]);
  CHECK(obsbits_bytes(0) == 0 && obsbits_bytes(1) == 1 && obsbits_bytes(8) == 1 &&
            obsbits_bytes(9) == 2 && obsbits_bytes(1000) == 125,
        "obsbits_bytes");
}

static void test_round_trips(void) {
  static float x[1001], y[1001];
  static uint8_t b[128];
  rng_t r;
  rng_seed(&r, 5);
  char err[128];
  int bad = 0, pad_bad = 0;
  for (size_t n = 0; n <= 1000; n++) {
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_below(&r, 2);
    memset(b, 0xa5, sizeof b);
    y[n] = 7.0f; /* unpack must not write past n */
    if (obsbits_pack(x, n, b, err, sizeof err)) {
      CHECK(0, "n %zu: %s", n, err);
      continue;
    }
    pad_bad += !obsbits_padding_ok(b, n);
    obsbits_unpack(b, n, y);
    bad += memcmp(x, y, n * sizeof(float)) != 0 || y[n] != 7.0f;
  }
  CHECK(bad == 0, "%d sizes did not round-trip", bad);
  CHECK(pad_bad == 0, "%d sizes left padding bits set", pad_bad);
  uint8_t last = 0x80; /* element 7 of a 5-element observation */
  CHECK(!obsbits_padding_ok(&last, 5) && obsbits_padding_ok(&last, 8), "padding check");
}

static void test_refusals(void) {
  static const float bad_values[] = {0.5f, 2.0f, -1.0f, NAN, INFINITY, 1e-30f};
  float x[20];
  uint8_t b[3];
  for (size_t k = 0; k < sizeof bad_values / sizeof bad_values[0]; k++) {
    for (int i = 0; i < 20; i++) x[i] = (float)(i % 2);
    x[13] = bad_values[k];
    char err[160] = "";
    int rc = obsbits_pack(x, 20, b, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "element 13 ") != NULL,
          "value %g at 13: rc %d, error '%s' (must name element 13)", (double)bad_values[k], rc,
          err);
  }
  x[0] = 0.25f;
  CHECK(obsbits_pack(x, 20, b, NULL, 0) == -1, "a refusal with no error buffer");
}

int main(void) {
  test_bit_order();
  test_round_trips();
  test_refusals();
  CHECK_DONE();
}
