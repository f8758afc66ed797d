/* gemm_simd_tmpl.h: the body of our SIMD products (gemm512.h), written once for every vector
 * width; included only by gemm512.c (AVX-512F) and gemm256.c (AVX2 + FMA), each of which first
 * defines, for its instruction set:
 *   SIMD_T             the function attribute (target("..."))
 *   VEC, VL            the vector type and its floats; NR = 2 VL columns per register block
 *   MASK               a column mask type; MASK_OF(n) the first n of VL lanes (0 <= n <= VL)
 *   LOADM(m, p), STOREM(p, m, v)   masked unaligned load (zeros elsewhere) and store
 *   LOADA(p), STOREA(p, v), SET1(x), FMA(a, b, c) = a b + c, MAXV(a, b), ZEROV()
 *   TRANSPOSE(in, ldi, out, ldo)   out(c, r) = in(r, c) for a VL x VL block
 *   MR0 > MR1 > MR2 > 1            the register blocks' row counts (MR0 rows: 2 MR0 accumulators)
 *   FN(name)           the public name (g512_name, g256_name)
 *   CPU_OK()           true when this CPU has the instruction set (after __builtin_cpu_init)
 * or, where the compiler cannot target x86 vector extensions, only FN and SIMD_NONE (then
 * FN(available) returns 0 and the products do nothing: gemm.c never calls them).
 * The C of every form is m x n with row stride ldc; each element is one chain of fused
 * multiply-adds over p = 0 .. k-1 from its start (C, the bias or 0), so the result does not
 * depend on how C's rows or columns are sliced across threads. */

#include <pthread.h>
#include <stddef.h>

#ifdef SIMD_NONE
int FN(available)(void) { return 0; }
void FN(nt)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            const float *bias, int relu, float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)acc, (void)bias,
      (void)relu, (void)C, (void)ldc;
}
void FN(tn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)acc, (void)C, (void)ldc;
}
void FN(nn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            float *C, size_t ldc) {
  (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)acc, (void)C, (void)ldc;
}
#else

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int cpu_ok;
static void cpu_check(void) {
  __builtin_cpu_init();
  cpu_ok = CPU_OK();
}
int FN(available)(void) {
  pthread_once(&cpu_once, cpu_check);
  return cpu_ok;
}

#define KC 256 /* rows of B per packed panel: KC x NR floats, L1-sized */
#define NR (2 * VL)

/* The register block: MR rows x NR columns of C in 2 MR accumulators. Per row p of the panel
 * (NR contiguous floats of B) every row's A value is broadcast and multiplied into both vectors.
 * A(i, p) = A[i * ars + p * acs]. start: NULL to start from C (accumulate), else the NR floats
 * each row starts from (the bias, or zeros). relu: max(c, 0) before the store. m0, m1: the
 * columns present (a tail block). */
#define KERNEL(MR)                                                                             \
  SIMD_T static void kern_##MR(int kb, const float *A, size_t ars, size_t acs, const float *P, \
                               float *C, size_t ldc, MASK m0, MASK m1, const float *start,     \
                               int relu) {                                                     \
    VEC c0[MR], c1[MR];                                                                        \
    if (start) {                                                                               \
      VEC s0 = LOADM(m0, start), s1 = LOADM(m1, start + VL);                                   \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = s0;                                                                            \
        c1[i] = s1;                                                                            \
      }                                                                                        \
    } else {                                                                                   \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = LOADM(m0, C + i * ldc);                                                        \
        c1[i] = LOADM(m1, C + i * ldc + VL);                                                   \
      }                                                                                        \
    }                                                                                          \
    for (int p = 0; p < kb; p++) {                                                             \
      VEC b0 = LOADA(P + (size_t)p * NR), b1 = LOADA(P + (size_t)p * NR + VL);                 \
      const float *a = A + (size_t)p * acs;                                                    \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        VEC av = SET1(a[i * ars]);                                                             \
        c0[i] = FMA(av, b0, c0[i]);                                                            \
        c1[i] = FMA(av, b1, c1[i]);                                                            \
      }                                                                                        \
    }                                                                                          \
    if (relu) {                                                                                \
      VEC z = ZEROV();                                                                         \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                  \
        c0[i] = MAXV(c0[i], z);                                                                \
        c1[i] = MAXV(c1[i], z);                                                                \
      }                                                                                        \
    }                                                                                          \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                    \
      STOREM(C + i * ldc, m0, c0[i]);                                                          \
      STOREM(C + i * ldc + VL, m1, c1[i]);                                                     \
    }                                                                                          \
  }
#define KERNEL_X(MR) KERNEL(MR) /* expands MR0.. before pasting */
KERNEL_X(MR0)
KERNEL_X(MR1)
KERNEL_X(MR2)
KERNEL(1)
#define CALL_X(MR, ...) kern_##MR(__VA_ARGS__)
#define CALL(MR, ...) CALL_X(MR, __VA_ARGS__)

/* All rows of C for one packed panel, in blocks of MR0, then MR1, MR2 and single rows. */
SIMD_T static void panel_rows(int m, int kb, const float *A, size_t ars, size_t acs, const float *P,
                              float *C, size_t ldc, MASK m0, MASK m1, const float *start,
                              int relu) {
  int i = 0;
  for (; i + MR0 <= m; i += MR0)
    CALL(MR0, kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i + MR1 <= m; i += MR1)
    CALL(MR1, kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i + MR2 <= m; i += MR2)
    CALL(MR2, kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
  for (; i < m; i++) kern_1(kb, A + i * ars, ars, acs, P, C + i * ldc, ldc, m0, m1, start, relu);
}

/* Panel: rows p0..p0+kb of B's columns j0..j0+nb as kb x NR contiguous floats (zeros past nb).
 * b_t: B is stored n x k (the forward's W), so B(p, j) = B[j * ldb + p]; else B(p, j) =
 * B[p * ldb + j]. */
SIMD_T static void pack(int b_t, const float *B, size_t ldb, int p0, int kb, int j0, int nb,
                        float *P) {
  if (!b_t) {
    MASK m0 = MASK_OF(nb >= VL ? VL : nb), m1 = MASK_OF(nb >= NR ? VL : nb > VL ? nb - VL : 0);
    for (int p = 0; p < kb; p++) {
      const float *b = B + (size_t)(p0 + p) * ldb + j0;
      STOREA(P + (size_t)p * NR, LOADM(m0, b));
      STOREA(P + (size_t)p * NR + VL, LOADM(m1, b + VL));
    }
    return;
  }
  int j = 0;
  for (; j + VL <= nb; j += VL) { /* VL x VL blocks transposed in registers */
    const float *b = B + (size_t)(j0 + j) * ldb + p0;
    int p = 0;
    for (; p + VL <= kb; p += VL) TRANSPOSE(b + p, ldb, P + (size_t)p * NR + j, NR);
    for (; p < kb; p++)
      for (int q = 0; q < VL; q++) P[(size_t)p * NR + j + q] = b[(size_t)q * ldb + p];
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
SIMD_T static void product(int m, int n, int k, const float *A, size_t ars, size_t acs, int b_t,
                           const float *B, size_t ldb, int acc, const float *bias, int relu,
                           float *C, size_t ldc) {
  _Alignas(64) float P[KC * NR];
  _Alignas(64) static const float zeros[NR];
  for (int p0 = 0; p0 < k; p0 += KC) {
    int kb = k - p0 < KC ? k - p0 : KC, last = p0 + kb >= k;
    for (int j0 = 0; j0 < n; j0 += NR) {
      int nb = n - j0 < NR ? n - j0 : NR;
      MASK m0 = MASK_OF(nb >= VL ? VL : nb), m1 = MASK_OF(nb >= NR ? VL : nb > VL ? nb - VL : 0);
      const float *start = NULL;
      if (p0 == 0 && bias)
        start = bias + j0;
      else if (p0 == 0 && !acc)
        start = zeros;
      pack(b_t, B, ldb, p0, kb, j0, nb, P);
      panel_rows(m, kb, A + (size_t)p0 * acs, ars, acs, P, C + j0, ldc, m0, m1, start,
                 relu && last);
    }
  }
}

void FN(nt)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            const float *bias, int relu, float *C, size_t ldc) {
  product(m, n, k, A, lda, 1, 1, B, ldb, acc, bias, relu, C, ldc);
}

void FN(tn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            float *C, size_t ldc) {
  product(m, n, k, A, 1, lda, 0, B, ldb, acc, NULL, 0, C, ldc);
}

void FN(nn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb, int acc,
            float *C, size_t ldc) {
  product(m, n, k, A, lda, 1, 0, B, ldb, acc, NULL, 0, C, ldc);
}
#endif /* SIMD_NONE */
