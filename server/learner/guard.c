#include "guard.h"

#include "tpool.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GUARD_MAX_PARTS 64
#define GUARD_SPLIT_MIN 65536 /* floats; smaller states are checked on the caller alone */

ssize_t guard_find_nonfinite(const float *x, size_t n) {
  /* Exponent bits all ones: NaN or infinity. The branch-free scan of blocks vectorizes; the
   * index is looked for only in a block that has one. */
  const size_t blk = 256;
  for (size_t s = 0; s < n; s += blk) {
    size_t e = s + blk < n ? s + blk : n;
    unsigned bad = 0;
    for (size_t i = s; i < e; i++) {
      uint32_t u;
      memcpy(&u, &x[i], sizeof u);
      bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (bad)
      for (size_t i = s; i < e; i++)
        if (!isfinite(x[i])) return (ssize_t)i;
  }
  return -1;
}

/* The first non-finite tensor value of the live state, named in why; 0 when all are finite. */
static int state_nonfinite(const algo_state_view_t *v, char *why, size_t whylen) {
  for (int t = 0; t < v->n; t++) {
    ssize_t i = guard_find_nonfinite(v->ptr[t], v->len[t]);
    if (i >= 0) {
      snprintf(why, whylen, "%s[%zd] = %g", v->name[t], i, (double)v->ptr[t][i]);
      return -1;
    }
  }
  return 0;
}

/* Copies n floats to dst and returns the index of the first NaN or infinity among them, or -1:
 * one pass over the live state, each 16-byte group loaded once, checked (exponent bits all
 * ones) and written with a non-temporal store. The copy is read again only to undo a bad
 * update, so it bypasses the cache: it neither evicts the next update's working set (the
 * parameters, gradients and activations) nor reads its own lines in before writing them. On
 * a bad group the scalar search names the first bad index (the copy is then unused). */
static ssize_t copy_find_nonfinite(float *dst, const float *src, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i expo = _mm_set1_epi32(0x7f800000);
  for (; i < n && ((uintptr_t)(dst + i) & 15u); i++) { /* to dst's 16-byte alignment */
    uint32_t u;
    memcpy(&u, &src[i], sizeof u);
    dst[i] = src[i];
    if ((u & 0x7f800000u) == 0x7f800000u) return (ssize_t)i;
  }
  const size_t blk = 256;
  while (i + 4 <= n) {
    size_t e = i + blk < n ? i + blk : n;
    __m128i bad = _mm_setzero_si128();
    size_t j = i;
    for (; j + 4 <= e; j += 4) {
      __m128 v = _mm_loadu_ps(src + j);
      __m128i x = _mm_and_si128(_mm_castps_si128(v), expo);
      bad = _mm_or_si128(bad, _mm_cmpeq_epi32(x, expo));
      _mm_stream_ps(dst + j, v);
    }
    if (_mm_movemask_epi8(bad)) {
      _mm_sfence();
      ssize_t k = guard_find_nonfinite(src + i, j - i);
      return (ssize_t)i + k;
    }
    i = j;
  }
  _mm_sfence();
#endif
  for (; i < n; i++) {
    uint32_t u;
    memcpy(&u, &src[i], sizeof u);
    dst[i] = src[i];
    if ((u & 0x7f800000u) == 0x7f800000u) return (ssize_t)i;
  }
  return -1;
}

static void save_good(guard_t *g) {
  float *p = g->good;
  for (int t = 0; t < g->v.n; t++) {
    memcpy(p, g->v.ptr[t], g->v.len[t] * sizeof(float));
    p += g->v.len[t];
  }
  for (int s = 0; s < g->v.n_steps; s++) g->steps[s] = *g->v.steps[s];
}

static void restore_good(guard_t *g) {
  const float *p = g->good;
  for (int t = 0; t < g->v.n; t++) {
    memcpy(g->v.ptr[t], p, g->v.len[t] * sizeof(float));
    p += g->v.len[t];
  }
  for (int s = 0; s < g->v.n_steps; s++) *g->v.steps[s] = g->steps[s];
}

int guard_init(guard_t *g, const algo_state_view_t *v, char *why, size_t whylen) {
  memset(g, 0, sizeof *g);
  g->v = *v;
  for (int t = 0; t < v->n; t++) g->n += v->len[t];
  g->good = malloc((g->n ? g->n : 1) * sizeof(float));
  g->spare = malloc((g->n ? g->n : 1) * sizeof(float));
  if (!g->good || !g->spare) {
    free(g->good);
    free(g->spare);
    g->good = g->spare = NULL;
    snprintf(why, whylen, "out of memory for a copy of %zu state floats", g->n);
    return -1;
  }
  if (state_nonfinite(v, why, whylen) != 0) {
    guard_free(g);
    return -1;
  }
  save_good(g);
  return 0;
}

void guard_free(guard_t *g) {
  free(g->good);
  free(g->spare);
  memset(g, 0, sizeof *g);
}

/* The new state is checked while it is copied into the spare buffer; when it is all finite the
 * spare becomes the good copy (the buffers swap), else the live state is put back from the good
 * copy, which the check did not touch. With a pool the state (all tensors back to back) is cut
 * into one range per thread, in whole 16-float blocks; the first bad value of the lowest range
 * that has one is named, so the message does not depend on timing. */
typedef struct commit_job {
  guard_t *g;
  int n_parts;
  int bad_t[GUARD_MAX_PARTS];
  ssize_t bad_i[GUARD_MAX_PARTS];
} commit_job_t;

static void commit_part(void *arg, int part, int n_parts) {
  commit_job_t *j = arg;
  guard_t *g = j->g;
  size_t blocks = (g->n + 15) / 16;
  size_t lo = blocks * (size_t)part / (size_t)n_parts * 16;
  size_t hi = blocks * (size_t)(part + 1) / (size_t)n_parts * 16;
  if (hi > g->n) hi = g->n;
  if (lo > g->n) lo = g->n;
  j->bad_t[part] = -1;
  size_t off = 0; /* start of tensor t in the concatenation */
  for (int t = 0; t < g->v.n && lo < hi; off += g->v.len[t], t++) {
    size_t end = off + g->v.len[t];
    if (end <= lo) continue;
    if (off >= hi) break;
    size_t a = lo > off ? lo : off, b = hi < end ? hi : end;
    ssize_t i = copy_find_nonfinite(g->spare + a, g->v.ptr[t] + (a - off), b - a);
    if (i >= 0) {
      j->bad_t[part] = t;
      j->bad_i[part] = (ssize_t)(a - off) + i;
      return;
    }
  }
}

int guard_commit_pool(guard_t *g, double loss, double mean_q, char *why, size_t whylen,
                      tpool_t *pool) {
  int bad = 0;
  if (!isfinite(loss) || !isfinite(mean_q)) {
    snprintf(why, whylen, "loss = %g, mean Q = %g", loss, mean_q);
    bad = 1;
  } else {
    int parts = tpool_size(pool);
    commit_job_t j = {.g = g, .n_parts = parts};
    if (parts < 2 || parts > GUARD_MAX_PARTS || g->n < GUARD_SPLIT_MIN)
      commit_part(&j, 0, 1), j.n_parts = 1;
    else
      tpool_run(pool, commit_part, &j);
    for (int p = 0; p < j.n_parts && !bad; p++)
      if (j.bad_t[p] >= 0) {
        int t = j.bad_t[p];
        ssize_t i = j.bad_i[p];
        snprintf(why, whylen, "%s[%zd] = %g", g->v.name[t], i, (double)g->v.ptr[t][i]);
        bad = 1;
      }
  }
  if (bad) {
    restore_good(g);
    return -1;
  }
  float *t = g->good;
  g->good = g->spare;
  g->spare = t;
  for (int s = 0; s < g->v.n_steps; s++) g->steps[s] = *g->v.steps[s];
  return 0;
}

int guard_commit(guard_t *g, double loss, double mean_q, char *why, size_t whylen) {
  return guard_commit_pool(g, loss, mean_q, why, whylen, NULL);
}
