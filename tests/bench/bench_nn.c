/* Benchmarks nn on this machine and asserts two ratios measured in the same run
 * (tests/bench/README.md):
 *
 *   1. the rule GEMM_AUTO applies (common/gemm.c): every matrix product of a 4-H-H-2 net
 *      (H = 64, 128, 256; batch 1 to 256) with fewer than GEMM_OWN_MAX_MACS multiply-adds runs
 *      in our own kernel because it beats OpenBLAS there: own GFLOP/s / OpenBLAS GFLOP/s, the
 *      geometric mean over those products (ours is faster on the whole) and the worst of them
 *      (none much slower), each at least the floor of the OpenBLAS kernel in use;
 *   2. a DQN-style update of 4-256-256-2 at batch 64 (forward, Huber on Q(s,a), backward,
 *      clip, Adam) with OpenBLAS for every product against our kernel for every product:
 *      updates/s OpenBLAS / updates/s own at least the floor of the OpenBLAS kernel in use;
 *   3. nn's conv layer through im2col + SGEMM (nn_set_conv_direct(0)) against a plain direct
 *      loop at MinAtar's sizes (16 filters 3x3 over 10x10x4 and 10x10x10; forward at batch 1
 *      and 8, forward + weight gradients at 32 and 64): calls/s im2col / direct, the worst of
 *      them, at least 2;
 *   4. with AVX-512F, nn's direct AVX-512 conv kernels (what nn runs there) against its
 *      im2col + SGEMM at the same sizes: the worst calls/s ratio at least 1.2;
 *   5. gemm's SIMD kernels (gemm512.h: AVX-512F, or AVX2 + FMA on a CPU without it or with
 *      --avx2) against OpenBLAS on the presets' products GEMM_AUTO gives them (double DQN's stacked
 * forward, the 256-unit, DDPG 400-300, MinAtar fc and 1024-unit layers): the geometric mean and the
 * worst GFLOP/s ratio, each at least the floor of the OpenBLAS kernel in use (a few shapes
 * GEMM_AUTO leaves to OpenBLAS are printed beside them).
 *
 * It also prints the single-core OpenBLAS SGEMM peak (1024^3), every product's GFLOP/s with
 * both kernels, and the update in updates/s and as a fraction of the peak with GEMM_AUTO (what
 * nn uses), own only and OpenBLAS only. The update's matrix FLOPs: forward B M, weight
 * gradients B M, input gradients of every layer but the first B (M - n_0 n_1), 2 per
 * multiply-add, with M = sum_i n_i n_{i+1} (no target network here; see bench_trainer.c).
 *
 * The machine may be shared: times are this thread's CPU time, rates the best of several
 * windows, and the two sides of each ratio are measured in alternating windows. Options (off
 * by default; they exist to show that the checks fail): --slow-own K and --slow-blas K run
 * every counted product or update K times with that kernel (--slow-simd K: our SIMD ones),
 * --slow-conv K every counted im2col conv call, --slow-conv-direct K every counted call of nn's
 * direct AVX-512 conv. Run: ctest -L bench -R bench_nn -V (or ./tests/bench_nn). One thread; about
 * 20 s. */
#define _GNU_SOURCE /* bench_machine.h */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_machine.h"
#include "gemm.h"
#include "gemm512.h"
#include "nn.h"
#include "rng.h"

/* GEMM_OWN_MAX_MACS of common/gemm.c (private there): the threshold the rule uses. */
#define OWN_MAX_MACS 512L
#define KERNEL_REPS 5        /* windows per kernel and product, alternating own and OpenBLAS */
#define KERNEL_REPS_BELOW 15 /* the same for the products check 1 is about */
#define KERNEL_WINDOW_S 0.004
#define UPDATE_REPS 10 /* windows per update and gemm choice, the three choices in turn */
#define UPDATE_WINDOW_S 0.1
#define UPDATE_BATCH 64
#define PEAK_N 1024 /* the peak product is PEAK_N^3: 6 at the start, one per round of updates */

/* Floors per OpenBLAS kernel family (openblas_get_corename()), measured on the build machine
 * (2-core shared VM, Xeon with AVX-512; OpenBLAS 0.3.21 DYNAMIC_ARCH detects it as Prescott,
 * OPENBLAS_CORETYPE=SkylakeX forces the AVX-512 kernels; tests/bench/README.md). Check 1,
 * geometric mean / worst product under the threshold: Prescott 3.3-4.1 / 1.31-1.67, SkylakeX
 * 1.02-1.09 / 0.81-0.87 (ours barely wins there). Check 2: Prescott 1.43-1.61, SkylakeX 3.7-4.7.
 * Each floor sits below the worst value seen under load and, except SkylakeX's check 1, above half
 * the usual one. Other kernels: the lowest floors of the table. */
typedef struct floors {
  const char *core;
  double own_below_geomean, own_below_worst, blas_over_own;
  double avx512_geomean, avx512_worst; /* check 5 */
} floors_t;

static const floors_t floor_table[] = {
    {"Prescott", 2.0, 0.9, 1.2, 2.5, 1.5},
    {"SkylakeX", 0.85, 0.7, 2.0, 1.05, 0.9},
    {NULL, 0.85, 0.7, 1.2, 1.05, 0.9}, /* any other kernel */
};

static const floors_t *floors_for(const char *core) {
  const floors_t *f = floor_table;
  while (f->core && strcmp(f->core, core) != 0) f++;
  return f;
}

static float *rand_buf(rng_t *r, size_t n) {
  float *p = malloc(n * sizeof(float));
  if (!p) {
    fprintf(stderr, "bench_nn: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) p[i] = (float)rng_range(r, -1, 1);
  return p;
}

enum { NT, TN, NN };
static const char *form_name[] = {"nt", "tn", "nn"};

static void run(int form, gemm_impl_t impl, int m, int n, int k, const float *A, const float *B,
                float *C) {
  if (form == NT)
    gemm_nt(impl, m, n, k, A, B, 0, C);
  else if (form == TN)
    gemm_tn(impl, m, n, k, A, B, C);
  else
    gemm_nn(impl, m, n, k, A, B, 0, C);
}

/* Counted products/s of one product with `impl` over at least `seconds`; each counted
 * product runs `slow` times. The clock is read once per group of products of about 10^5
 * multiply-adds: reading the thread CPU clock costs about as much as a 1 x 2 x 64 product. */
static double products_per_s(int form, gemm_impl_t impl, int m, int n, int k, const float *A,
                             const float *B, float *C, double seconds, int slow) {
  const long group = 1 + 100000L / ((long)m * n * k);
  long iters = 0;
  double t0 = bench_now(), t;
  do {
    for (long g = 0; g < group; g++)
      for (int s = 0; s < slow; s++) run(form, impl, m, n, k, A, B, C);
    iters += group;
  } while ((t = bench_now() - t0) < seconds);
  return (double)iters / t;
}

/* GFLOP/s of one product with kernels `ia` (*ra) and `ib` (*rb): the best of `reps`
 * alternating windows each. slow[impl]: see products_per_s. */
static void kernel_pair2(int form, int m, int n, int k, int reps, const int *slow, gemm_impl_t ia,
                         gemm_impl_t ib, double *ra, double *rb) {
  rng_t r;
  rng_seed(&r, 1);
  size_t big = (size_t)(m > n ? m : n) * k;
  float *A = rand_buf(&r, big), *B = rand_buf(&r, big), *C = rand_buf(&r, (size_t)m * n);
  run(form, ia, m, n, k, A, B, C); /* warm caches and OpenBLAS's buffers */
  run(form, ib, m, n, k, A, B, C);
  double flops = 2.0 * m * n * k;
  *ra = *rb = 0;
  for (int rep = 0; rep < reps; rep++) {
    double g = flops * products_per_s(form, ia, m, n, k, A, B, C, KERNEL_WINDOW_S, slow[ia]) / 1e9;
    if (g > *ra) *ra = g;
    g = flops * products_per_s(form, ib, m, n, k, A, B, C, KERNEL_WINDOW_S, slow[ib]) / 1e9;
    if (g > *rb) *rb = g;
  }
  free(A);
  free(B);
  free(C);
}

/* Our plain kernel (*own) against OpenBLAS (*blas). */
static void kernel_pair(int form, int m, int n, int k, int reps, const int *slow, double *own,
                        double *blas) {
  kernel_pair2(form, m, n, k, reps, slow, GEMM_OWN, GEMM_BLAS, own, blas);
}

/* Speed ratios of a set of products: their geometric mean and the worst, with its shape. */
typedef struct ratios {
  int n;
  double log_sum, worst;
  char worst_shape[64];
} ratios_t;

static void ratios_add(ratios_t *r, double ratio, int form, const char *use, int m, int n, int k) {
  if (r->n++ == 0) r->worst = 1e300;
  r->log_sum += log(ratio);
  if (ratio < r->worst) {
    r->worst = ratio;
    snprintf(r->worst_shape, sizeof r->worst_shape, "%s %s %dx%dx%d", form_name[form], use, m, n,
             k);
  }
}

static double ratios_geomean(const ratios_t *r) { return r->n ? exp(r->log_sum / r->n) : 0; }

/* The operands of the single-core OpenBLAS SGEMM peak product, 1024^3. */
typedef struct peak {
  float *a, *b, *c;
} peak_t;

static void peak_init(peak_t *p) {
  rng_t r;
  rng_seed(&r, 1);
  p->a = rand_buf(&r, (size_t)PEAK_N * PEAK_N);
  p->b = rand_buf(&r, (size_t)PEAK_N * PEAK_N);
  p->c = rand_buf(&r, (size_t)PEAK_N * PEAK_N);
}

static void peak_free(peak_t *p) {
  free(p->a);
  free(p->b);
  free(p->c);
}

/* `reps` products, A B^T and A B in turn; folds the best GFLOP/s into *best. */
static void peak_sample(const peak_t *p, int reps, double *best) {
  const int n = PEAK_N;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = bench_now();
    run(rep % 2 ? NN : NT, GEMM_BLAS, n, n, n, p->a, p->b, p->c);
    double g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
    if (g > *best) *best = g;
  }
}

/* One DQN-style update's state on net `l` with batch b: online forward, Q(s, a) against a
 * fixed target, Huber, backward, clip to norm 10, Adam. */
typedef struct upd {
  const nn_layout_t *l;
  int b;
  float *params, *grads, *x, *target, *q, *dq, *dy;
  int *action;
  nn_ws_t ws;
  adam_t adam;
  double flops; /* matrix FLOPs of one update */
} upd_t;

static void upd_init(upd_t *u, const nn_layout_t *l, int b) {
  rng_t r;
  rng_seed(&r, 2);
  int n_in = l->sizes[0], n_out = l->sizes[l->n_layers];
  u->l = l;
  u->b = b;
  u->params = rand_buf(&r, l->n_params);
  u->grads = rand_buf(&r, l->n_params);
  nn_init_params(l, u->params, &r);
  u->x = rand_buf(&r, (size_t)b * n_in);
  u->target = rand_buf(&r, (size_t)b);
  u->q = rand_buf(&r, (size_t)b);
  u->dq = rand_buf(&r, (size_t)b);
  u->dy = rand_buf(&r, (size_t)b * n_out);
  u->action = malloc((size_t)b * sizeof(int));
  if (!u->action || nn_ws_init(&u->ws, l, b) != 0 ||
      adam_init(&u->adam, l->n_params, 1e-4f, 0.9f, 0.999f, 1e-8f) != 0) {
    fprintf(stderr, "bench_nn: out of memory\n");
    exit(1);
  }
  for (int i = 0; i < b; i++) u->action[i] = (int)rng_below(&r, (uint64_t)n_out);
  double macs = 0, macs_dx = 0;
  for (int i = 0; i < l->n_layers; i++) {
    macs += (double)l->sizes[i] * l->sizes[i + 1];
    if (i > 0) macs_dx += (double)l->sizes[i] * l->sizes[i + 1];
  }
  u->flops = 2.0 * b * (2 * macs + macs_dx);
}

static void upd_free(upd_t *u) {
  nn_ws_free(&u->ws);
  adam_free(&u->adam);
  free(u->params);
  free(u->grads);
  free(u->x);
  free(u->target);
  free(u->q);
  free(u->dq);
  free(u->dy);
  free(u->action);
}

static void upd_step(upd_t *u) {
  const int b = u->b, n_out = u->l->sizes[u->l->n_layers];
  const float *y = nn_forward(&u->ws, u->params, u->x, b);
  for (int i = 0; i < b; i++) u->q[i] = y[(size_t)i * n_out + u->action[i]];
  nn_loss_huber(u->q, u->target, b, 1.0f, u->dq);
  memset(u->dy, 0, (size_t)b * n_out * sizeof(float));
  for (int i = 0; i < b; i++) u->dy[(size_t)i * n_out + u->action[i]] = u->dq[i];
  memset(u->grads, 0, u->l->n_params * sizeof(float));
  nn_backward(&u->ws, u->params, u->dy, u->grads, NULL);
  nn_clip_grad_norm(u->grads, u->l->n_params, 10.0f);
  adam_step(&u->adam, u->params, u->grads);
}

/* Counted updates/s over at least `seconds`; each counted update runs `slow` times. */
static double upd_rate(upd_t *u, double seconds, int slow) {
  long iters = 0;
  double t0 = bench_now(), t;
  do {
    for (int s = 0; s < slow; s++) upd_step(u);
    iters++;
  } while ((t = bench_now() - t0) < seconds);
  return (double)iters / t;
}

/* ---- conv at MinAtar's sizes: im2col + SGEMM (nn.c) against a direct loop --------------- */

#define CONV_REPS 7 /* alternating windows per side */
/* Check 3's floor: im2col / direct was 4.2-6.1 on the build machine (2-core shared VM, load ~6,
 * Prescott kernels, SSE2 build); nn.c keeps im2col while it is at least twice as fast. */
#define CONV_IM2COL_OVER_DIRECT 2.0
#define CONV_WINDOW_S 0.05 /* seconds per window */
/* Check 4's floor: nn.c runs its direct AVX-512 conv (filters in multiples of 16) where the CPU
 * has AVX-512F, because it beats its own im2col + SGEMM at these sizes (tests/bench/README.md). */
#define CONV_AVX_OVER_IM2COL 1.2

/* nn's conv alone: the conv layer of conv:16x3x3 on 10x10xC, the net cut after it (a layout
 * of one conv layer with relu is valid: nn.h). */
static void conv_only_layout(nn_layout_t *l, int C) {
  nn_spec_t s;
  char err[256];
  const int shape[3] = {10, 10, C};
  if (nn_spec_parse(&s, "conv:16x3x3", err, sizeof err) != 0 ||
      nn_layout_build(l, &s, 100 * C, shape, 1, NN_RELU, NN_IDENTITY, 0, err, sizeof err) != 0) {
    fprintf(stderr, "bench_nn: %s\n", err);
    exit(1);
  }
  l->n_layers = 1;
  l->n_params = l->b_off[0] + 16;
}

/* The direct kernel: for every output pixel, y[f] += x(r+dy, c+dx, ch) * W^T[tap][f] with the
 * weights transposed once per call (K x F, F = 16 contiguous, so the inner loop is one vector
 * over the filters); backward the same order for dW^T, then transposed back into grads. */
typedef struct direct_conv {
  int C, K;
  float *wt, *gwt; /* K x 16 */
} direct_conv_t;

static void direct_forward(direct_conv_t *d, const float *params, const float *x, int batch,
                           float *y) {
  const int C = d->C, K = d->K, F = 16;
  const float *w = params, *b = params + (size_t)K * F;
  for (int f = 0; f < F; f++)
    for (int k = 0; k < K; k++) d->wt[(size_t)k * F + f] = w[(size_t)f * K + k];
  for (int n = 0; n < batch; n++) {
    const float *xb = x + (size_t)n * 100 * C;
    for (int r = 0; r < 8; r++)
      for (int c = 0; c < 8; c++) {
        float acc[16];
        for (int f = 0; f < F; f++) acc[f] = b[f];
        for (int dy = 0; dy < 3; dy++) {
          const float *xs = xb + ((size_t)(r + dy) * 10 + c) * C;
          const float *ws = d->wt + (size_t)dy * 3 * C * F;
          for (int t = 0; t < 3 * C; t++) {
            float xv = xs[t];
            for (int f = 0; f < F; f++) acc[f] += xv * ws[(size_t)t * F + f];
          }
        }
        float *yo = y + (((size_t)n * 8 + r) * 8 + c) * F;
        for (int f = 0; f < F; f++) yo[f] = acc[f] > 0.0f ? acc[f] : 0.0f;
      }
  }
}

/* dL/dW and dL/db given dL/dy (post-relu y for the mask); no dx (a first layer). */
static void direct_backward(direct_conv_t *d, const float *x, const float *y, const float *dy_in,
                            int batch, float *grads) {
  const int C = d->C, K = d->K, F = 16;
  float *gb = grads + (size_t)K * F;
  memset(d->gwt, 0, (size_t)K * F * sizeof(float));
  for (int n = 0; n < batch; n++) {
    const float *xb = x + (size_t)n * 100 * C;
    for (int r = 0; r < 8; r++)
      for (int c = 0; c < 8; c++) {
        size_t o = (((size_t)n * 8 + r) * 8 + c) * F;
        float g[16];
        for (int f = 0; f < F; f++) g[f] = y[o + f] > 0.0f ? dy_in[o + f] : 0.0f;
        for (int f = 0; f < F; f++) gb[f] += g[f];
        for (int dy = 0; dy < 3; dy++) {
          const float *xs = xb + ((size_t)(r + dy) * 10 + c) * C;
          float *gs = d->gwt + (size_t)dy * 3 * C * F;
          for (int t = 0; t < 3 * C; t++) {
            float xv = xs[t];
            for (int f = 0; f < F; f++) gs[(size_t)t * F + f] += xv * g[f];
          }
        }
      }
  }
  for (int f = 0; f < F; f++)
    for (int k = 0; k < K; k++) grads[(size_t)f * K + k] += d->gwt[(size_t)k * F + f];
}

/* Calls/s of one side over at least `seconds`: train = forward + backward (weights), else
 * forward only (a worker acting). Each counted im2col call runs `slow` times (--slow-conv). */
static int slow_conv_direct = 1; /* --slow-conv-direct K: nn's direct AVX-512 calls K times */

static double conv_rate(int direct, int train, nn_ws_t *ws, direct_conv_t *d, const float *params,
                        const float *x, const float *dy, float *y, float *grads, int batch,
                        double seconds, int slow) {
  long iters = 0;
  /* direct 0: nn.c forced to im2col; 2: nn.c's direct AVX-512 kernels; 1: this file's loop */
  nn_set_conv_direct(direct == 2);
  double t0 = bench_now(), t;
  do {
    if (direct == 1) {
      direct_forward(d, params, x, batch, y);
      if (train) direct_backward(d, x, y, dy, batch, grads);
    } else {
      for (int s = 0; s < (direct == 0 ? slow : slow_conv_direct); s++) {
        nn_forward(ws, params, x, batch);
        if (train) nn_backward(ws, params, dy, grads, NULL);
      }
    }
    iters++;
  } while ((t = bench_now() - t0) < seconds);
  nn_set_conv_direct(1);
  return (double)iters / t;
}

/* nn.c's direct AVX-512 conv over its im2col path, the worst size (0 without AVX-512). */
static double conv_avx_worst = 1e300;

/* Both sides at C channels and `batch`; checks they compute the same, prints the rates and
 * returns im2col / direct. */
static double conv_pair(int C, int batch, int train, int slow) {
  nn_layout_t l;
  conv_only_layout(&l, C);
  rng_t r;
  rng_seed(&r, 9);
  const int K = 9 * C;
  float *params = rand_buf(&r, l.n_params), *g1 = calloc(l.n_params, sizeof(float));
  float *g2 = calloc(l.n_params, sizeof(float));
  float *x = rand_buf(&r, (size_t)batch * 100 * C), *dy = rand_buf(&r, (size_t)batch * 1024);
  float *y = rand_buf(&r, (size_t)batch * 1024);
  for (size_t i = 0; i < (size_t)batch * 100 * C; i++) x[i] = rng_uniform(&r) < 0.2 ? 1.0f : 0.0f;
  nn_init_params(&l, params, &r);
  direct_conv_t d = {C, K, malloc((size_t)K * 16 * sizeof(float)),
                     malloc((size_t)K * 16 * sizeof(float))};
  nn_ws_t ws;
  if (!g1 || !g2 || !d.wt || !d.gwt || nn_ws_init(&ws, &l, batch) != 0) {
    fprintf(stderr, "bench_nn: out of memory\n");
    exit(1);
  }
  /* The two must agree before either is timed. */
  nn_set_conv_direct(0);
  const float *yn = nn_forward(&ws, params, x, batch);
  nn_backward(&ws, params, dy, g1, NULL);
  nn_set_conv_direct(1);
  direct_forward(&d, params, x, batch, y);
  direct_backward(&d, x, y, dy, batch, g2);
  double worst = 0;
  for (size_t i = 0; i < (size_t)batch * 1024; i++) worst = fmax(worst, fabs(yn[i] - y[i]));
  for (size_t i = 0; i < l.n_params; i++)
    worst = fmax(worst, fabs(g1[i] - g2[i]) / (1 + fabs(g1[i])));
  if (worst > 1e-3) {
    fprintf(stderr, "bench_nn: im2col and direct conv differ by %g\n", worst);
    exit(1);
  }
  double best[3] = {0, 0, 0};
  const int sides = nn_conv_direct_available() ? 3 : 2;
  for (int rep = 0; rep < CONV_REPS; rep++)
    for (int side = 0; side < sides; side++) {
      if (side == 2) memset(g1, 0, l.n_params * sizeof(float));
      double v = conv_rate(side, train, &ws, &d, params, x, dy, y, side == 1 ? g2 : g1, batch,
                           CONV_WINDOW_S, slow);
      if (v > best[side]) best[side] = v;
    }
  double macs = (double)batch * 64 * 16 * K * (train ? 2 : 1);
  printf("%-8s C=%-3d batch %-4d %12.0f %12.0f %10.2f %10.2f %8.2f %12.0f %8.2f\n",
         train ? "fwd+bwd" : "fwd", C, batch, best[0], best[1], 2 * macs * best[0] / 1e9,
         2 * macs * best[1] / 1e9, best[0] / best[1], best[2], best[2] / best[0]);
  if (sides == 3 && best[2] / best[0] < conv_avx_worst) conv_avx_worst = best[2] / best[0];
  if (sides < 3) conv_avx_worst = 0;
  nn_ws_free(&ws);
  free(params);
  free(g1);
  free(g2);
  free(x);
  free(dy);
  free(y);
  free(d.wt);
  free(d.gwt);
  return best[0] / best[1];
}

/* Every size: forward at a worker's batches (1, 8) and the training step at 32 and 64;
 * returns the worst im2col / direct ratio. */
static double conv_bench(int slow) {
  printf("\nconv 16x3x3 on 10x10xC (MinAtar), valid, stride 1, relu; calls/s and GFLOP/s\n");
  printf("%-8s %-5s %-10s %12s %12s %10s %10s %8s %12s %8s\n", "pass", "C", "batch", "im2col/s",
         "direct/s", "im2col GF", "direct GF", "ratio", "avx512/s", "/im2col");
  const int chans[] = {4, 10};
  const struct { int batch, train; } cases[] = {{1, 0}, {8, 0}, {32, 1}, {64, 1}};
  double worst = 1e300;
  for (size_t c = 0; c < sizeof chans / sizeof *chans; c++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      double ratio = conv_pair(chans[c], cases[i].batch, cases[i].train, slow);
      if (ratio < worst) worst = ratio;
    }
  return worst;
}

int main(int argc, char **argv) {
  int slow[5] = {1, 1, 1, 1, 1}; /* indexed by gemm_impl_t */
  int force_avx2 = 0;
  int slow_conv = 1;
  for (int i = 1; i < argc; i++) {
    int own = strcmp(argv[i], "--slow-own") == 0, blas = strcmp(argv[i], "--slow-blas") == 0;
    int conv = strcmp(argv[i], "--slow-conv") == 0;
    int cdir = strcmp(argv[i], "--slow-conv-direct") == 0;
    int g512 = strcmp(argv[i], "--slow-simd") == 0;
    if (strcmp(argv[i], "--avx2") == 0) {
      force_avx2 = 1;
    } else if ((own || blas || conv || cdir || g512) && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      if (g512)
        slow[GEMM_AVX512] = slow[GEMM_AVX2] = atoi(argv[++i]);
      else if (cdir)
        slow_conv_direct = atoi(argv[++i]);
      else if (conv)
        slow_conv = atoi(argv[++i]);
      else
        slow[own ? GEMM_OWN : GEMM_BLAS] = atoi(argv[++i]);
    } else {
      fprintf(stderr,
              "usage: %s [--slow-own K] [--slow-blas K] [--slow-simd K] [--avx2] [--slow-conv K] "
              "[--slow-conv-direct K]\n",
              argv[0]);
      return 2;
    }
  }
  gemm_init();
  nn_flush_denormals(); /* as every training thread: Adam moments must not go subnormal */
  bench_print_machine(argc, argv);
  printf("openblas: %s (core %s), threads %d\n", openblas_get_config(), openblas_get_corename(),
         openblas_get_num_threads());
  if (slow[GEMM_OWN] > 1 || slow[GEMM_BLAS] > 1 || slow[GEMM_AVX512] > 1)
    printf(
        "INJECTED: every counted product or update runs %d times with our kernel, %d times "
        "with OpenBLAS, %d times with our SIMD kernels\n",
        slow[GEMM_OWN], slow[GEMM_BLAS], slow[GEMM_AVX512]);
  const floors_t *fl = floors_for(openblas_get_corename());
  peak_t pk;
  peak_init(&pk);
  double peak = 0, discard = 0;
  peak_sample(&pk, 1, &discard); /* warms caches and OpenBLAS's buffers */
  peak_sample(&pk, 6, &peak);
  printf(
      "timing:   thread CPU time; best of %d alternating windows of %.0f ms (products), %d of "
      "%.2f s (updates)\n",
      KERNEL_REPS, KERNEL_WINDOW_S * 1e3, UPDATE_REPS, UPDATE_WINDOW_S);

  /* The products of a 4-H-H-2 net at batch B: forward (nt), weight grads (tn), input grads. */
  printf(
      "\nkernels, GFLOP/s (own = our C kernel, blas = OpenBLAS via CBLAS; < = under the "
      "threshold of %ld multiply-adds, own is used)\n",
      OWN_MAX_MACS);
  printf("%-5s %-11s %5s %5s %5s %1s %9s %9s %8s\n", "form", "use", "m", "n", "k", "", "own",
         "blas", "own/blas");
  const int widths[] = {64, 128, 256}, batches[] = {1, 8, 32, 64, 128, 256};
  ratios_t rb = {0, 0, 0, "none"}; /* the products under the threshold */
  int n_above_own_faster = 0, n_above = 0;
  for (size_t h = 0; h < sizeof widths / sizeof *widths; h++)
    for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
      int H = widths[h], B = batches[bi];
      struct {
        int form, m, n, k;
        const char *use;
      } s[] = {
          {NT, B, H, 4, "fwd in->H"}, {NT, B, H, H, "fwd H->H"},  {NT, B, 2, H, "fwd H->out"},
          {TN, H, 4, B, "dW in->H"},  {TN, H, H, B, "dW H->H"},   {TN, 2, H, B, "dW H->out"},
          {NN, B, H, H, "dX H->H"},   {NN, B, H, 2, "dX out->H"},
      };
      int n_shapes = B >= 32 ? 8 : 3; /* worker inference only runs forward at small batch */
      for (int i = 0; i < n_shapes; i++) {
        double own, blas;
        int below = (long)s[i].m * s[i].n * s[i].k < OWN_MAX_MACS;
        kernel_pair(s[i].form, s[i].m, s[i].n, s[i].k, below ? KERNEL_REPS_BELOW : KERNEL_REPS,
                    slow, &own, &blas);
        printf("%-5s %-11s %5d %5d %5d %1s %9.2f %9.2f %8.2f\n", form_name[s[i].form], s[i].use,
               s[i].m, s[i].n, s[i].k, below ? "<" : "", own, blas, own / blas);
        if (below) {
          ratios_add(&rb, own / blas, s[i].form, s[i].use, s[i].m, s[i].n, s[i].k);
        } else {
          n_above++;
          n_above_own_faster += own > 1.2 * blas;
        }
      }
    }
  printf(
      "(at or above the threshold, own was more than 1.2x faster than OpenBLAS on %d of %d "
      "products: not asserted; re-check GEMM_OWN_MAX_MACS if that is most of them)\n",
      n_above_own_faster, n_above);

  /* Our SIMD kernels (gemm512.h: the AVX-512 ones, or with --avx2 or on a CPU without AVX-512F
   * the AVX2 ones) against OpenBLAS on the products of the presets' networks where GEMM_AUTO
   * picks them (G512_* in common/gemm.c), and a few where it does not. */
  ratios_t r512 = {0, 0, 0, "none"};
  gemm_impl_t simd = (force_avx2 || !g512_available()) && g256_available() ? GEMM_AVX2
                     : g512_available()                                   ? GEMM_AVX512
                                                                          : GEMM_AUTO;
  const char *simd_name = simd == GEMM_AVX2 ? "AVX2" : "AVX-512";
  if (simd != GEMM_AUTO) {
    struct {
      int form, m, n, k, used; /* used: GEMM_AUTO runs ours on it */
      const char *use;
    } g[] = {
        {NT, 192, 256, 256, 1, "ddqn fwd s,s'"}, {NT, 64, 256, 256, 1, "fwd 256->256"},
        {NT, 192, 256, 4, 1, "fwd 4->256"},      {NN, 64, 256, 256, 1, "dX 256->256"},
        {TN, 256, 256, 64, 1, "dW 256->256"},    {NT, 256, 300, 400, 1, "ddpg fwd 400->300"},
        {NN, 256, 400, 300, 1, "ddpg dX"},       {TN, 300, 400, 256, 1, "ddpg dW"},
        {NT, 32, 128, 1600, 1, "minatar fc"},    {NN, 32, 1600, 128, 1, "minatar fc dX"},
        {NT, 64, 1024, 1024, 1, "fwd 1024"},     {NN, 64, 1024, 1024, 1, "dX 1024"},
        {TN, 64, 64, 64, 0, "dW 64->64"},        {NN, 64, 16, 256, 0, "dX 16 cols"},
        {TN, 1024, 1024, 64, 0, "dW 1024 rows"}, {NT, 1024, 1024, 1024, 0, "1024^3"},
    };
    printf(
        "\nour %s kernels (gemm512.h) / OpenBLAS (core %s), GFLOP/s (auto: GEMM_AUTO runs ours)\n",
        simd_name, openblas_get_corename());
    printf("%-5s %-18s %5s %5s %5s %5s %9s %9s %8s\n", "form", "use", "m", "n", "k", "auto", "ours",
           "blas", "ours/blas");
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
      double ours, blas;
      kernel_pair2(g[i].form, g[i].m, g[i].n, g[i].k, KERNEL_REPS, slow, simd, GEMM_BLAS, &ours,
                   &blas);
      printf("%-5s %-18s %5d %5d %5d %5s %9.2f %9.2f %8.2f\n", form_name[g[i].form], g[i].use,
             g[i].m, g[i].n, g[i].k, g[i].used ? "yes" : "no", ours, blas, ours / blas);
      if (g[i].used) ratios_add(&r512, ours / blas, g[i].form, g[i].use, g[i].m, g[i].n, g[i].k);
    }
  }

  const int h256[2] = {256, 256}, h128[2] = {128, 128}, h64[2] = {64, 64};
  const int *hs[] = {h256, h128, h64};
  const char *names[] = {"4-256-256-2", "4-128-128-2", "4-64-64-2"};
  const gemm_impl_t impls[] = {GEMM_AUTO, GEMM_OWN, GEMM_BLAS};
  const char *impl_names[] = {"auto", "own", "blas"};
  double ups[3][3] = {{0}}, flops[3]; /* [net][gemm choice] */
  for (int i = 0; i < 3; i++) {
    nn_layout_t l;
    nn_layout_init(&l, 4, hs[i], 2, 2, NN_RELU, NN_IDENTITY);
    upd_t u[3];
    for (int j = 0; j < 3; j++) upd_init(&u[j], &l, UPDATE_BATCH);
    for (int rep = 0; rep < UPDATE_REPS; rep++) {
      for (int j = 0; j < 3; j++) {
        gemm_set_auto(impls[j]);
        double r = upd_rate(&u[j], UPDATE_WINDOW_S, slow[impls[j]]);
        if (r > ups[i][j]) ups[i][j] = r;
      }
      peak_sample(&pk, 1, &peak);
    }
    gemm_set_auto(GEMM_AUTO);
    flops[i] = u[0].flops;
    for (int j = 0; j < 3; j++) upd_free(&u[j]);
  }
  peak_free(&pk);
  printf(
      "\npeak:     OpenBLAS sgemm %d^3, one thread, A B^T and A B, best of %d over the run: "
      "%.1f GFLOP/s\n",
      PEAK_N, 6 + 3 * UPDATE_REPS, peak);
  printf("\nDQN update (forward batch %d, Huber on Q(s,a), backward, clip, Adam)\n", UPDATE_BATCH);
  printf("%-12s %-6s %12s %14s %10s\n", "net", "gemm", "updates/s", "GFLOP/s(mm)", "of peak");
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double gf = ups[i][j] * flops[i] / 1e9;
      printf("%-12s %-6s %12.0f %14.2f %9.1f%%\n", names[i], impl_names[j], ups[i][j], gf,
             100.0 * gf / peak);
    }

  double conv_worst = conv_bench(slow_conv);
  printf("\nfloors:   the %s row of bench_nn.c's floor table\n",
         fl->core ? fl->core : "any-other-kernel");
  int fails = 0;
  char what[160];
  snprintf(what, sizeof what,
           "own / OpenBLAS GFLOP/s, geometric mean over the %d products under %ld multiply-adds",
           rb.n, OWN_MAX_MACS);
  bench_check(&fails, what, ratios_geomean(&rb), fl->own_below_geomean);
  snprintf(what, sizeof what, "own / OpenBLAS GFLOP/s, the worst of them (%s)", rb.worst_shape);
  bench_check(&fails, what, rb.n ? rb.worst : 0, fl->own_below_worst);
  snprintf(what, sizeof what,
           "4-256-256-2 batch %d update: updates/s OpenBLAS / own (%.0f / %.0f; auto %.0f)",
           UPDATE_BATCH, ups[0][2], ups[0][1], ups[0][0]);
  bench_check(&fails, what, ups[0][2] / ups[0][1], fl->blas_over_own);
  bench_check(&fails,
              "conv 16x3x3 on 10x10xC: calls/s im2col + SGEMM (nn.c) / direct loop, the worst of "
              "the sizes",
              conv_worst, CONV_IM2COL_OVER_DIRECT);
  if (r512.n) {
    snprintf(what, sizeof what,
             "our %s kernels / OpenBLAS GFLOP/s, geometric mean over the %d products "
             "GEMM_AUTO gives them",
             simd_name, r512.n);
    bench_check(&fails, what, ratios_geomean(&r512), fl->avx512_geomean);
    snprintf(what, sizeof what, "our %s kernels / OpenBLAS GFLOP/s, the worst (%s)", simd_name,
             r512.worst_shape);
    bench_check(&fails, what, r512.worst, fl->avx512_worst);
  } else {
    printf(
        "report      no AVX-512F or AVX2 on this CPU: GEMM_AUTO runs OpenBLAS where it would run "
        "ours\n");
  }
  if (nn_conv_direct_available())
    bench_check(&fails,
                "conv 16x3x3 on 10x10xC: calls/s nn.c's direct AVX-512 kernels (what nn runs "
                "here) / its im2col + SGEMM, the worst of the sizes",
                conv_avx_worst, CONV_AVX_OVER_IM2COL);
  else
    printf("report      no AVX-512F on this CPU: nn's conv runs im2col + SGEMM (no direct "
           "kernel to compare)\n");
  if (fails) fprintf(stderr, "bench_nn: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
