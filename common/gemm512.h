/* gemm512: our SIMD products for an MLP's mid-sized matrices (row-major, explicit leading
 * dimensions), AVX-512F (g512_*, common/gemm512.c) and AVX2 + FMA (g256_*, common/gemm256.c),
 * one body for both (common/gemm_simd_tmpl.h); the three forms of gemm.h:
 *
 *   g512_nt  C  = A B^T (+ C if acc; or bias + A B^T)   A m x k, B n x k    forward
 *   g512_tn  C  = A^T B (+ C if acc)                    A k x m, B k x n    weight gradient
 *   g512_nn  C  = A B   (+ C if acc)                    A m x k, B k x n    input gradient
 *
 * Why our own: at a batch of 64-192 rows and 256 units OpenBLAS repacks both operands on
 * every call, ~15% of a DQN update. These pack only B, one 256 x 32 (AVX2: 256 x 16) panel at
 * a time into an L1-sized stack buffer, and read A where it lies; the forward can start each row of
 * C from the bias and end with ReLU (no separate passes over C).
 *
 * Each element of C is one chain of fused multiply-adds over p = 0 .. k-1 (starting from C,
 * the bias or 0), so slicing C by rows or columns across threads never changes a bit.
 * Callable only when g512_available() (AVX-512F) / g256_available() (AVX2 and FMA), checked once
 * per process. Any thread. */
#ifndef RLSERVE_GEMM512_H
#define RLSERVE_GEMM512_H

#include <stddef.h>

int g512_available(void);
/* The same products for AVX2 + FMA (common/gemm256.c; 6 x 16 register blocks, 256 x 16
 * panels), where the CPU has those: g256_available(). */
int g256_available(void);
void g256_nt(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, const float *bias, int relu, float *C, size_t ldc);
void g256_tn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc);
void g256_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc);

void g512_nt(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, const float *bias, int relu, float *C, size_t ldc);
void g512_tn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc);
void g512_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc);

#endif
