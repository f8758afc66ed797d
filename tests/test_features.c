/* test_features: state aggregation, polynomial, Fourier and tile-coding features. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "linfeat.h"

static void test_aggregation(void) {
  linfeat_t f;
  char err[256];
  double lo = 1.0, hi = 1001.0; /* random walk states 1..1000, 10 groups of 100 */
  CHECK(linfeat_init(&f, LINFEAT_AGGREGATION, 1, &lo, &hi, 0, 10, 0, 0, err, sizeof err) == 0, "%s",
        err);
  CHECK(f.size == 10 && f.nnz == 1, "size %d nnz %d", f.size, f.nnz);
  int idx[4];
  double val[4];
  const int states[] = {1, 100, 101, 500, 901, 1000};
  const int groups[] = {0, 0, 1, 4, 9, 9};
  for (int i = 0; i < 6; i++) {
    float obs = (float)states[i];
    int n = linfeat_eval(&f, &obs, idx, val);
    CHECK(n == 1 && idx[0] == groups[i] && val[0] == 1.0, "state %d: n %d group %d, expected %d",
          states[i], n, idx[0], groups[i]);
  }
  /* 2-D: 3 x 4 grid cells, row-major with dimension 0 fastest */
  double lo2[2] = {0, 0}, hi2[2] = {3, 4};
  CHECK(linfeat_init(&f, LINFEAT_AGGREGATION, 2, lo2, hi2, 0, 4, 0, 0, err, sizeof err) == 0, "%s",
        err);
  float o2[2] = {2.9f, 3.9f};
  linfeat_eval(&f, o2, idx, val);
  CHECK(idx[0] == 15, "corner cell %d, expected 15", idx[0]);
  CHECK(linfeat_init(&f, LINFEAT_AGGREGATION, 1, &hi, &lo, 0, 10, 0, 0, err, sizeof err) < 0,
        "low > high accepted");
  CHECK(strstr(err, "bounds") != NULL, "error '%s' does not name the bounds", err);
}

static void test_bases(void) {
  linfeat_t f;
  char err[256];
  double lo[2] = {0, 0}, hi[2] = {1, 2};
  int idx[64];
  double val[64];
  CHECK(linfeat_init(&f, LINFEAT_POLYNOMIAL, 2, lo, hi, 2, 0, 0, 0, err, sizeof err) == 0, "%s",
        err);
  CHECK(f.size == 9 && f.nnz == 9, "polynomial order 2 in 2-D: size %d, expected 9", f.size);
  float obs[2] = {0.5f, 1.0f}; /* normalized (0.5, 0.5) */
  int n = linfeat_eval(&f, obs, idx, val);
  CHECK(n == 9, "n %d", n);
  /* c = (c0, c1), c0 fastest: x0^c0 x1^c1 */
  CHECK_NEAR(val[0], 1.0, 1e-12);
  CHECK_NEAR(val[1], 0.5, 1e-12);
  CHECK_NEAR(val[2], 0.25, 1e-12);
  CHECK_NEAR(val[4], 0.25, 1e-12);
  CHECK_NEAR(val[8], 0.0625, 1e-12);

  CHECK(linfeat_init(&f, LINFEAT_FOURIER, 2, lo, hi, 3, 0, 0, 0, err, sizeof err) == 0, "%s", err);
  CHECK(f.size == 16, "fourier order 3 in 2-D: size %d, expected 16", f.size);
  float o[2] = {0.25f, 2.0f}; /* normalized (0.25, 1) */
  n = linfeat_eval(&f, o, idx, val);
  for (int i = 0; i < n; i++) {
    int c0 = i % 4, c1 = i / 4;
    CHECK_NEAR(val[i], cos(M_PI * (c0 * 0.25 + c1 * 1.0)), 1e-12);
  }
  /* out-of-range observations are clamped to the bounds */
  float far[2] = {-5.0f, 9.0f};
  linfeat_eval(&f, far, idx, val);
  CHECK_NEAR(val[1], 1.0, 1e-12);  /* c = (1, 0): cos(0) */
  CHECK_NEAR(val[4], -1.0, 1e-12); /* c = (0, 1): cos(pi) */
}

/* Number of tiles two observations share. */
static int shared(const linfeat_t *f, const float *a, const float *b) {
  int ia[64], ib[64];
  double v[64];
  int n = linfeat_eval(f, a, ia, v);
  linfeat_eval(f, b, ib, v);
  int s = 0;
  for (int i = 0; i < n; i++) s += ia[i] == ib[i];
  return s;
}

static void test_tiles(void) {
  linfeat_t f;
  char err[256];
  double lo = 1.0, hi = 1001.0;
  /* Figure 9.10: 50 tilings of 5 tiles of 200 states, offset by 4 states */
  CHECK(linfeat_init(&f, LINFEAT_TILES, 1, &lo, &hi, 0, 5, 50, 0, err, sizeof err) == 0, "%s", err);
  CHECK(f.size == 300 && f.nnz == 50, "size %d nnz %d, expected 300 50", f.size, f.nnz);
  int idx[64];
  double val[64];
  float s = 500.0f;
  int n = linfeat_eval(&f, &s, idx, val);
  CHECK(n == 50, "n %d", n);
  for (int t = 0; t < n; t++)
    CHECK(idx[t] >= t * 6 && idx[t] < (t + 1) * 6 && val[t] == 1.0,
          "tiling %d: index %d outside its block", t, idx[t]);
  /* generalization falls linearly with distance: states 4k apart share 50 - k tilings */
  for (int k = 0; k <= 50; k += 10) {
    float a = 401.0f, b = 401.0f + 4.0f * k;
    int sh = shared(&f, &a, &b);
    CHECK(sh == 50 - k, "states %g and %g share %d tilings, expected %d", a, b, sh, 50 - k);
  }
  float a = 401.0f, b = 801.0f;
  CHECK(shared(&f, &a, &b) == 0, "states 400 apart share tiles");

  /* 2-D, asymmetric offsets: tiling t is displaced by (t, 3t) / tilings tile widths, so a move
   * along dimension 0 changes different tilings than the same move along dimension 1 */
  double lo2[2] = {0, 0}, hi2[2] = {8, 8};
  CHECK(linfeat_init(&f, LINFEAT_TILES, 2, lo2, hi2, 0, 8, 8, 0, err, sizeof err) == 0, "%s", err);
  CHECK(f.size == 8 * 81, "size %d, expected %d", f.size, 8 * 81);
  float p[2] = {3.01f, 3.01f}, px[2] = {3.01f + 0.25f, 3.01f}, py[2] = {3.01f, 3.01f + 0.25f};
  int ip[8], ix[8], iy[8];
  linfeat_eval(&f, p, ip, val);
  linfeat_eval(&f, px, ix, val);
  linfeat_eval(&f, py, iy, val);
  int diff_pattern = 0;
  for (int t = 0; t < 8; t++) diff_pattern += (ip[t] != ix[t]) != (ip[t] != iy[t]);
  CHECK(diff_pattern > 0, "moves along x and y change the same tilings (symmetric offsets?)");
  for (int t = 0; t < 8; t++)
    CHECK(ip[t] >= 0 && ip[t] < f.size, "index %d outside [0, %d)", ip[t], f.size);

  /* state-action blocks */
  int sa[8];
  int nsa = linfeat_eval_sa(&f, p, 2, 3, sa, val);
  CHECK(nsa == 8 && linfeat_size_sa(&f, 3) == 3 * f.size, "sa size %d", linfeat_size_sa(&f, 3));
  for (int t = 0; t < 8; t++)
    CHECK(sa[t] == ip[t] + 2 * f.size, "sa index %d, expected %d", sa[t], ip[t] + 2 * f.size);

  /* hashing: indices in range, same input same index, actions differ */
  CHECK(linfeat_init(&f, LINFEAT_TILES, 2, lo2, hi2, 0, 8, 8, 4096, err, sizeof err) == 0, "%s",
        err);
  CHECK(f.size == 4096 && linfeat_size_sa(&f, 3) == 4096, "hashed size %d", f.size);
  int h0[8], h1[8], h2[8];
  linfeat_eval_sa(&f, p, 0, 3, h0, val);
  linfeat_eval_sa(&f, p, 0, 3, h1, val);
  linfeat_eval_sa(&f, p, 1, 3, h2, val);
  int same01 = 0, same02 = 0;
  for (int t = 0; t < 8; t++) {
    CHECK(h0[t] >= 0 && h0[t] < 4096, "hashed index %d", h0[t]);
    same01 += h0[t] == h1[t];
    same02 += h0[t] == h2[t];
  }
  CHECK(same01 == 8 && same02 < 2, "hash: same input %d/8 equal, other action %d/8 equal", same01,
        same02);
}

static void test_sparse_ops(void) {
  double w[5] = {1, 2, 3, 4, 5};
  int idx[2] = {1, 3};
  double val[2] = {0.5, 2.0};
  CHECK_NEAR(linfeat_dot(w, idx, val, 2), 9.0, 1e-12);
  linfeat_axpy(w, 2.0, idx, val, 2);
  CHECK_NEAR(w[1], 3.0, 1e-12);
  CHECK_NEAR(w[3], 8.0, 1e-12);
  CHECK(linfeat_kind_parse("fourier") == LINFEAT_FOURIER && linfeat_kind_parse("x") == -1,
        "kind parse");
}

int main(void) {
  test_aggregation();
  test_bases();
  test_tiles();
  test_sparse_ops();
  CHECK_DONE();
}
