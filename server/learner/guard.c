#include "guard.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  if (!g->good) {
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
  memset(g, 0, sizeof *g);
}

int guard_commit(guard_t *g, double loss, double mean_q, char *why, size_t whylen) {
  int bad = 0;
  if (!isfinite(loss) || !isfinite(mean_q)) {
    snprintf(why, whylen, "loss = %g, mean Q = %g", loss, mean_q);
    bad = 1;
  } else if (state_nonfinite(&g->v, why, whylen) != 0) {
    bad = 1;
  }
  if (bad) {
    restore_good(g);
    return -1;
  }
  save_good(g);
  return 0;
}
