/* gemm512: the AVX-512F instantiation of our products (gemm_simd_tmpl.h); see gemm512.h. */
#include "gemm512.h"

#include <stddef.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))

#define SIMD_T T512
#define VEC __m512
#define VL 16
#define MASK __mmask16
#define MASK_OF(n) ((__mmask16)((1u << (n)) - 1u))
#define LOADM(m, p) _mm512_maskz_loadu_ps(m, p)
#define STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define LOADA(p) _mm512_load_ps(p)
#define STOREA(p, v) _mm512_store_ps(p, v)
#define SET1(x) _mm512_set1_ps(x)
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define MAXV(a, b) _mm512_max_ps(a, b)
#define ZEROV() _mm512_setzero_ps()
#define TRANSPOSE transpose16
#define MR0 12 /* 24 of the 32 zmm registers accumulate */
#define MR1 8
#define MR2 4
#define CPU_OK() __builtin_cpu_supports("avx512f")

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
    r[i + 1] =
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(
        _mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(
        _mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
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

#else
#define SIMD_NONE 1
#endif

#define FN(name) g512_##name
#include "gemm_simd_tmpl.h"
