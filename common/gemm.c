/* gemm: own kernels and the CBLAS path; see gemm.h. The own kernels are written so that
 * gcc -O3 vectorizes them without -ffast-math: the vectorized loops run along rows of C, so
 * every lane is a different output and no floating-point sum is reassociated. */
#include "gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "gemm512.h"
#include "tpool.h"

/* Below this many multiply-adds (m*n*k) a product runs in our own kernel, at and above it in
 * OpenBLAS. Measured by tests/bench/bench_nn.c (see tests/bench/README.md): OpenBLAS's
 * runtime-selected AVX-512 kernels beat our SSE2 code (the build targets baseline x86-64)
 * 2-10x from a few thousand multiply-adds up, while below ~500 (a batch-1 input or output
 * layer) its per-call overhead dominates and our kernel is 1.1-1.4x faster. */
#define GEMM_OWN_MAX_MACS 512L

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_setup(void) { openblas_set_num_threads(1); }
void gemm_init(void) { pthread_once(&blas_once, blas_setup); }

const char *gemm_corename(void) { return openblas_get_corename(); }

const char *gemm_better_coretype(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const char *const generic[] = {"Prescott", "Core2",  "Penryn",     "Dunnington",
                                        "Nehalem",  "Katmai", "Coppermine", "Northwood",
                                        "Banias",   NULL};
  const char *core = openblas_get_corename();
  int is_generic = 0;
  for (int i = 0; generic[i]; i++) is_generic |= strcmp(core, generic[i]) == 0;
  __builtin_cpu_init();
  if (!is_generic || !__builtin_cpu_is("intel")) return NULL;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return NULL;
}

static gemm_impl_t auto_means = GEMM_AUTO;
void gemm_set_auto(gemm_impl_t impl) { auto_means = impl; }

/* Which kernel runs a product: our plain C ones, our SIMD ones (gemm512.h) or OpenBLAS. */
enum { K_BLAS = 0, K_OWN = 1, K_512 = 2, K_256 = 3 };

/* Our SIMD products (gemm512.h) by kernel: AVX-512F or AVX2 + FMA; NULL for the others. */
typedef struct simd {
  void (*nt)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
             const float *bias, int relu, float *C, size_t ldc);
  void (*tn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
             float *C, size_t ldc);
  void (*nn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
             float *C, size_t ldc);
} simd_t;
static const simd_t simd512 = {g512_nt, g512_tn, g512_nn}, simd256 = {g256_nt, g256_tn, g256_nn};
static const simd_t *simd_of(int kern) {
  return kern == K_512 ? &simd512 : kern == K_256 ? &simd256 : NULL;
}

/* GEMM_AUTO's use of our SIMD kernels (the AVX-512 ones, else the AVX2 ones), from
 * tests/bench/bench_nn.c's shape sweep (SkylakeX OpenBLAS 0.3.21 alongside, 2026-12-01): they beat
 * OpenBLAS 1.07-1.6x on the forward from 32 output columns up (192 x 256 x 4 to 64 x 1024 x 1024)
 * and 0.98-1.35x on the gradients from ~1M multiply-adds up, but lose to OpenBLAS's unpacked
 * small-matrix kernels below that and narrower than 32 columns (0.5-0.9x), and to its full blocking
 * past 512 rows of C (1024^3: 0.8x). The AVX2 ones against OpenBLAS's Haswell kernels on the same
 * shapes: 1.02-1.28x, 0.94-0.975x on the 64 x 1024 x 1024 input gradient, 0.75x at 1024^3 (bench_nn
 * --avx2). */
#define G512_MAX_ROWS 512
#define G512_MAX_MACS 134217728L
#define G512_MIN_GRAD_MACS 1048576L

static int simd_max = 512; /* gemm_set_simd_max */
void gemm_set_simd_max(int bits) { simd_max = bits; }

int gemm_simd_width(void) {
  if (simd_max >= 512 && g512_available()) return 512;
  if (simd_max >= 256 && g256_available()) return 256;
  return 0;
}

static int use_simd(int op_nt, int m, int n, int k) {
  long macs = (long)m * n * k;
  if (n < 32 || m > G512_MAX_ROWS || macs > G512_MAX_MACS) return K_BLAS;
  if (!op_nt && macs < G512_MIN_GRAD_MACS) return K_BLAS;
  int w = gemm_simd_width();
  return w == 512 ? K_512 : w == 256 ? K_256 : K_BLAS;
}

static int pick(gemm_impl_t impl, int op_nt, int m, int n, int k) {
  if (impl == GEMM_AUTO) impl = auto_means;
  if (impl == GEMM_OWN) return K_OWN;
  if (impl == GEMM_BLAS) return K_BLAS;
  if (impl == GEMM_AVX512) return g512_available() ? K_512 : K_BLAS;
  if (impl == GEMM_AVX2) return g256_available() ? K_256 : K_BLAS;
  if ((long)m * n * k < GEMM_OWN_MAX_MACS) return K_OWN;
  return use_simd(op_nt, m, n, k);
}

/* ---- C (+)= op(A) B: rank-1 updates of four rows of C at a time ----------------------- */

/* The inner loop runs along a row of C and a row of B, both contiguous, with four
 * independent output rows: gcc vectorizes it without reassociating any sum. The four C rows
 * (at most a few KB at our widths) stay in L1 while B streams past. A(i, p) is
 * A[i * ars + p * acs]; B is k x n with row stride ldb; C is m x n with row stride ldc. */
static void axpy4(int m, int n, int k, const float *A, size_t ars, size_t acs, const float *B,
                  size_t ldb, float *C, size_t ldc) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    float *restrict c0 = C + (size_t)i * ldc, *restrict c1 = c0 + ldc;
    float *restrict c2 = c1 + ldc, *restrict c3 = c2 + ldc;
    const float *a = A + (size_t)i * ars;
    for (int p = 0; p < k; p++, a += acs) {
      const float *restrict b = B + (size_t)p * ldb;
      float a0 = a[0], a1 = a[ars], a2 = a[2 * ars], a3 = a[3 * ars];
      for (int j = 0; j < n; j++) {
        c0[j] += a0 * b[j];
        c1[j] += a1 * b[j];
        c2[j] += a2 * b[j];
        c3[j] += a3 * b[j];
      }
    }
  }
  for (; i < m; i++) {
    float *restrict c = C + (size_t)i * ldc;
    const float *a = A + (size_t)i * ars;
    for (int p = 0; p < k; p++, a += acs) {
      const float *restrict b = B + (size_t)p * ldb;
      float ap = a[0];
      for (int j = 0; j < n; j++) c[j] += ap * b[j];
    }
  }
}

static void zero_rows(int m, int n, float *C) {
  for (size_t i = 0; i < (size_t)m * n; i++) C[i] = 0.0f;
}

/* C = A B^T: B (n x k) is transposed block by block into a stack panel of NT_KB x NT_NB
 * (32 KB, L1-sized), then each panel is an axpy4 product. The transpose costs n*k moves per
 * call, against m*n*k multiply-adds. */
#define NT_KB 128
#define NT_NB 64

/* Four partial sums, so the loop is not one serial chain of adds. */
static float dot(const float *a, const float *b, int k) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 += a[p] * b[p];
    s1 += a[p + 1] * b[p + 1];
    s2 += a[p + 2] * b[p + 2];
    s3 += a[p + 3] * b[p + 3];
  }
  for (; p < k; p++) s0 += a[p] * b[p];
  return (s0 + s1) + (s2 + s3);
}

static void own_nt(int m, int n, int k, const float *A, const float *B, int acc, float *C) {
  if (m < 4 || n < 8) { /* too few rows to pay for the transpose, or too narrow a panel */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        float t = dot(A + (size_t)i * k, B + (size_t)j * k, k);
        C[(size_t)i * n + j] = acc ? C[(size_t)i * n + j] + t : t;
      }
    return;
  }
  float panel[NT_KB * NT_NB];
  if (!acc) zero_rows(m, n, C);
  for (int j0 = 0; j0 < n; j0 += NT_NB) {
    int nb = n - j0 < NT_NB ? n - j0 : NT_NB;
    for (int p0 = 0; p0 < k; p0 += NT_KB) {
      int kb = k - p0 < NT_KB ? k - p0 : NT_KB;
      for (int j = 0; j < nb; j++)
        for (int p = 0; p < kb; p++) panel[p * nb + j] = B[(size_t)(j0 + j) * k + p0 + p];
      axpy4(m, nb, kb, A + p0, (size_t)k, 1, panel, (size_t)nb, C + j0, (size_t)n);
    }
  }
}

/* C's m rows of n floats (stride ldc) set to the bias row, or to 0. */
static void start_rows(int m, int n, const float *bias, float *C, size_t ldc) {
  for (int i = 0; i < m; i++) {
    float *c = C + (size_t)i * ldc;
    if (bias)
      memcpy(c, bias, (size_t)n * sizeof(float));
    else
      memset(c, 0, (size_t)n * sizeof(float));
  }
}

/* ---- one thread: the products on a slice of C's rows --------------------------------------- */

/* bias, relu: only on our SIMD kernels (gemm_nt_bias). lda: A's row stride (k for nt and
 * nn; the full m for tn, whose slice starts at column lo). */
static void run_nt(int kern, int m, int n, int k, const float *A, const float *B, int acc,
                   const float *bias, int relu, float *C) {
  const simd_t *v = simd_of(kern);
  if (v)
    v->nt(m, n, k, A, (size_t)k, B, (size_t)k, acc, bias, relu, C, (size_t)n);
  else if (kern == K_OWN)
    own_nt(m, n, k, A, B, acc, C);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k,
                acc ? 1.0f : 0.0f, C, n);
}

/* The two gradient forms on kernel kern: C = (C if acc) + op(A) B, op(A) = A^T (a_t: A is
 * k x m) or A (m x k); explicit row strides. */
static void run_grad(int kern, int a_t, int m, int n, int k, const float *A, size_t lda,
                     const float *B, size_t ldb, int acc, float *C, size_t ldc) {
  if (m <= 0 || n <= 0) return;
  const simd_t *v = simd_of(kern);
  if (v && k > 0) {
    (a_t ? v->tn : v->nn)(m, n, k, A, lda, B, ldb, acc, C, ldc);
  } else if (kern == K_OWN || k <= 0) {
    if (!acc) start_rows(m, n, NULL, C, ldc);
    if (k > 0) axpy4(m, n, k, A, a_t ? 1 : lda, a_t ? lda : 1, B, ldb, C, ldc);
  } else {
    gemm_init();
    cblas_sgemm(CblasRowMajor, a_t ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A,
                (int)lda, B, (int)ldb, acc ? 1.0f : 0.0f, C, (int)ldc);
  }
}

static void run_tn(int kern, int m, int n, int k, const float *A, int lda, const float *B,
                   float *C) {
  run_grad(kern, 1, m, n, k, A, (size_t)lda, B, (size_t)n, 1, C, (size_t)n);
}

static void run_nn(int kern, int m, int n, int k, const float *A, const float *B, int acc,
                   float *C) {
  run_grad(kern, 0, m, n, k, A, (size_t)k, B, (size_t)n, acc, C, (size_t)n);
}

/* ---- many threads: C's rows split across this thread's pool ------------------------------- */

/* A product is split when it has at least this many multiply-adds (below, the hand-over of a
 * few microseconds would cost more than the second thread saves) and at least GEMM_GRAIN rows
 * of C per thread. Slices are whole multiples of GEMM_GRAIN rows (the kernels' register blocks),
 * the last one taking the rest; the slicing depends only on m and the pool's size. */
#define GEMM_SPLIT_MIN_MACS 524288L
#define GEMM_GRAIN 8

static _Thread_local tpool_t *tl_pool;

void gemm_set_pool(tpool_t *pool) { tl_pool = pool; }
tpool_t *gemm_pool(void) { return tl_pool; }

typedef enum { OP_NT, OP_TN, OP_NN } gemm_op_t;
typedef struct split {
  gemm_op_t op;
  int kern, m, n, k, acc, relu;
  int by_cols; /* slices of C's columns (nt and nn, not on the plain kernels), else of its rows */
  const float *A, *B, *bias;
  float *C;
} split_t;

/* Slice `part` of `len` rows or columns: whole GEMM_GRAIN blocks, the last one the rest. */
static void split_range(int len, int part, int n_parts, int *lo, int *hi) {
  size_t l, h;
  tpool_slice((size_t)len, GEMM_GRAIN, part, n_parts, &l, &h);
  *lo = (int)l;
  *hi = (int)h;
}

/* Columns lo..hi of C with the full row strides. */
static void slice_cols(const split_t *s, int lo, int hi) {
  int w = hi - lo, n = s->n, k = s->k;
  const simd_t *v = simd_of(s->kern);
  float *C = s->C + lo;
  if (s->op == OP_NT) { /* C[:, lo:hi] = A B[lo:hi, :]^T */
    const float *B = s->B + (size_t)lo * k;
    if (v)
      v->nt(s->m, w, k, s->A, (size_t)k, B, (size_t)k, s->acc, s->bias ? s->bias + lo : NULL,
              s->relu, C, (size_t)n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->m, w, k, 1.0f, s->A, k, B, k,
                  s->acc ? 1.0f : 0.0f, C, n);
  } else if (v) { /* OP_NN: C[:, lo:hi] = A B[:, lo:hi] */
    v->nn(s->m, w, k, s->A, (size_t)k, s->B + lo, (size_t)n, s->acc, C, (size_t)n);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, w, k, 1.0f, s->A, k, s->B + lo,
                n, s->acc ? 1.0f : 0.0f, C, n);
  }
}

static void split_part(void *arg, int part, int n_parts) {
  const split_t *s = arg;
  int lo, hi;
  split_range(s->by_cols ? s->n : s->m, part, n_parts, &lo, &hi);
  if (hi <= lo) return;
  if (s->by_cols) {
    slice_cols(s, lo, hi);
    return;
  }
  int rows = hi - lo;
  switch (s->op) {
    case OP_NT:
      run_nt(s->kern, rows, s->n, s->k, s->A + (size_t)lo * s->k, s->B, s->acc, s->bias, s->relu,
             s->C + (size_t)lo * s->n);
      break;
    case OP_TN: /* rows lo..hi of C are columns lo..hi of A (k x m) */
      run_tn(s->kern, rows, s->n, s->k, s->A + lo, s->m, s->B, s->C + (size_t)lo * s->n);
      break;
    case OP_NN:
      run_nn(s->kern, rows, s->n, s->k, s->A + (size_t)lo * s->k, s->B, s->acc,
             s->C + (size_t)lo * s->n);
      break;
  }
}

/* 1 when this thread has a pool and the product is worth splitting (then it has run). The
 * forward (nt) and input-gradient (nn) products split C's columns (output units, input units)
 * when there are at least as many as rows: with a batch of 64, two 64 x 128 x 256 halves run
 * ~20% faster on OpenBLAS's AVX-512 kernels than two 32 x 256 x 256 ones (each thread packs
 * half of W, not all of it), and ours pack B per column panel too. Otherwise, and for the
 * weight gradient (tn), C's rows. */
static int run_split(gemm_op_t op, int kern, int m, int n, int k, const float *A, const float *B,
                     int acc, const float *bias, int relu, float *C) {
  tpool_t *p = tl_pool;
  int t = tpool_size(p);
  if (t < 2 || (long)m * n * k < GEMM_SPLIT_MIN_MACS) return 0;
  int by_cols = kern != K_OWN && op != OP_TN && n >= m && n >= 2 * GEMM_GRAIN;
  if (!by_cols && m < 2 * GEMM_GRAIN) return 0;
  split_t s = {op, kern, m, n, k, acc, relu, by_cols, A, B, bias, C};
  tpool_run(p, split_part, &s);
  return 1;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void gemm_nt(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, int acc,
             float *C) {
  int kern = pick(impl, 1, m, n, k);
  if (kern == K_BLAS) gemm_init();
  if (!run_split(OP_NT, kern, m, n, k, A, B, acc, NULL, 0, C))
    run_nt(kern, m, n, k, A, B, acc, NULL, 0, C);
}

int gemm_nt_bias(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B,
                 const float *bias, int relu, float *C) {
  int kern = pick(impl, 1, m, n, k);
  if (!simd_of(kern)) return 0;
  if (!run_split(OP_NT, kern, m, n, k, A, B, 0, bias, relu, C))
    run_nt(kern, m, n, k, A, B, 0, bias, relu, C);
  return 1;
}

void gemm_tn(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, float *C) {
  int kern = pick(impl, 0, m, n, k);
  if (kern == K_BLAS) gemm_init();
  if (!run_split(OP_TN, kern, m, n, k, A, B, 1, NULL, 0, C)) run_tn(kern, m, n, k, A, m, B, C);
}

void gemm_nn(gemm_impl_t impl, int m, int n, int k, const float *A, const float *B, int acc,
             float *C) {
  int kern = pick(impl, 0, m, n, k);
  if (kern == K_BLAS) gemm_init();
  if (!run_split(OP_NN, kern, m, n, k, A, B, acc, NULL, 0, C)) run_nn(kern, m, n, k, A, B, acc, C);
}

/* ---- strided products on this thread (gemm.h: the _ld forms) ------------------------------ */

void gemm_affine_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                    int acc, const float *bias, int relu, float *C, size_t ldc) {
  if (m <= 0 || n <= 0) return;
  int kern = pick(GEMM_AUTO, 1, m, n, k);
  const simd_t *v = simd_of(kern);
  if (v && k > 0) {
    v->nt(m, n, k, A, lda, B, ldb, acc, acc ? NULL : bias, relu, C, ldc);
    return;
  }
  if (!acc) start_rows(m, n, bias, C, ldc);
  if (k > 0 && kern == K_OWN) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++)
        C[(size_t)i * ldc + j] += dot(A + (size_t)i * lda, B + (size_t)j * ldb, k);
  } else if (k > 0) {
    gemm_init();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, (int)lda, B, (int)ldb,
                1.0f, C, (int)ldc);
  }
  if (relu)
    for (int i = 0; i < m; i++) {
      float *c = C + (size_t)i * ldc;
      for (int j = 0; j < n; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
    }
}

void gemm_tn_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                int acc, float *C, size_t ldc) {
  run_grad(pick(GEMM_AUTO, 0, m, n, k), 1, m, n, k, A, lda, B, ldb, acc, C, ldc);
}

void gemm_nn_ld(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
                int acc, float *C, size_t ldc) {
  run_grad(pick(GEMM_AUTO, 0, m, n, k), 0, m, n, k, A, lda, B, ldb, acc, C, ldc);
}
