/* gemm512: AVX-512 products for the MLP's mid-sized matrices; see gemm512.h. */
#include "gemm512.h"

#include <pthread.h>
#include <stddef.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))
#define KC 256 /* rows of B per packed panel: 32 KB with NR, L1-sized */
#define NR 32  /* columns of C per register block: two vectors */

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int cpu_ok;
static void cpu_check(void) {
  __builtin_cpu_init();
  cpu_ok = __builtin_cpu_supports("avx512f");
}
int g512_available(void) {
  pthread_once(&cpu_once, cpu_check);
  return cpu_ok;
}

/* The register block: MR rows x 32 columns of C in 2 * MR accumulators. Per row p of the panel
 * (32 contiguous floats of B), every row's A value is broadcast and multiplied into both
 * vectors: each output is one chain of fused multiply-adds in the order p = 0, 1, ...; so the
 * result does not depend on how C's rows or columns are sliced. A(i, p) = A[i * ars + p * acs].
 * start: NULL to start from C (accumulate), else the 32 floats each row starts from (the bias,
 * or zeros). relu: max(c, 0) before the store. m0, m1: the columns present (a tail block). */
#define KERNEL(MR)                                                                             \
  T512 static void kern_##MR(int kb, const float *A, size_t ars, size_t acs, const float *P,    \
                             float *C, size_t ldc, __mmask16 m0, __mmask16 m1,                 \
                             const float *start, int relu) {                                   \
    __m512 c0[MR], c1[MR];                                                                     \
    if (start) {                                                                               \
      __m512 s0 = _mm512_maskz_loadu_ps(m0, start), s1 = _mm512_maskz_loadu_ps(m1, start + 16); \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = s0;                                                                            \
        c1[i] = s1;                                                                            \
      }                                                                                        \
    } else {                                                                                   \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = _mm512_maskz_loadu_ps(m0, C + i * ldc);                                        \
        c1[i] = _mm512_maskz_loadu_ps(m1, C + i * ldc + 16);                                   \
      }                                                                                        \
    }                                                                                          \
    for (int p = 0; p < kb; p++) {                                                             \
      __m512 b0 = _mm512_load_ps(P + (size_t)p * NR), b1 = _mm512_load_ps(P + (size_t)p * NR + 16); \
      const float *a = A + (size_t)p * acs;                                                    \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        __m512 av = _mm512_set1_ps(a[i * ars]);                                                \
        c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);                                                \
        c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);                                                \
      }                                                                                        \
    }                                                                                          \
    if (relu) {                                                                                \
      __m512 z = _mm512_setzero_ps();                                                          \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = _mm512_max_ps(c0[i], z);                                                       \
        c1[i] = _mm512_max_ps(c1[i], z);                                                       \
      }                                                                                        \
    }                                                                                          \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                    \
      _mm512_mask_storeu_ps(C + i * ldc, m0, c0[i]);                                           \
      _mm512_mask_storeu_ps(C + i * ldc + 16, m1, c1[i]);                                      \
    }                                                                                          \
  }
KERNEL(12)
KERNEL(8)
KERNEL(4)
KERNEL(1)

/* All rows of C for one packed panel, in blocks of 12, then 8, 4 and single rows. */
T512 static void panel_rows(int m, int kb, const float *A, size_t ars, size_t acs, const float *P,
                            float *C, size_t ldc, __mmask16 m0, __mmask16 m1, const float *start,
                            int relu) {
  int i = 0;
  for (; i + 12 <= m; i += 12)
    kern_12(kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i + 8 <= m; i += 8)
    kern_8(kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i + 4 <= m; i += 4)
    kern_4(kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i < m; i++) kern_1(kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
}

/* out(c, r) = in(r, c) for a 16 x 16 block (row strides ldi, ldo floats). */
T512 static void transpose16(const float *in, size_t ldi, float *out, size_t ldo) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(in + (size_t)i * ldi);
  for (int i = 0; i < 16; i += 2) { /* 2x2 blocks of single floats */
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) { /* 4x4 blocks: pairs of floats */
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int i = 0; i < 4; i++) { /* 128-bit lanes: rows i, i + 4 and i + 8, i + 12 */
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(out + (size_t)i * ldo, r[i]);
}

/* Panel: rows p0..p0+kb of B's columns j0..j0+nb as kb x 32 contiguous floats (zeros past nb).
 * b_t: B is stored n x k (the forward's W), so B(p, j) = B[j * ldb + p]; else B(p, j) =
 * B[p * ldb + j]. */
T512 static void pack(int b_t, const float *B, size_t ldb, int p0, int kb, int j0, int nb,
                      float *P) {
  if (!b_t) {
    __mmask16 m0 = nb >= 16 ? 0xffff : (__mmask16)((1u << nb) - 1);
    __mmask16 m1 = nb >= 32 ? 0xffff : nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : 0;
    for (int p = 0; p < kb; p++) {
      const float *b = B + (size_t)(p0 + p) * ldb + j0;
      _mm512_store_ps(P + (size_t)p * NR, _mm512_maskz_loadu_ps(m0, b));
      _mm512_store_ps(P + (size_t)p * NR + 16, _mm512_maskz_loadu_ps(m1, b + 16));
    }
    return;
  }
  int j = 0;
  for (; j + 16 <= nb; j += 16) { /* 16 x 16 blocks transposed in registers */
    const float *b = B + (size_t)(j0 + j) * ldb + p0;
    int p = 0;
    for (; p + 16 <= kb; p += 16) transpose16(b + p, ldb, P + (size_t)p * NR + j, NR);
    for (; p < kb; p++)
      for (int q = 0; q < 16; q++) P[(size_t)p * NR + j + q] = b[(size_t)q * ldb + p];
  }
  for (; j < NR; j++) {
    if (j >= nb) {
      for (int p = 0; p < kb; p++) P[(size_t)p * NR + j] = 0.0f;
      continue;
    }
    const float *b = B + (size_t)(j0 + j) * ldb + p0;
    for (int p = 0; p < kb; p++) P[(size_t)p * NR + j] = b[p];
  }
}

/* C (+)= A' B' for any of the three forms: A(i, p) = A[i * ars + p * acs], B' as pack() reads
 * it. bias: the start of every row of C (overrides acc; NULL for none). */
T512 static void product(int m, int n, int k, const float *A, size_t ars, size_t acs, int b_t,
                         const float *B, size_t ldb, int acc, const float *bias, int relu,
                         float *C, size_t ldc) {
  _Alignas(64) float P[KC * NR];
  _Alignas(64) static const float zeros[NR];
  for (int p0 = 0; p0 < k; p0 += KC) {
    int kb = k - p0 < KC ? k - p0 : KC, last = p0 + kb >= k;
    for (int j0 = 0; j0 < n; j0 += NR) {
      int nb = n - j0 < NR ? n - j0 : NR;
      __mmask16 m0 = nb >= 16 ? 0xffff : (__mmask16)((1u << nb) - 1);
      __mmask16 m1 = nb >= 32 ? 0xffff : nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : 0;
      const float *start = NULL;
      if (p0 == 0 && bias) start = bias + j0;
      else if (p0 == 0 && !acc) start = zeros;
      pack(b_t, B, ldb, p0, kb, j0, nb, P);
      panel_rows(m, kb, A + (size_t)p0 * acs, ars, acs, P, C + j0, ldc, m0, m1, start,
                 relu && last);
    }
  }
}

void g512_nt(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, const float *bias, int relu, float *C, size_t ldc) {
  product(m, n, k, A, lda, 1, 1, B, ldb, acc, bias, relu, C, ldc);
}

void g512_tn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             float *C, size_t ldc) {
  product(m, n, k, A, 1, lda, 0, B, ldb, 1, NULL, 0, C, ldc);
}

void g512_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc) {
  product(m, n, k, A, lda, 1, 0, B, ldb, acc, NULL, 0, C, ldc);
}

#else
int g512_available(void) { return 0; }
void g512_nt(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, const float *bias, int relu, float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)acc, (void)bias,
      (void)relu, (void)C, (void)ldc;
}
void g512_tn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc;
}
void g512_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
             int acc, float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)acc, (void)C,
      (void)ldc;
}
#endif
