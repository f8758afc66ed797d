/* linfeat: feature constructors for linear function approximation (Sutton & Barto ch. 9).
 *
 * A linfeat_t describes how an observation of dim floats becomes a feature vector x(s) of
 * `size` entries. Each observation dimension is first normalized to [0, 1] with the bounds
 * given at init (values outside are clamped). Evaluation writes the nonzero entries only, as
 * (index, value) pairs, at most `nnz` of them, into caller buffers: no allocation, no state.
 *
 *   aggregation  groups^dim one-hot cells (the book's state aggregation), nnz 1
 *   polynomial   prod_j x_j^c_j for every c in {0..order}^dim, (order+1)^dim features
 *   fourier      cos(pi c.x) for every c in {0..order}^dim, (order+1)^dim features
 *   tiles        `tilings` grids of `tiles` tiles per dimension over [0, 1] (each tiling
 *                has tiles + 1 per dimension so that the offset grids cover the range);
 *                tiling t is displaced by t * (2j + 1) / tilings of a tile width along
 *                dimension j (wrapped into one tile), the asymmetric offsets of section
 *                9.5.4. With hash_size > 0, (tiling, tile coordinates[, action]) is hashed
 *                into hash_size entries instead. nnz = tilings, each value 1.
 *   constant     one feature, always 1 (a state-blind observation: the short corridor)
 *
 * State-action features (linfeat_eval_sa): the state features of action a occupy block a
 * of a n_actions * size vector, except with hashed tiles, where the action joins the hash
 * and the size stays hash_size. Any thread; a linfeat_t is read-only after init. */
#ifndef RLSERVE_LINFEAT_H
#define RLSERVE_LINFEAT_H

#include <stddef.h>

#define LINFEAT_MAX_DIM 8

typedef enum {
  LINFEAT_AGGREGATION = 0,
  LINFEAT_POLYNOMIAL = 1,
  LINFEAT_FOURIER = 2,
  LINFEAT_TILES = 3,
  LINFEAT_CONSTANT = 4,
} linfeat_kind_t;

typedef struct features {
  linfeat_kind_t kind;
  int dim;
  double low[LINFEAT_MAX_DIM], high[LINFEAT_MAX_DIM];
  int order;     /* polynomial / fourier order */
  int tiles;     /* tiles per dimension (tile coding) or groups per dimension (aggregation) */
  int tilings;   /* tile coding */
  int hash_size; /* tile coding: 0 = no hashing */
  int size;      /* features per state */
  int nnz;       /* most nonzero entries one evaluation writes */
} linfeat_t;

/* The kind named "aggregation", "polynomial", "fourier", "tiles" or "constant"; -1 if unknown. */
int linfeat_kind_parse(const char *name);
const char *linfeat_kind_name(linfeat_kind_t kind);

/* order is used by polynomial / fourier, tiles by aggregation / tiles, tilings and hash_size by
 * tiles. Returns 0, or -1 with a message naming the bad parameter (also when size overflows). */
int linfeat_init(linfeat_t *f, linfeat_kind_t kind, int dim, const double *low, const double *high,
                 int order, int tiles, int tilings, int hash_size, char *err, size_t errlen);

/* Nonzero entries of x(obs): idx[k], val[k] for k < the returned count (<= f->nnz). */
int linfeat_eval(const linfeat_t *f, const float *obs, int *idx, double *val);
/* x(obs, action), in a vector of linfeat_size_sa entries. */
int linfeat_eval_sa(const linfeat_t *f, const float *obs, int action, int n_actions, int *idx,
                    double *val);
int linfeat_size_sa(const linfeat_t *f, int n_actions);

/* w . x and w += a * x over sparse entries. */
double linfeat_dot(const double *w, const int *idx, const double *val, int n);
void linfeat_axpy(double *w, double a, const int *idx, const double *val, int n);

#endif
