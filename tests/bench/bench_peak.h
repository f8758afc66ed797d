/* bench_peak: the same-run SGEMM peak the trainer benchmarks compare an update with
 * (bench_trainer.c, bench_trainer_conv.c): the best rate of a BENCH_PEAK_N^3 float product on
 * the calling thread alone over `reps` tries, by OpenBLAS's cblas_sgemm and by gemm's SIMD
 * kernel (gemm512.h: AVX-512F, else AVX2 + FMA, where the CPU has them): the core's peak is the fastest kernel either
 * has for it. With OpenBLAS's AVX-512 kernels theirs is the faster (~1.25x ours at 1024^3);
 * with the SSE3 Prescott kernels OpenBLAS picks on some CPUs ours is (~3.5x), and the updates'
 * products run on ours there too, so a Prescott-only peak would overstate every fraction.
 * Include after bench_machine.h. */
#ifndef RLSERVE_BENCH_PEAK_H
#define RLSERVE_BENCH_PEAK_H

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gemm.h"
#include "gemm512.h"
#include "rng.h"

#define BENCH_PEAK_N 1024

static inline double bench_wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The operands of the peak product. */
typedef struct peak {
  float *a, *b, *c;
} peak_t;

static inline void peak_init(peak_t *p) {
  const size_t nn = (size_t)BENCH_PEAK_N * BENCH_PEAK_N;
  p->a = malloc(nn * sizeof(float));
  p->b = malloc(nn * sizeof(float));
  p->c = malloc(nn * sizeof(float));
  if (!p->a || !p->b || !p->c) {
    fprintf(stderr, "bench: out of memory for the sgemm peak\n");
    exit(1);
  }
  rng_t r;
  rng_seed(&r, 7);
  for (size_t i = 0; i < nn; i++) {
    p->a[i] = (float)rng_range(&r, -1, 1);
    p->b[i] = (float)rng_range(&r, -1, 1);
  }
}

static inline void peak_free(peak_t *p) {
  free(p->a);
  free(p->b);
  free(p->c);
}

/* `reps` products C = A B on this thread alone; folds the best GFLOP/s into *best. */
static inline void sgemm_peak(const peak_t *p, int reps, double *best) {
  const int n = BENCH_PEAK_N;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = bench_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, p->a, n, p->b, n, 0.0f,
                p->c, n);
    double g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
    if (g > *best) *best = g;
    int w = gemm_simd_width(); /* what GEMM_AUTO runs here (gemm_set_simd_max caps it) */
    if (!w) continue;
    t0 = bench_now();
    if (w == 512)
      g512_nn(n, n, n, p->a, (size_t)n, p->b, (size_t)n, 0, p->c, (size_t)n);
    else
      g256_nn(n, n, n, p->a, (size_t)n, p->b, (size_t)n, 0, p->c, (size_t)n);
    g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
    if (g > *best) *best = g;
  }
}

#endif
