/* Checks nn's layers beyond the MLP: net spec parsing and its errors, layouts and parameter
 * counts (MinAtar's conv:16x3x3,fc:128), conv forward against a hand-computed vector and the
 * naive loops of nn_ref.h, the dueling identity mean_a Q = V, and backward of conv, flatten
 * and dueling nets (dL/dparams and dL/dx) against central finite differences of the
 * double-precision reference; the backward of the leading rows of a stacked forward
 * (nn_ws_keep_rows, double DQN's one online forward of s and s') against a forward of those
 * rows alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn.h"
#include "nn_ref.h"
#include "rng.h"

static int build(nn_layout_t *l, const char *spec, int n_in, const int *shape, int n_out,
                 nn_act_t act, int dueling, char *err, size_t errlen) {
  nn_spec_t s;
  if (nn_spec_parse(&s, spec, err, errlen) != 0) return -1;
  return nn_layout_build(l, &s, n_in, shape, n_out, act, NN_IDENTITY, dueling, err, errlen);
}

/* ---- parsing --------------------------------------------------------------------------- */

static void expect_parse_error(const char *text, const char *want) {
  nn_spec_t s;
  char err[512] = "";
  CHECK(nn_spec_parse(&s, text, err, sizeof err) == -1, "'%s' parsed", text);
  CHECK(strstr(err, want) != NULL, "'%s': error '%s' lacks '%s'", text, err, want);
}

static void check_parse(void) {
  nn_spec_t s;
  char err[512];
  CHECK(nn_spec_parse(&s, "conv:16x3x3,fc:128", err, sizeof err) == 0, "parse: %s", err);
  CHECK(s.n == 2 && s.layer[0].kind == NN_CONV && s.layer[0].units == 16 && s.layer[0].kh == 3 &&
            s.layer[0].kw == 3 && s.layer[1].kind == NN_DENSE && s.layer[1].units == 128,
        "conv:16x3x3,fc:128 -> %d layers", s.n);
  CHECK(nn_spec_parse(&s, " fc:256 , fc:256 ", err, sizeof err) == 0 && s.n == 2 &&
            s.layer[1].units == 256,
        "spaces around commas: %s", err);
  CHECK(nn_spec_parse(&s, "conv:8x2x4,flatten,fc:3", err, sizeof err) == 0 && s.n == 3 &&
            s.layer[0].kh == 2 && s.layer[0].kw == 4 && s.layer[1].kind == NN_FLATTEN,
        "explicit flatten: %s", err);
  expect_parse_error("cnv:16x3x3,fc:128", "net: unknown layer 'cnv:16x3x3' at position 1");
  expect_parse_error("fc:64,fc:0", "unknown layer 'fc:0' at position 2");
  expect_parse_error("fc:64,fc:12a", "unknown layer 'fc:12a' at position 2");
  expect_parse_error("conv:16x3", "unknown layer 'conv:16x3' at position 1");
  expect_parse_error("conv:16x3x3x3", "unknown layer 'conv:16x3x3x3'");
  expect_parse_error("fc:-4", "unknown layer 'fc:-4'");
  expect_parse_error("fc:64,,fc:2", "empty layer at position 2");
  expect_parse_error("", "empty layer at position 1");
  expect_parse_error("fc:64,", "empty layer at position 2");
  expect_parse_error("fc:1,fc:1,fc:1,fc:1,fc:1,fc:1,fc:1,fc:1", "more than 7 layers");
}

/* ---- layouts --------------------------------------------------------------------------- */

static void check_layouts(void) {
  nn_layout_t l, m;
  char err[512], d[256];
  const int mshape[3] = {10, 10, 4};
  /* MinAtar's net on 10x10x4, 6 actions: conv 16 x 36 + 16 = 592, flatten 1024,
   * fc 1024 x 128 + 128 = 131200, out 128 x 6 + 6 = 774: 132566 parameters. */
  CHECK(build(&l, "conv:16x3x3,fc:128", 400, mshape, 6, NN_RELU, 0, err, sizeof err) == 0,
        "minatar: %s", err);
  CHECK(l.n_layers == 4, "minatar n_layers %d", l.n_layers);
  CHECK(l.kind[0] == NN_CONV && l.kind[1] == NN_FLATTEN && l.kind[2] == NN_DENSE &&
            l.kind[3] == NN_DENSE,
        "minatar kinds %d %d %d %d", l.kind[0], l.kind[1], l.kind[2], l.kind[3]);
  CHECK(l.sizes[1] == 1024 && l.sizes[2] == 1024 && l.sizes[3] == 128 && l.sizes[4] == 6,
        "minatar sizes %d %d %d %d", l.sizes[1], l.sizes[2], l.sizes[3], l.sizes[4]);
  CHECK(l.shape[1][0] == 8 && l.shape[1][1] == 8 && l.shape[1][2] == 16, "conv out shape");
  CHECK(l.w_off[0] == 0 && l.b_off[0] == 576 && l.w_off[2] == 592 && l.b_off[2] == 592 + 131072 &&
            l.w_off[3] == 592 + 131200 && l.b_off[3] == 592 + 131200 + 768,
        "minatar offsets");
  CHECK(l.n_params == 132566, "minatar n_params %zu", l.n_params);
  CHECK(l.act[0] == NN_RELU && l.act[1] == NN_IDENTITY && l.act[2] == NN_RELU &&
            l.act[3] == NN_IDENTITY,
        "minatar activations");
  nn_layout_describe(&l, d, sizeof d);
  CHECK(strcmp(d, "in:10x10x4 conv:16x3x3:relu flatten fc:128:relu fc:6:identity") == 0,
        "describe: '%s'", d);
  /* Dueling: the head is (1 + 6) x 128 + 7 = 903 instead of 774. */
  CHECK(build(&l, "conv:16x3x3,fc:128", 400, mshape, 6, NN_RELU, 1, err, sizeof err) == 0,
        "minatar dueling: %s", err);
  CHECK(l.kind[3] == NN_DUELING && l.n_params == 132566 - 774 + 903, "dueling n_params %zu",
        l.n_params);
  nn_layout_describe(&l, d, sizeof d);
  CHECK(strcmp(d, "in:10x10x4 conv:16x3x3:relu flatten fc:128:relu dueling:6") == 0,
        "describe: '%s'", d);

  /* fc-only specs build exactly the layout nn_layout_init builds from hidden sizes. */
  const int h[2] = {256, 256};
  CHECK(build(&l, "fc:256,fc:256", 4, NULL, 2, NN_TANH, 0, err, sizeof err) == 0, "fc: %s", err);
  CHECK(nn_layout_init(&m, 4, h, 2, 2, NN_TANH, NN_IDENTITY) == 0, "init 4-256-256-2");
  CHECK(memcmp(&l, &m, sizeof l) == 0, "fc:256,fc:256 differs from hidden 256,256");
  /* Explicit flatten on a flat input is a no-op; dueling on an MLP. */
  CHECK(build(&l, "flatten,fc:64,fc:64", 4, NULL, 2, NN_RELU, 1, err, sizeof err) == 0 &&
            l.n_layers == 3 && l.kind[2] == NN_DUELING &&
            l.n_params == 4 * 64 + 64 + 64 * 64 + 64 + 3 * 64 + 3,
        "fc:64,fc:64 dueling: %s (%zu params)", err, l.n_params);
  /* A conv as the last layer still gets a flatten before the head. */
  CHECK(build(&l, "conv:2x3x3", 400, mshape, 6, NN_RELU, 0, err, sizeof err) == 0 &&
            l.n_layers == 3 && l.kind[1] == NN_FLATTEN && l.sizes[2] == 128,
        "conv only: %s", err);

  CHECK(build(&l, "conv:16x3x3,fc:128", 4, NULL, 2, NN_RELU, 0, err, sizeof err) == -1 &&
            strstr(err, "conv:16x3x3 at position 1 needs an image input"),
        "conv on a flat input: '%s'", err);
  CHECK(build(&l, "fc:8,conv:16x3x3", 400, mshape, 2, NN_RELU, 0, err, sizeof err) == -1 &&
            strstr(err, "at position 2 needs an image input"),
        "conv after fc: '%s'", err);
  CHECK(build(&l, "conv:4x11x3", 400, mshape, 2, NN_RELU, 0, err, sizeof err) == -1 &&
            strstr(err, "kernel larger than its 10x10 input"),
        "kernel too large: '%s'", err);
  const int wrong[3] = {10, 10, 3};
  CHECK(build(&l, "conv:4x3x3", 400, wrong, 2, NN_RELU, 0, err, sizeof err) == -1 &&
            strstr(err, "10x10x3 does not hold 400"),
        "shape mismatch: '%s'", err);
  CHECK(build(&l, "conv:1x1x1,conv:1x1x1,conv:1x1x1,conv:1x1x1,conv:1x1x1,conv:1x1x1,conv:1x1x1",
              400, mshape, 2, NN_RELU, 0, err, sizeof err) == -1 &&
            strstr(err, "more than 8 layers"),
        "flatten and head past the limit: '%s'", err);
}

/* ---- forward ---------------------------------------------------------------------------- */

/* 1 channel 3x3 input 1..9, one 2x2 filter (1, 2; 3, 4) and bias 0.5: the 2x2 output is
 * 1+4+12+20+0.5 = 37.5, 2+6+15+24+0.5 = 47.5, 4+10+21+32+0.5 = 67.5, 5+12+24+36+0.5 = 77.5;
 * with two channels the second (all 1 input, filter all -1) subtracts 4 from each. */
static void check_conv_by_hand(void) {
  nn_layout_t l;
  char err[256];
  const int shape[3] = {3, 3, 2};
  CHECK(build(&l, "conv:1x2x2", 18, shape, 1, NN_IDENTITY, 0, err, sizeof err) == 0, "%s", err);
  float *p = calloc(l.n_params, sizeof(float));
  const float f0[4] = {1, 2, 3, 4};
  for (int t = 0; t < 4; t++) {
    p[l.w_off[0] + (size_t)t * 2] = f0[t];
    p[l.w_off[0] + (size_t)t * 2 + 1] = -1;
  }
  p[l.b_off[0]] = 0.5f;
  float x[18];
  for (int i = 0; i < 9; i++) x[2 * i] = (float)(i + 1), x[2 * i + 1] = 1;
  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, &l, 1) == 0, "ws");
  nn_forward(&ws, p, x, 1);
  const float want[4] = {33.5f, 43.5f, 63.5f, 73.5f};
  for (int i = 0; i < 4; i++)
    CHECK(ws.act[0][i] == want[i], "conv[%d] = %g, want %g", i, ws.act[0][i], want[i]);
  nn_ws_free(&ws);
  free(p);
}

/* The float forward of a layout against the double naive loops; returns the worst error. The
 * parameters and the input (ws->x) are the caller's to free. */
static double forward_error(const nn_layout_t *l, int batch, uint64_t seed, nn_ws_t *ws,
                            float **params_out) {
  rng_t rng;
  rng_seed(&rng, seed);
  float *p = malloc(l->n_params * sizeof(float));
  double *pd = malloc(l->n_params * sizeof(double));
  nn_init_params(l, p, &rng);
  for (size_t i = 0; i < l->n_params; i++) pd[i] = p[i];
  size_t nx = (size_t)batch * l->sizes[0], ny = (size_t)batch * l->sizes[l->n_layers];
  float *x = malloc(nx * sizeof(float));
  double *xd = malloc(nx * sizeof(double)), *yd = malloc(ny * sizeof(double));
  /* MinAtar-like inputs: mostly 0, some 1. */
  for (size_t i = 0; i < nx; i++) xd[i] = x[i] = rng_uniform(&rng) < 0.2 ? 1.0f : 0.0f;
  CHECK(nn_ws_init(ws, l, batch) == 0, "ws init");
  const float *y = nn_forward(ws, p, x, batch);
  for (int r = 0; r < batch; r++)
    nn_ref_row(l, pd, xd + (size_t)r * l->sizes[0], yd + (size_t)r * l->sizes[l->n_layers]);
  double worst = 0;
  for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(y[i] - yd[i]));
  free(pd);
  free(xd);
  free(yd);
  *params_out = p;
  return worst;
}

static void check_forward(void) {
  nn_layout_t l;
  char err[256];
  const int mshape[3] = {10, 10, 4};
  for (int dueling = 0; dueling <= 1; dueling++) {
    CHECK(build(&l, "conv:16x3x3,fc:128", 400, mshape, 6, NN_RELU, dueling, err, sizeof err) == 0,
          "%s", err);
    nn_ws_t ws;
    float *p;
    double worst = forward_error(&l, 5, 11 + (uint64_t)dueling, &ws, &p);
    CHECK(worst < 1e-5, "minatar net (dueling %d) vs naive loops: worst error %g", dueling, worst);
    if (dueling) { /* mean over actions of Q is the value stream h_0 */
      for (int b = 0; b < 5; b++) {
        double mean = 0;
        for (int a = 0; a < 6; a++) mean += ws.act[3][b * 6 + a] / 6.0;
        CHECK_NEAR(mean, ws.aux[3][b * 7], 1e-5);
      }
    }
    /* A second, smaller batch through the same workspace gives the same rows. */
    float *x = (float *)ws.x, first[12];
    memcpy(first, ws.act[3], sizeof first);
    const float *y2 = nn_forward(&ws, p, x, 2);
    for (int i = 0; i < 12; i++) /* gemm may pick another kernel for the other shape */
      CHECK(fabsf(first[i] - y2[i]) <= 1e-5f, "batch 2 row value %d: %g, batch 5: %g", i, y2[i],
            first[i]);
    nn_ws_free(&ws);
    free(p);
    free(x);
  }
  /* Two convs with a non-square kernel, tanh. */
  const int s2[3] = {7, 6, 3};
  CHECK(build(&l, "conv:5x3x2,conv:4x2x3,fc:9", 126, s2, 4, NN_TANH, 1, err, sizeof err) == 0, "%s",
        err);
  nn_ws_t ws;
  float *p;
  double worst = forward_error(&l, 3, 5, &ws, &p);
  CHECK(worst < 1e-5, "two convs vs naive loops: worst error %g", worst);
  free((float *)ws.x);
  nn_ws_free(&ws);
  free(p);
}

/* ---- gradients -------------------------------------------------------------------------- */

static double ref_loss(const nn_layout_t *l, const double *p, const double *x, int batch,
                       const double *target) {
  double y[16 * 8], s = 0;
  int A = l->sizes[l->n_layers];
  for (int r = 0; r < batch; r++) nn_ref_row(l, p, x + (size_t)r * l->sizes[0], y + r * A);
  for (int i = 0; i < batch * A; i++) s += (y[i] - target[i]) * (y[i] - target[i]);
  return s / (batch * A);
}

/* MSE of the net's outputs against random targets: dL/dparams and dL/dx vs central
 * differences (step 1e-6 in double). */
static void gradcheck(const char *spec, int n_in, const int *shape, int n_out, nn_act_t act,
                      int dueling, uint64_t seed) {
  enum { BATCH = 3 };
  nn_layout_t l;
  char err[256];
  CHECK(build(&l, spec, n_in, shape, n_out, act, dueling, err, sizeof err) == 0, "%s: %s", spec,
        err);
  CHECK(n_out <= 8 && n_in <= 200, "gradcheck sizes");
  rng_t rng;
  rng_seed(&rng, seed);
  float *p = malloc(l.n_params * sizeof(float)), *g = calloc(l.n_params, sizeof(float));
  double *pd = malloc(l.n_params * sizeof(double));
  nn_init_params(&l, p, &rng);
  for (size_t i = 0; i < l.n_params; i++) pd[i] = p[i];
  float x[BATCH * 200], dx[BATCH * 200], target[BATCH * 8], dpred[BATCH * 8];
  double xd[BATCH * 200], td[BATCH * 8];
  for (int i = 0; i < BATCH * n_in; i++) xd[i] = x[i] = (float)rng_range(&rng, -1, 1);
  for (int i = 0; i < BATCH * n_out; i++) td[i] = target[i] = (float)rng_range(&rng, -1, 1);
  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, &l, BATCH) == 0, "ws");
  const float *y = nn_forward(&ws, p, x, BATCH);
  nn_loss_mse(y, target, BATCH * n_out, dpred);
  nn_backward(&ws, p, dpred, g, dx);
  const double h = 1e-6;
  int bad = 0;
  for (size_t i = 0; i < l.n_params; i++) {
    double keep = pd[i];
    pd[i] = keep + h;
    double up = ref_loss(&l, pd, xd, BATCH, td);
    pd[i] = keep - h;
    double down = ref_loss(&l, pd, xd, BATCH, td);
    pd[i] = keep;
    double fd = (up - down) / (2 * h), tol = 1e-5 + 1e-3 * fabs(fd);
    if (!(fabs(g[i] - fd) <= tol) && bad++ < 5)
      CHECK(0, "%s (dueling %d): dparam[%zu] = %.9g, finite difference %.9g", spec, dueling, i,
            g[i], fd);
  }
  for (int i = 0; i < BATCH * n_in; i++) {
    double keep = xd[i];
    xd[i] = keep + h;
    double up = ref_loss(&l, pd, xd, BATCH, td);
    xd[i] = keep - h;
    double down = ref_loss(&l, pd, xd, BATCH, td);
    xd[i] = keep;
    double fd = (up - down) / (2 * h), tol = 1e-5 + 1e-3 * fabs(fd);
    if (!(fabs(dx[i] - fd) <= tol) && bad++ < 10)
      CHECK(0, "%s (dueling %d): dx[%d] = %.9g, finite difference %.9g", spec, dueling, i, dx[i],
            fd);
  }
  /* grads NULL still gives the same dx. */
  float dx2[BATCH * 200];
  nn_backward(&ws, p, dpred, NULL, dx2);
  CHECK(memcmp(dx, dx2, (size_t)BATCH * n_in * sizeof(float)) == 0, "%s: dx without grads", spec);
  nn_ws_free(&ws);
  free(p);
  free(g);
  free(pd);
}

/* The direct AVX-512 conv (16 filters or multiples, nn.c) against im2col + SGEMM on the same
 * layout and data: forward outputs, weight and bias gradients and dL/dx agree to rounding
 * (they sum in other orders). MinAtar's Breakout and Seaquest shapes at batch 32 (7 output
 * pixels per row off the 8-pixel block: none; 10 channels: 30 taps per kernel row, 16 + 14),
 * and an awkward one (two convs, 32 filters, a 2x3 kernel, 9 output columns). */
/* Two computations of one network's forward and backward: each side's output, dL/dparams and
 * dL/dx, their worst differences, and the largest gradient (the scale of the tolerance). */
typedef struct sides {
  size_t ny, np, nx;
  float *y[2], *g[2], *dx[2];
} sides_t;

static void sides_alloc(sides_t *s, size_t ny, size_t np, size_t nx) {
  s->ny = ny, s->np = np, s->nx = nx;
  for (int k = 0; k < 2; k++) {
    s->y[k] = malloc(ny * sizeof(float));
    s->g[k] = calloc(np, sizeof(float));
    s->dx[k] = malloc(nx * sizeof(float));
    CHECK(s->y[k] && s->g[k] && s->dx[k], "out of memory");
  }
}

static void sides_worst(const sides_t *s, double *wy, double *wg, double *wx, double *gscale) {
  *wy = *wg = *wx = *gscale = 0;
  for (size_t i = 0; i < s->ny; i++) *wy = fmax(*wy, fabs(s->y[0][i] - s->y[1][i]));
  for (size_t i = 0; i < s->np; i++) *gscale = fmax(*gscale, fabs(s->g[0][i]));
  for (size_t i = 0; i < s->np; i++) *wg = fmax(*wg, fabs(s->g[0][i] - s->g[1][i]));
  for (size_t i = 0; i < s->nx; i++) *wx = fmax(*wx, fabs(s->dx[0][i] - s->dx[1][i]));
}

static void sides_free(sides_t *s) {
  for (int k = 0; k < 2; k++) {
    free(s->y[k]);
    free(s->g[k]);
    free(s->dx[k]);
  }
}

static void conv_direct_vs_im2col(const char *spec, int n_in, const int *shape, int batch) {
  nn_layout_t l;
  char err[256];
  CHECK(build(&l, spec, n_in, shape, 6, NN_RELU, 0, err, sizeof err) == 0, "%s: %s", spec, err);
  rng_t rng;
  rng_seed(&rng, 77);
  size_t np = l.n_params, nx = (size_t)batch * n_in, ny = (size_t)batch * 6;
  float *p = malloc(np * sizeof(float)), *x = malloc(nx * sizeof(float));
  float *dy = malloc(ny * sizeof(float));
  sides_t sd;
  sides_alloc(&sd, ny, np, nx);
  nn_init_params(&l, p, &rng);
  for (size_t i = 0; i < nx; i++) x[i] = rng_uniform(&rng) < 0.2 ? 1.0f : 0.0f;
  for (size_t i = 0; i < ny; i++) dy[i] = (float)rng_range(&rng, -1, 1);
  for (int side = 0; side < 2; side++) {
    nn_set_conv_direct(side);
    nn_ws_t ws;
    CHECK(nn_ws_init(&ws, &l, batch) == 0, "ws");
    memcpy(sd.y[side], nn_forward(&ws, p, x, batch), ny * sizeof(float));
    nn_backward(&ws, p, dy, sd.g[side], sd.dx[side]);
    nn_ws_free(&ws);
  }
  nn_set_conv_direct(1);
  double wy, wg, wx, gscale;
  sides_worst(&sd, &wy, &wg, &wx, &gscale);
  CHECK(wy < 1e-5 && wg <= 1e-5 * (1 + gscale) && wx < 1e-5,
        "%s batch %d: direct vs im2col differ: y %g, grads %g (largest %g), dx %g", spec, batch,
        wy, wg, gscale, wx);
  printf("conv direct vs im2col %s batch %d: worst |dy| %.3g, |dgrad| %.3g, |ddx| %.3g\n", spec,
         batch, wy, wg, wx);
  sides_free(&sd);
  free(p);
  free(x);
  free(dy);
}

/* nn_ws_keep_rows: forward [x; x2] (2 x batch rows), keep the first batch, backward; against
 * a forward of x alone and its backward: the same outputs, dL/dparams and dL/dx (every layer's
 * rows stay in order, so the leading rows are the same computation). */
static void stacked_rows(const char *spec, int n_in, const int *shape, int batch, int dueling) {
  nn_layout_t l;
  char err[256];
  CHECK(build(&l, spec, n_in, shape, 3, NN_RELU, dueling, err, sizeof err) == 0, "%s: %s", spec,
        err);
  rng_t rng;
  rng_seed(&rng, 91);
  size_t np = l.n_params, nx = (size_t)batch * n_in, ny = (size_t)batch * 3;
  float *p = malloc(np * sizeof(float)), *x = malloc(2 * nx * sizeof(float));
  float *dy = malloc(ny * sizeof(float));
  sides_t sd;
  sides_alloc(&sd, ny, np, nx);
  nn_init_params(&l, p, &rng);
  for (size_t i = 0; i < 2 * nx; i++) x[i] = (float)rng_range(&rng, -1, 1);
  for (size_t i = 0; i < ny; i++) dy[i] = (float)rng_range(&rng, -1, 1);
  for (int side = 0; side < 2; side++) {
    nn_ws_t ws;
    CHECK(nn_ws_init(&ws, &l, 2 * batch) == 0, "ws");
    memcpy(sd.y[side], nn_forward(&ws, p, x, side ? 2 * batch : batch), ny * sizeof(float));
    if (side) nn_ws_keep_rows(&ws, batch);
    nn_backward(&ws, p, dy, sd.g[side], sd.dx[side]);
    nn_ws_free(&ws);
  }
  double wy, wg, wx, gscale;
  sides_worst(&sd, &wy, &wg, &wx, &gscale);
  CHECK(gscale > 0, "%s: no gradient", spec);
  CHECK(wy <= 1e-6 && wg <= 1e-6 * (1 + gscale) && wx <= 1e-6,
        "%s batch %d stacked: y %g, grads %g (largest %g), dx %g apart", spec, batch, wy, wg,
        gscale, wx);
  printf("stacked forward, leading %d rows kept, %s%s: worst |dy| %.3g, |dgrad| %.3g, |ddx| %.3g\n",
         batch, spec, dueling ? " dueling" : "", wy, wg, wx);
  sides_free(&sd);
  free(p);
  free(x);
  free(dy);
}

int main(void) {
  check_parse();
  check_layouts();
  check_conv_by_hand();
  check_forward();
  const int s1[3] = {5, 4, 3}, s2[3] = {6, 5, 2};
  for (int act = NN_IDENTITY; act <= NN_TANH; act++)
    for (int dueling = 0; dueling <= 1; dueling++) {
      uint64_t seed = 40 + (uint64_t)act * 2 + (uint64_t)dueling;
      gradcheck("conv:4x3x2,fc:6", 60, s1, 3, (nn_act_t)act, dueling, seed);
      gradcheck("conv:3x2x2,conv:2x3x2,flatten,fc:5", 60, s2, 4, (nn_act_t)act, dueling, seed);
      gradcheck("conv:3x2x2", 60, s1, 2, (nn_act_t)act, dueling, seed);
      gradcheck("fc:7,fc:5", 3, NULL, 4, (nn_act_t)act, dueling, seed);
      /* 16 and 32 filters: the direct AVX-512 kernels where the CPU has them. A 9-wide output
       * row (8-pixel block + 1), 21 taps per kernel row (16 + 5), a conv after a conv (its dx
       * through gemm + col2im). */
      const int s3[3] = {5, 11, 3}, s4[3] = {4, 6, 7}, s5[3] = {4, 5, 2};
      gradcheck("conv:16x2x3,fc:4", 165, s3, 3, (nn_act_t)act, dueling, seed);
      gradcheck("conv:16x2x3", 168, s4, 2, (nn_act_t)act, dueling, seed);
      gradcheck("conv:32x2x2,conv:16x2x3,fc:3", 40, s5, 2, (nn_act_t)act, dueling, seed + 100);
    }
  printf("conv direct kernels: %s\n",
         nn_conv_direct_available() ? "AVX-512 (compared with im2col below)"
                                    : "no AVX-512F on this CPU: im2col on both sides");
  const int breakout[3] = {10, 10, 4}, seaquest[3] = {10, 10, 10}, odd[3] = {7, 11, 5};
  conv_direct_vs_im2col("conv:16x3x3,fc:128", 400, breakout, 32);
  conv_direct_vs_im2col("conv:16x3x3,fc:128", 1000, seaquest, 32);
  conv_direct_vs_im2col("conv:32x2x3,conv:16x3x3,fc:20", 385, odd, 5);
  stacked_rows("fc:256,fc:256", 4, NULL, 64, 0); /* cartpole-dqn's net and batch */
  stacked_rows("fc:7,fc:5", 3, NULL, 5, 1);
  stacked_rows("conv:16x3x3,fc:128", 400, breakout, 32, 0);
  stacked_rows("conv:3x2x2,conv:2x3x2,flatten,fc:5", 60, s2, 6, 1);
  CHECK_DONE();
}
