/* linfeat: state aggregation, polynomial, Fourier and tile-coding features (linfeat.h). */
#include "linfeat.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"aggregation", "polynomial", "fourier", "tiles",
                                         "constant"};

int linfeat_kind_parse(const char *name) {
  for (int k = 0; k < (int)(sizeof kind_names / sizeof kind_names[0]); k++)
    if (name && strcmp(name, kind_names[k]) == 0) return k;
  return -1;
}

const char *linfeat_kind_name(linfeat_kind_t kind) {
  return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

/* base^dim, or -1 past 2^30 features. */
static long ipow_limited(long base, int dim) {
  long r = 1;
  for (int j = 0; j < dim; j++) {
    r *= base;
    if (r > (1L << 30)) return -1;
  }
  return r;
}

int linfeat_init(linfeat_t *f, linfeat_kind_t kind, int dim, const double *low, const double *high,
                 int order, int tiles, int tilings, int hash_size, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  if (dim < 1 || dim > LINFEAT_MAX_DIM) {
    snprintf(err, errlen, "features: dim %d outside 1..%d", dim, LINFEAT_MAX_DIM);
    return -1;
  }
  for (int j = 0; j < dim; j++) {
    if (!(isfinite(low[j]) && isfinite(high[j]) && high[j] > low[j])) {
      snprintf(err, errlen,
               "features: bounds of dimension %d are [%g, %g]; need finite low < high "
               "(give feature_low / feature_high)",
               j, low[j], high[j]);
      return -1;
    }
    f->low[j] = low[j];
    f->high[j] = high[j];
  }
  f->kind = kind;
  f->dim = dim;
  f->order = order;
  f->tiles = tiles;
  f->tilings = tilings;
  f->hash_size = hash_size;
  long size = -1;
  switch (kind) {
    case LINFEAT_AGGREGATION:
      if (tiles < 1) break;
      size = ipow_limited(tiles, dim);
      f->nnz = 1;
      break;
    case LINFEAT_POLYNOMIAL:
    case LINFEAT_FOURIER:
      if (order < 0) break;
      size = ipow_limited(order + 1, dim);
      f->nnz = (int)size;
      break;
    case LINFEAT_TILES:
      if (tiles < 1 || tilings < 1 || hash_size < 0) break;
      if (hash_size > 0) {
        size = hash_size;
      } else {
        long per = ipow_limited(tiles + 1, dim);
        size = per < 0 || per * tilings > (1L << 30) ? -1 : per * tilings;
      }
      f->nnz = tilings;
      break;
    case LINFEAT_CONSTANT:
      size = 1;
      f->nnz = 1;
      break;
  }
  if (size < 1) {
    snprintf(err, errlen,
             "features: %s with order %d, tiles %d, tilings %d, hash_size %d over %d dims is "
             "empty or too large",
             linfeat_kind_name(kind), order, tiles, tilings, hash_size, dim);
    return -1;
  }
  f->size = (int)size;
  return 0;
}

static double normalize(const linfeat_t *f, const float *obs, int j) {
  double x = ((double)obs[j] - f->low[j]) / (f->high[j] - f->low[j]);
  return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}

/* splitmix64 finalizer: the tile hash. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Tile coding; action < 0 for state features. */
static int eval_tiles(const linfeat_t *f, const float *obs, int action, int *idx, double *val) {
  double x[LINFEAT_MAX_DIM];
  for (int j = 0; j < f->dim; j++) x[j] = normalize(f, obs, j) * f->tiles;
  const int per_dim = f->tiles + 1;
  int per_tiling = 1;
  if (!f->hash_size)
    for (int j = 0; j < f->dim; j++) per_tiling *= per_dim;
  for (int t = 0; t < f->tilings; t++) {
    int flat = 0, stride = 1;
    uint64_t h = mix64(0x9e3779b97f4a7c15ULL ^ (uint64_t)t);
    for (int j = 0; j < f->dim; j++) {
      /* asymmetric displacement (1, 3, 5, ...) * t / tilings, wrapped into one tile */
      double off = (double)((t * (2 * j + 1)) % f->tilings) / f->tilings;
      int c = (int)floor(x[j] + off);
      if (c > f->tiles) c = f->tiles;
      flat += c * stride;
      stride *= per_dim;
      h = mix64(h ^ ((uint64_t)c + 0x632be59bd9b4e019ULL * (uint64_t)(j + 1)));
    }
    if (f->hash_size) {
      if (action >= 0) h = mix64(h ^ (0xd6e8feb86659fd93ULL * (uint64_t)(action + 1)));
      idx[t] = (int)(h % (uint64_t)f->hash_size);
    } else {
      idx[t] = t * per_tiling + flat;
    }
    val[t] = 1.0;
  }
  return f->tilings;
}

/* Polynomial and Fourier: enumerate c in {0..order}^dim, c_0 varying fastest. */
static int eval_basis(const linfeat_t *f, const float *obs, int *idx, double *val) {
  double x[LINFEAT_MAX_DIM];
  int c[LINFEAT_MAX_DIM] = {0};
  for (int j = 0; j < f->dim; j++) x[j] = normalize(f, obs, j);
  for (int i = 0; i < f->size; i++) {
    double v;
    if (f->kind == LINFEAT_POLYNOMIAL) {
      v = 1.0;
      for (int j = 0; j < f->dim; j++)
        for (int p = 0; p < c[j]; p++) v *= x[j];
    } else {
      double dot = 0.0;
      for (int j = 0; j < f->dim; j++) dot += c[j] * x[j];
      v = cos(M_PI * dot);
    }
    idx[i] = i;
    val[i] = v;
    for (int j = 0; j < f->dim; j++) { /* next c */
      if (++c[j] <= f->order) break;
      c[j] = 0;
    }
  }
  return f->size;
}

static int eval_state(const linfeat_t *f, const float *obs, int action, int *idx, double *val) {
  switch (f->kind) {
    case LINFEAT_AGGREGATION: {
      int flat = 0, stride = 1;
      for (int j = 0; j < f->dim; j++) {
        int g = (int)(normalize(f, obs, j) * f->tiles);
        if (g >= f->tiles) g = f->tiles - 1;
        flat += g * stride;
        stride *= f->tiles;
      }
      idx[0] = flat;
      val[0] = 1.0;
      return 1;
    }
    case LINFEAT_POLYNOMIAL:
    case LINFEAT_FOURIER:
      return eval_basis(f, obs, idx, val);
    case LINFEAT_TILES:
      return eval_tiles(f, obs, action, idx, val);
    case LINFEAT_CONSTANT:
      idx[0] = 0;
      val[0] = 1.0;
      return 1;
  }
  return 0;
}

int linfeat_eval(const linfeat_t *f, const float *obs, int *idx, double *val) {
  return eval_state(f, obs, -1, idx, val);
}

int linfeat_size_sa(const linfeat_t *f, int n_actions) {
  if (f->kind == LINFEAT_TILES && f->hash_size) return f->hash_size;
  return f->size * n_actions;
}

int linfeat_eval_sa(const linfeat_t *f, const float *obs, int action, int n_actions, int *idx,
                    double *val) {
  (void)n_actions;
  int n = eval_state(f, obs, action, idx, val);
  if (!(f->kind == LINFEAT_TILES && f->hash_size))
    for (int k = 0; k < n; k++) idx[k] += action * f->size;
  return n;
}

double linfeat_dot(const double *w, const int *idx, const double *val, int n) {
  double s = 0.0;
  for (int k = 0; k < n; k++) s += w[idx[k]] * val[k];
  return s;
}

void linfeat_axpy(double *w, double a, const int *idx, const double *val, int n) {
  for (int k = 0; k < n; k++) w[idx[k]] += a * val[k];
}
