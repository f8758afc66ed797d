/* gemm: the three single-precision matrix products of an MLP, row-major, no padding
 * (leading dimension = row length). C is m x n in every form.
 *
 *   gemm_nt  C  = A B^T (+ C if acc)   A m x k, B n x k    forward:      Y  = X W^T
 *   gemm_tn  C += A^T B                A k x m, B k x n    weight grad:  dW += dZ^T X
 *   gemm_nn  C  = A B   (+ C if acc)   A m x k, B k x n    input grad:   dX = dZ W
 *
 * Three implementations: our own cache-blocked plain C kernels (auto-vectorized by the
 * compiler), our SIMD kernels (gemm512.h: AVX-512F where the CPU has it, else AVX2 + FMA) and
 * OpenBLAS through CBLAS. GEMM_AUTO picks per call from the shape (the thresholds come from
 * tests/bench/bench_nn.c); GEMM_OWN forces the plain kernels, GEMM_BLAS OpenBLAS, GEMM_AVX512
 * and GEMM_AVX2 our SIMD ones. OpenBLAS is set to one thread the first
 * time a BLAS path runs (pthread_once), so products always run on the calling thread.
 *
 * Many threads: a thread that called gemm_set_pool(pool) splits each of its products that is
 * large enough (gemm.c: GEMM_SPLIT_MIN_MACS) across the pool: the forward (nt) and the input
 * gradient (nn) by columns of C (output or input units) when it has at least as many columns
 * as rows and runs on OpenBLAS, else by rows of C (batch rows); the weight gradient (tn) by rows
 * of dW (output units). Every element of C is computed by one thread, as one thread would, so
 * there is no cross-thread reduction and the result for a given pool size never depends on
 * timing.
 *
 * Threads: any thread may call any function; nothing is shared but the one-time setup and the
 * pool a thread set for itself. */
#ifndef RLSERVE_GEMM_H
#define RLSERVE_GEMM_H

#include <stddef.h>

#include "tpool.h"

/* GEMM_AVX512 / GEMM_AVX2: our SIMD kernels of that width at any shape (tests, benchmarks);
 * OpenBLAS where the CPU lacks them. */
typedef enum {
  GEMM_AUTO = 0,
  GEMM_OWN = 1,
  GEMM_BLAS = 2,
  GEMM_AVX512 = 3,
  GEMM_AVX2 = 4
} gemm_impl_t;

void gemm_nt(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, int acc,
             float *C);
void gemm_tn(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, float *C);
/* The affine layer's forward in one pass: C = rows of bias + A B^T, then max(C, 0) if relu.
 * Only where GEMM_AUTO (or impl) picks our SIMD kernels for this shape: else returns 0
 * having done nothing (the caller fills the bias rows, calls gemm_nt with acc, activates). */
int gemm_nt_bias(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B,
                 const float *bias, int relu, float *C);
/* The vector width in bits of the SIMD kernels GEMM_AUTO uses here: 512, 256, or 0 (none). */
int gemm_simd_width(void);
/* Caps that width (512, 256, 0: OpenBLAS for every product GEMM_AUTO gave ours), as a CPU
 * without AVX-512F (or without AVX2) would run. For benchmarks; call before other threads use
 * gemm. */
void gemm_set_simd_max(int bits);
void gemm_nn(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, int acc,
             float *C);

/* The three products with explicit row strides (lda, ldb, ldc: floats from one row to the
 * next), always on the calling thread (never split across its pool): for callers that split
 * the work themselves (nnpar.h). The kernel is GEMM_AUTO's pick for the shape.
 *   gemm_affine_ld  C = (C if acc, else the bias row or 0) + A B^T, then max(C, 0) if relu
 *   gemm_tn_ld      C = (C if acc) + A^T B
 *   gemm_nn_ld      C = (C if acc) + A B
 * On our SIMD kernels each element of C is one chain of fused multiply-adds in p order from
 * its start (gemm512.h), so a product over k split into consecutive calls with acc gives the
 * bits of one call. */
void gemm_affine_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                    int acc, const float *bias, int relu, float *C, size_t ldc);
void gemm_tn_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                int acc, float *C, size_t ldc);
void gemm_nn_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                int acc, float *C, size_t ldc);

/* Sets OpenBLAS to one thread (once per process; also done implicitly by the BLAS path).
 * OpenBLAS's pthread build still creates its idle pool when the library loads; set
 * OPENBLAS_NUM_THREADS=1 in the environment to avoid even that. */
void gemm_init(void);

/* Makes GEMM_AUTO mean `impl` in this process (GEMM_AUTO restores the shape rule). For
 * benchmarks and tests; call before other threads use gemm. */
void gemm_set_auto(gemm_impl_t impl);

/* OpenBLAS kernels (DYNAMIC_ARCH): 0.3.21 does not recognise some recent Intel CPUs and runs
 * its SSE3 Prescott kernels on them (~30 GFLOP/s instead of ~140 on an AVX-512 Xeon). When the
 * kernels OpenBLAS chose are one of its pre-AVX generic ones on an Intel CPU with AVX-512
 * (F, BW, DQ, VL: "SkylakeX") or AVX2+FMA ("Haswell"), returns that name, which
 * OPENBLAS_CORETYPE must hold before the library loads (rlserve re-executes itself); else
 * NULL. */
const char *gemm_better_coretype(void);
/* The kernel family OpenBLAS runs ("Prescott", "SkylakeX", ...). */
const char *gemm_corename(void);

/* The pool this thread's products are split across (NULL, the default: this thread only).
 * The pool's own threads run their parts single-threaded (the setting is per thread). */
void gemm_set_pool(tpool_t *pool);
tpool_t *gemm_pool(void);

#endif
