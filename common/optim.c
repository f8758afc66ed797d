/* optim: Adam and centered RMSprop with the clip folded in, plain C and AVX2/AVX-512 kernels
 * chosen at run time; see optim.h. */
#include "optim.h"

#include "tpool.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPTIM_X86 1
#include <immintrin.h>
#endif

/* Per-step constants of one Adam step; `scale` is the clip coefficient (1: none). */
typedef struct adam_k {
  float scale, b1, c1, b2, c2, step, ibs, eps;
} adam_k_t;

/* Per-step constants of one centered RMSprop step. */
typedef struct rms_k {
  float scale, a, c, lr, eps;
} rms_k_t;

typedef double (*sumsq_fn)(const float *g, size_t n);
typedef void (*adam_fn)(size_t n, float *p, const float *g, float *m, float *v, const adam_k_t *k);
typedef void (*rms_fn)(size_t n, float *p, const float *g, float *m, float *v, const rms_k_t *k);

/* ---- plain C: the reference ---------------------------------------------------------------- */

static double sumsq_plain(const float *g, size_t n) {
  double ss = 0;
  for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
  return ss;
}

static inline void adam_one(float *p, float gi, float *m, float *v, const adam_k_t *k) {
  float g = gi * k->scale;
  float mi = k->b1 * *m + k->c1 * g;
  float vi = k->b2 * *v + k->c2 * g * g;
  *m = mi;
  *v = vi;
  *p -= k->step * mi / (sqrtf(vi) * k->ibs + k->eps);
}

static void adam_plain(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, const adam_k_t *k) {
  for (size_t i = 0; i < n; i++) adam_one(p + i, g[i], m + i, v + i, k);
}

static inline void rms_one(float *p, float gi, float *m, float *v, const rms_k_t *k) {
  float g = gi * k->scale;
  float si = k->a * *v + k->c * g * g;
  float mi = *m + k->c * (g - *m);
  float var = si - mi * mi;
  *v = si;
  *m = mi;
  *p -= k->lr * (g / (sqrtf(var > 0.0f ? var : 0.0f) + k->eps));
}

static void rms_plain(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                      float *restrict v, const rms_k_t *k) {
  for (size_t i = 0; i < n; i++) rms_one(p + i, g[i], m + i, v + i, k);
}

/* ---- AVX2 + FMA ------------------------------------------------------------------------------ */
#ifdef OPTIM_X86
#define T_AVX2 __attribute__((target("avx2,fma")))
#define T_AVX512 __attribute__((target("avx512f")))
/* a * b + c and c - a * b rounded twice, as the plain loop computes them: the file is built
 * with -ffp-contract=off (common/CMakeLists.txt), so the compiler fuses none of these, and the
 * vector kernels give the plain kernels' results bit for bit (the steps are memory-bound: a
 * fused multiply-add would buy nothing). Only the norm's double sum runs in another order. */
#define MADD256(a, b, c) _mm256_add_ps(_mm256_mul_ps(a, b), c)
#define MSUB256(a, b, c) _mm256_sub_ps(c, _mm256_mul_ps(a, b))
#define MADD512(a, b, c) _mm512_add_ps(_mm512_mul_ps(a, b), c)
#define MSUB512(a, b, c) _mm512_sub_ps(c, _mm512_mul_ps(a, b))

T_AVX2 static double sumsq_avx2(const float *g, size_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(g + i);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  __m256d s = _mm256_add_pd(s0, s1);
  double lanes[4];
  _mm256_storeu_pd(lanes, s);
  double ss = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; i++) ss += (double)g[i] * g[i];
  return ss;
}

T_AVX2 static void adam_avx2(size_t n, float *restrict p, const float *restrict g,
                             float *restrict m, float *restrict v, const adam_k_t *k) {
  const __m256 sc = _mm256_set1_ps(k->scale), b1 = _mm256_set1_ps(k->b1),
               c1 = _mm256_set1_ps(k->c1), b2 = _mm256_set1_ps(k->b2), c2 = _mm256_set1_ps(k->c2),
               st = _mm256_set1_ps(k->step), ibs = _mm256_set1_ps(k->ibs),
               eps = _mm256_set1_ps(k->eps);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), sc);
    __m256 mi = MADD256(b1, _mm256_loadu_ps(m + i), _mm256_mul_ps(c1, gi));
    __m256 vi = MADD256(b2, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 den = MADD256(_mm256_sqrt_ps(vi), ibs, eps);
    __m256 d = _mm256_div_ps(_mm256_mul_ps(st, mi), den);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), d));
  }
  for (; i < n; i++) adam_one(p + i, g[i], m + i, v + i, k);
}

T_AVX2 static void rms_avx2(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                            float *restrict v, const rms_k_t *k) {
  const __m256 sc = _mm256_set1_ps(k->scale), a = _mm256_set1_ps(k->a), c = _mm256_set1_ps(k->c),
               lr = _mm256_set1_ps(k->lr), eps = _mm256_set1_ps(k->eps), z = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), sc);
    __m256 si = MADD256(a, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(c, gi), gi));
    __m256 m0 = _mm256_loadu_ps(m + i);
    __m256 mi = MADD256(c, _mm256_sub_ps(gi, m0), m0);
    __m256 var = _mm256_max_ps(MSUB256(mi, mi, si), z);
    _mm256_storeu_ps(v + i, si);
    _mm256_storeu_ps(m + i, mi);
    __m256 d = _mm256_div_ps(gi, _mm256_add_ps(_mm256_sqrt_ps(var), eps));
    _mm256_storeu_ps(p + i, MSUB256(lr, d, _mm256_loadu_ps(p + i)));
  }
  for (; i < n; i++) rms_one(p + i, g[i], m + i, v + i, k);
}

/* ---- AVX-512F: masked tails, no scalar loop ------------------------------------------------- */

T_AVX512 static double sumsq_avx512(const float *g, size_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(g + i);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  if (i < n) {
    __mmask16 mk = (__mmask16)((1u << (n - i)) - 1);
    __m512 x = _mm512_maskz_loadu_ps(mk, g + i);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

T_AVX512 static inline __m512 adam16(__m512 g, __m512 *m, __m512 *v, __m512 p, const adam_k_t *k) {
  __m512 gi = _mm512_mul_ps(g, _mm512_set1_ps(k->scale));
  __m512 mi = MADD512(_mm512_set1_ps(k->b1), *m, _mm512_mul_ps(_mm512_set1_ps(k->c1), gi));
  __m512 vi = MADD512(_mm512_set1_ps(k->b2), *v,
                      _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(k->c2), gi), gi));
  *m = mi;
  *v = vi;
  __m512 den = MADD512(_mm512_sqrt_ps(vi), _mm512_set1_ps(k->ibs), _mm512_set1_ps(k->eps));
  return _mm512_sub_ps(p, _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(k->step), mi), den));
}

T_AVX512 static void adam_avx512(size_t n, float *restrict p, const float *restrict g,
                                 float *restrict m, float *restrict v, const adam_k_t *k) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 mi = _mm512_loadu_ps(m + i), vi = _mm512_loadu_ps(v + i);
    __m512 pi = adam16(_mm512_loadu_ps(g + i), &mi, &vi, _mm512_loadu_ps(p + i), k);
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
    _mm512_storeu_ps(p + i, pi);
  }
  if (i < n) {
    __mmask16 mk = (__mmask16)((1u << (n - i)) - 1);
    __m512 mi = _mm512_maskz_loadu_ps(mk, m + i), vi = _mm512_maskz_loadu_ps(mk, v + i);
    __m512 pi =
        adam16(_mm512_maskz_loadu_ps(mk, g + i), &mi, &vi, _mm512_maskz_loadu_ps(mk, p + i), k);
    _mm512_mask_storeu_ps(m + i, mk, mi);
    _mm512_mask_storeu_ps(v + i, mk, vi);
    _mm512_mask_storeu_ps(p + i, mk, pi);
  }
}

T_AVX512 static inline __m512 rms16(__m512 g, __m512 *m, __m512 *v, __m512 p, const rms_k_t *k) {
  __m512 gi = _mm512_mul_ps(g, _mm512_set1_ps(k->scale)), c = _mm512_set1_ps(k->c);
  __m512 si = MADD512(_mm512_set1_ps(k->a), *v, _mm512_mul_ps(_mm512_mul_ps(c, gi), gi));
  __m512 mi = MADD512(c, _mm512_sub_ps(gi, *m), *m);
  __m512 var = _mm512_max_ps(MSUB512(mi, mi, si), _mm512_setzero_ps());
  *v = si;
  *m = mi;
  __m512 d = _mm512_div_ps(gi, _mm512_add_ps(_mm512_sqrt_ps(var), _mm512_set1_ps(k->eps)));
  return MSUB512(_mm512_set1_ps(k->lr), d, p);
}

T_AVX512 static void rms_avx512(size_t n, float *restrict p, const float *restrict g,
                                float *restrict m, float *restrict v, const rms_k_t *k) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 mi = _mm512_loadu_ps(m + i), vi = _mm512_loadu_ps(v + i);
    __m512 pi = rms16(_mm512_loadu_ps(g + i), &mi, &vi, _mm512_loadu_ps(p + i), k);
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
    _mm512_storeu_ps(p + i, pi);
  }
  if (i < n) {
    __mmask16 mk = (__mmask16)((1u << (n - i)) - 1);
    __m512 mi = _mm512_maskz_loadu_ps(mk, m + i), vi = _mm512_maskz_loadu_ps(mk, v + i);
    __m512 pi =
        rms16(_mm512_maskz_loadu_ps(mk, g + i), &mi, &vi, _mm512_maskz_loadu_ps(mk, p + i), k);
    _mm512_mask_storeu_ps(m + i, mk, mi);
    _mm512_mask_storeu_ps(v + i, mk, vi);
    _mm512_mask_storeu_ps(p + i, mk, pi);
  }
}
#endif

/* ---- dispatch -------------------------------------------------------------------------------- */

static const struct kernels {
  sumsq_fn sumsq;
  adam_fn adam;
  rms_fn rms;
} kernel_table[] = {
    {sumsq_plain, adam_plain, rms_plain},
#ifdef OPTIM_X86
    {sumsq_avx2, adam_avx2, rms_avx2},
    {sumsq_avx512, adam_avx512, rms_avx512},
#endif
};

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static optim_isa_t isa_best = OPTIM_ISA_PLAIN, isa_now = OPTIM_ISA_PLAIN;

static void isa_detect(void) {
#ifdef OPTIM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    isa_best = OPTIM_ISA_AVX512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    isa_best = OPTIM_ISA_AVX2;
#endif
  isa_now = isa_best;
}

static const struct kernels *kernels(void) {
  pthread_once(&isa_once, isa_detect);
  return &kernel_table[isa_now];
}

optim_isa_t optim_isa_detected(void) {
  pthread_once(&isa_once, isa_detect);
  return isa_best;
}

optim_isa_t optim_set_isa(optim_isa_t isa) {
  pthread_once(&isa_once, isa_detect);
  isa_now = isa < isa_best ? isa : isa_best;
  return isa_now;
}

const char *optim_isa_name(optim_isa_t isa) {
  switch (isa) {
    case OPTIM_ISA_AVX512:
      return "avx512f";
    case OPTIM_ISA_AVX2:
      return "avx2+fma";
    case OPTIM_ISA_PLAIN:
      break;
  }
  return "plain";
}

/* ---- states and steps ------------------------------------------------------------------------ */

static int state_alloc(optim_t *o, size_t n) {
  memset(o, 0, sizeof *o);
  o->m = calloc(n ? n : 1, sizeof(float));
  o->v = calloc(n ? n : 1, sizeof(float));
  if (!o->m || !o->v) {
    adam_free(o);
    return -ENOMEM;
  }
  o->n = n;
  return 0;
}

int adam_init(adam_t *a, size_t n, float lr, float beta1, float beta2, float eps) {
  if (state_alloc(a, n) != 0) return -ENOMEM;
  a->kind = OPTIM_ADAM;
  a->lr = lr;
  a->beta1 = beta1;
  a->beta2 = beta2;
  a->eps = eps;
  return 0;
}

int rmsprop_centered_init(optim_t *o, size_t n, float lr, float alpha, float eps) {
  if (state_alloc(o, n) != 0) return -ENOMEM;
  o->kind = OPTIM_RMSPROP_CENTERED;
  o->lr = lr;
  o->beta2 = alpha;
  o->eps = eps;
  return 0;
}

int optim_init_named(optim_t *o, const char *name, size_t n, float lr, float beta1, float beta2,
                     float eps, float alpha, float rms_eps) {
  if (strcmp(name, "adam") == 0) return adam_init(o, n, lr, beta1, beta2, eps);
  if (strcmp(name, "rmsprop_centered") == 0) return rmsprop_centered_init(o, n, lr, alpha, rms_eps);
  memset(o, 0, sizeof *o);
  return -EINVAL;
}

void adam_free(adam_t *a) {
  free(a->m);
  free(a->v);
  a->m = a->v = NULL;
  a->n = 0;
}

float optim_grad_norm(const float *grads, size_t n) {
  return (float)sqrt(kernels()->sumsq(grads, n));
}

/* The per-step constants of o's kernel at step t (rms: *rk; Adam: *ak); reads no o->t. Adam's
 * bias corrections in double, as torch: step_size = lr / (1 - b1^t), denom = sqrt(v) /
 * sqrt(1 - b2^t) + eps. */
static void consts_at(const optim_t *o, long t, float scale, rms_k_t *rk, adam_k_t *ak) {
  if (o->kind == OPTIM_RMSPROP_CENTERED) {
    *rk = (rms_k_t){.scale = scale, .a = o->beta2, .c = 1.0f - o->beta2, .lr = o->lr, .eps = o->eps};
    return;
  }
  double bc1 = 1.0 - pow(o->beta1, (double)t);
  double bc2 = 1.0 - pow(o->beta2, (double)t);
  *ak = (adam_k_t){.scale = scale,
                   .b1 = o->beta1,
                   .c1 = 1.0f - o->beta1,
                   .b2 = o->beta2,
                   .c2 = 1.0f - o->beta2,
                   .step = (float)(o->lr / bc1),
                   .ibs = (float)(1.0 / sqrt(bc2)),
                   .eps = o->eps};
}

/* The same after t++. */
static void step_consts(optim_t *o, float scale, rms_k_t *rk, adam_k_t *ak) {
  o->t++;
  consts_at(o, o->t, scale, rk, ak);
}

/* Elements [off, off + len) of one step of o's kernel with those constants. */
static void apply_span(const optim_t *o, const rms_k_t *rk, const adam_k_t *ak, float *params,
                       const float *grads, size_t off, size_t len) {
  const struct kernels *kn = kernels();
  if (o->kind == OPTIM_RMSPROP_CENTERED)
    kn->rms(len, params + off, grads + off, o->m + off, o->v + off, rk);
  else
    kn->adam(len, params + off, grads + off, o->m + off, o->v + off, ak);
}

void adam_step(adam_t *a, float *params, const float *grads) {
  rms_k_t rk;
  adam_k_t ak;
  step_consts(a, 1.0f, &rk, &ak);
  apply_span(a, &rk, &ak, params, grads, 0, a->n);
}

static float clip_scale(double norm, float max_norm) {
  if (max_norm > 0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) return (float)coef;
  }
  return 1.0f;
}

float optim_step(optim_t *o, float *params, const float *grads, float max_norm) {
  double norm = sqrt(kernels()->sumsq(grads, o->n));
  rms_k_t rk;
  adam_k_t ak;
  step_consts(o, clip_scale(norm, max_norm), &rk, &ak);
  apply_span(o, &rk, &ak, params, grads, 0, o->n);
  return (float)norm;
}

/* ---- one step split across a pool ------------------------------------------------------------ */

#define OPTIM_SPLIT_MIN 32768 /* floats; below, the hand-overs cost more than the second thread */
#define OPTIM_MAX_PARTS 64

typedef struct step_job {
  const struct kernels *kn;
  optim_t *o;
  float *params;
  const float *grads;
  double ss[OPTIM_MAX_PARTS];
  rms_k_t rk;
  adam_k_t ak;
} step_job_t;

/* Part `part` of n floats: whole 16-float (64-byte) blocks, the last part the rest. */
static void part_range(size_t n, int part, int n_parts, size_t *lo, size_t *hi) {
  tpool_slice(n, 16, part, n_parts, lo, hi);
}

static void sumsq_part(void *arg, int part, int n_parts) {
  step_job_t *j = arg;
  size_t lo, hi;
  part_range(j->o->n, part, n_parts, &lo, &hi);
  j->ss[part] = hi > lo ? j->kn->sumsq(j->grads + lo, hi - lo) : 0.0;
}

static void apply_part(void *arg, int part, int n_parts) {
  step_job_t *j = arg;
  size_t lo, hi;
  part_range(j->o->n, part, n_parts, &lo, &hi);
  if (hi <= lo) return;
  apply_span(j->o, &j->rk, &j->ak, j->params, j->grads, lo, hi - lo);
}

static void sumsq_apply_part(void *arg, int part, int n_parts) {
  sumsq_part(arg, part, n_parts);
  apply_part(arg, part, n_parts);
}

float optim_step_pool(optim_t *o, float *params, const float *grads, float max_norm,
                      tpool_t *pool) {
  int t = tpool_size(pool);
  if (t < 2 || t > OPTIM_MAX_PARTS || o->n < OPTIM_SPLIT_MIN)
    return optim_step(o, params, grads, max_norm);
  step_job_t j = {.kn = kernels(), .o = o, .params = params, .grads = grads};
  if (max_norm <= 0) { /* no clip: the norm is only reported, one pass over the parts */
    step_consts(o, 1.0f, &j.rk, &j.ak);
    tpool_run(pool, sumsq_apply_part, &j);
    double ss = 0;
    for (int p = 0; p < t; p++) ss += j.ss[p];
    return (float)sqrt(ss);
  }
  tpool_run(pool, sumsq_part, &j);
  double ss = 0;
  for (int p = 0; p < t; p++) ss += j.ss[p];
  double norm = sqrt(ss);
  step_consts(o, clip_scale(norm, max_norm), &j.rk, &j.ak);
  tpool_run(pool, apply_part, &j);
  return (float)norm;
}

/* ---- steps split by the caller ------------------------------------------------------------- */

double optim_sumsq(const float *grads, size_t n) { return n ? kernels()->sumsq(grads, n) : 0.0; }

void optim_step_slice(const optim_t *o, long t, double norm, float max_norm, float *params,
                      const float *grads, size_t off, size_t len) {
  if (!len) return;
  rms_k_t rk;
  adam_k_t ak;
  consts_at(o, t, clip_scale(norm, max_norm), &rk, &ak);
  apply_span(o, &rk, &ak, params, grads, off, len);
}
