/* gemm256: the AVX2 + FMA instantiation of our products (gemm_simd_tmpl.h), for CPUs without
 * AVX-512F (e.g. AMD Zen 2-3, Intel before Skylake-SP); see gemm512.h. */
#include <stddef.h>

#include "gemm512.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T256 __attribute__((target("avx2,fma")))

#define SIMD_T T256
#define VEC __m256
#define VL 8
#define MASK __m256i
#define MASK_OF(n) \
  _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADM(m, p) _mm256_maskload_ps(p, m)
#define STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define LOADA(p) _mm256_load_ps(p)
#define STOREA(p, v) _mm256_store_ps(p, v)
#define SET1(x) _mm256_set1_ps(x)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define MAXV(a, b) _mm256_max_ps(a, b)
#define ZEROV() _mm256_setzero_ps()
#define TRANSPOSE transpose8
#define MR0 6 /* 12 of the 16 ymm registers accumulate, 2 hold B, 1 the broadcast */
#define MR1 4
#define MR2 2
#define CPU_OK() (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))

/* out(c, r) = in(r, c) for an 8 x 8 block (row strides ldi, ldo floats). */
T256 static void transpose8(const float *in, size_t ldi, float *out, size_t ldo) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(in + (size_t)i * ldi);
  for (int i = 0; i < 8; i += 2) { /* 2x2 blocks of single floats */
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) { /* 4x4 blocks within each 128-bit lane */
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int i = 0; i < 4; i++) { /* 128-bit lanes: rows i and i + 4 */
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + (size_t)i * ldo, t[i]);
}

#else
#define SIMD_NONE 1
#endif

#define FN(name) g256_##name
#include "gemm_simd_tmpl.h"
