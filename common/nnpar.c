/* nnpar: a dense network split across the parts of a tpool job by units; see nnpar.h.
 *
 * Buffers of part p (one allocation each, 64-byte aligned):
 *   out[i]      layer i's post-activation output: its own block (rows x its units, row stride
 *               its units) for NNP_COL, the whole replicated output (rows x units) otherwise;
 *   psum[i][2]  NNP_RED: this part's partial sums (rows x units), by forward parity;
 *   dpart[i][2] NNP_COL, NNP_REPCOL: this part's share of the layer's input gradient, by
 *               backward parity: when the layer below is split by units too, one block per
 *               owner u of its units at max_batch * cut[i-1][u] (rows x u's units), else the
 *               whole rows x n_in;
 *   dz[3]       dL/dz of the layer at hand and of the one below it (own block or whole), and
 *               a whole input gradient before its own columns are taken.
 * Parities: a buffer another part reads after a barrier is written again only two calls later,
 * after a barrier that every reader must have reached first. */
#include "nnpar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "gemm.h"

#define NNP_BLOCK 16 /* units per slice step: a 64-byte line of floats */
/* Units per part for a layer to be split by units: at 32 per part (DQN 4-64-64-2 on two
 * threads) the barriers cost more than the second thread gives (0.92x one thread), at 64
 * (4-128-128-2) it gives 1.44x (bench_trainer, 2026-12-01). */
#define NNP_MIN_UNITS 64
/* A split layer with a replicated input this narrow is computed whole on every part
 * (NNP_REPCOL): at 4 inputs and 256 units that costs ~3 us more per part than computing its
 * own units, but sending them costs more (nnpar.h). */
#define NNP_REPCOL_MAX_IN 32

typedef struct part_ws {
  float *out[NN_MAX_LAYERS];
  float *psum[NN_MAX_LAYERS][2];
  float *dpart[NN_MAX_LAYERS][2];
  float *dz[3];
  const float *x;    /* the last forward's input */
  unsigned fwd, bwd; /* calls so far: the parities */
} part_ws_t;

struct nnp_ws {
  nnp_plan_t plan;
  int max_batch;
  part_ws_t part[NNP_MAX_PARTS];
};

void nnp_run(tpool_t *pool, tpool_fn fn, void *arg) {
  tpool_t *mine = gemm_pool();
  gemm_set_pool(NULL);
  tpool_run(pool, fn, arg);
  gemm_set_pool(mine);
}

int nnp_plan_init(nnp_plan_t *p, const nn_layout_t *l, int n_parts, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  if (n_parts < 1 || n_parts > NNP_MAX_PARTS)
    return errmsg(err, errlen, "nnpar: %d parts (1..%d)", n_parts, NNP_MAX_PARTS);
  for (int i = 0; i < l->n_layers; i++)
    if (l->kind[i] != NN_DENSE)
      return errmsg(err, errlen,
                    "nnpar: layer %d is not dense (only dense networks split by units)", i + 1);
  p->l = *l;
  p->n_parts = n_parts;
  int split_in = 0, last = l->n_layers - 1;
  for (int i = 0; i < l->n_layers; i++) {
    int out = l->sizes[i + 1];
    if (i < last && n_parts > 1 && out >= NNP_MIN_UNITS * n_parts) {
      p->mode[i] = !split_in && l->sizes[i] <= NNP_REPCOL_MAX_IN ? NNP_REPCOL : NNP_COL;
      for (int q = 0; q < n_parts; q++) {
        size_t lo, hi;
        tpool_slice((size_t)out, NNP_BLOCK, q, n_parts, &lo, &hi);
        p->cut[i][q] = (int)lo;
        p->cut[i][q + 1] = (int)hi;
      }
    } else {
      p->mode[i] = split_in ? NNP_RED : NNP_REP;
    }
    split_in = p->mode[i] == NNP_COL;
  }
  /* every part's spans must fit an nnp_ranges_t */
  for (int q = 0; q < n_parts; q++) {
    nnp_ranges_t *r = calloc(1, sizeof *r);
    int full = !r || nnp_owned(p, q, 0, r) != 0;
    free(r);
    if (full)
      return errmsg(err, errlen, "nnpar: part %d of %d owns more than %d spans", q, n_parts,
                    NNP_MAX_RANGES);
  }
  return 0;
}

static int has_cuts(const nnp_plan_t *p, int i) {
  return p->mode[i] == NNP_COL || p->mode[i] == NNP_REPCOL;
}

int nnp_splits(const nnp_plan_t *p) {
  for (int i = 0; i < p->l.n_layers; i++)
    if (has_cuts(p, i)) return 1;
  return 0;
}

static int add_range(nnp_ranges_t *r, size_t off, size_t len) {
  if (!len) return 0;
  if (r->n >= NNP_MAX_RANGES) return -1;
  r->off[r->n] = off;
  r->len[r->n] = len;
  r->n++;
  return 0;
}

int nnp_owned(const nnp_plan_t *p, int part, size_t base, nnp_ranges_t *r) {
  const nn_layout_t *l = &p->l;
  for (int i = 0; i < l->n_layers; i++) {
    size_t in = (size_t)l->sizes[i], out = (size_t)l->sizes[i + 1];
    if (has_cuts(p, i)) {
      size_t lo = (size_t)p->cut[i][part], hi = (size_t)p->cut[i][part + 1];
      if (add_range(r, base + l->w_off[i] + lo * in, (hi - lo) * in) ||
          add_range(r, base + l->b_off[i] + lo, hi - lo))
        return -1;
    } else if (p->mode[i] == NNP_RED) { /* the column stretch of every row its block meets */
      size_t clo = (size_t)p->cut[i - 1][part], chi = (size_t)p->cut[i - 1][part + 1];
      for (size_t o = 0; o < out; o++)
        if (add_range(r, base + l->w_off[i] + o * in + clo, chi - clo)) return -1;
      if (part == 0 && add_range(r, base + l->b_off[i], out)) return -1;
    } else if (part == 0) { /* NNP_REP: W then b, contiguous */
      if (add_range(r, base + l->w_off[i], out * in + out)) return -1;
    }
  }
  return 0;
}

/* ---- workspace ------------------------------------------------------------------------------ */

static float *falloc(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes ? bytes : 64);
}

static int units_of(const nnp_plan_t *p, int i, int part) {
  return p->mode[i] == NNP_COL ? p->cut[i][part + 1] - p->cut[i][part] : p->l.sizes[i + 1];
}

nnp_ws_t *nnp_ws_create(const nnp_plan_t *p, int max_batch) {
  if (max_batch < 1) return NULL;
  nnp_ws_t *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  ws->plan = *p;
  ws->max_batch = max_batch;
  const nn_layout_t *l = &p->l;
  size_t mb = (size_t)max_batch, widest = 0;
  for (int i = 0; i <= l->n_layers; i++)
    if ((size_t)l->sizes[i] > widest) widest = (size_t)l->sizes[i];
  int ok = 1;
  for (int q = 0; q < p->n_parts; q++) {
    part_ws_t *w = &ws->part[q];
    for (int i = 0; i < l->n_layers; i++) {
      ok &= (w->out[i] = falloc(mb * (size_t)units_of(p, i, q))) != NULL;
      for (int b = 0; b < 2; b++) {
        if (p->mode[i] == NNP_RED) ok &= (w->psum[i][b] = falloc(mb * l->sizes[i + 1])) != NULL;
        if (has_cuts(p, i)) ok &= (w->dpart[i][b] = falloc(mb * l->sizes[i])) != NULL;
      }
    }
    for (int b = 0; b < 3; b++) ok &= (w->dz[b] = falloc(mb * widest)) != NULL;
  }
  if (!ok) {
    nnp_ws_free(ws);
    return NULL;
  }
  return ws;
}

void nnp_ws_free(nnp_ws_t *ws) {
  if (!ws) return;
  for (int q = 0; q < NNP_MAX_PARTS; q++) {
    part_ws_t *w = &ws->part[q];
    for (int i = 0; i < NN_MAX_LAYERS; i++) {
      free(w->out[i]);
      for (int b = 0; b < 2; b++) {
        free(w->psum[i][b]);
        free(w->dpart[i][b]);
      }
    }
    for (int b = 0; b < 3; b++) free(w->dz[b]);
  }
  free(ws);
}

/* ---- element-wise pieces ----------------------------------------------------------------------
 */

/* The activation ReLU aside (gemm_affine_ld applies it). */
static void activate_rest(nn_act_t act, float *y, size_t n) {
  if (act == NN_TANH)
    for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
}

/* g = column sums of d (rows x n). */
static void col_sums(const float *d, int rows, int n, float *g) {
  memset(g, 0, (size_t)n * sizeof(float));
  nn_add_col_sums(d, rows, n, g);
}

/* y = the sum over parts u in order of src[u] (n floats each). */
static void sum_parts(float *y, const float *const *src, int n_parts, size_t n) {
  memcpy(y, src[0], n * sizeof(float));
  for (int u = 1; u < n_parts; u++) nn_add(y, src[u], n);
}

/* ---- forward ----------------------------------------------------------------------------------
 */

const float *nnp_forward(nnp_ws_t *ws, int part, tpool_t *pool, const float *params, const float *x,
                         int batch) {
  const nnp_plan_t *p = &ws->plan;
  const nn_layout_t *l = &p->l;
  part_ws_t *me = &ws->part[part];
  int par = (int)(me->fwd++ & 1u), T = p->n_parts;
  me->x = x;
  const float *in = x; /* the replicated input of layer i, when it is replicated */
  for (int i = 0; i < l->n_layers; i++) {
    int n_in = l->sizes[i], n_out = l->sizes[i + 1], relu = l->act[i] == NN_RELU;
    const float *W = params + l->w_off[i], *b = params + l->b_off[i];
    float *y = me->out[i];
    if (p->mode[i] == NNP_COL) {
      int lo = p->cut[i][part], w = p->cut[i][part + 1] - lo;
      const float *Wo = W + (size_t)lo * n_in;
      if (i == 0 || p->mode[i - 1] != NNP_COL) {
        gemm_affine_ld(batch, w, n_in, in, (size_t)n_in, Wo, (size_t)n_in, 0, b + lo, relu, y,
                       (size_t)w);
      } else { /* the previous layer's blocks, in order along the inner dimension */
        for (int u = 0; u < T; u++) {
          int ulo = p->cut[i - 1][u], uw = p->cut[i - 1][u + 1] - ulo;
          gemm_affine_ld(batch, w, uw, ws->part[u].out[i - 1], (size_t)uw, Wo + ulo, (size_t)n_in,
                         u > 0, b + lo, relu && u == T - 1, y, (size_t)w);
        }
      }
      activate_rest(l->act[i], y, (size_t)batch * w);
      if (p->mode[i + 1] == NNP_COL) tpool_barrier(pool, part); /* it reads every block */
      continue;
    }
    if (p->mode[i] == NNP_RED) { /* own input block times the columns of W it meets */
      int clo = p->cut[i - 1][part], cw = p->cut[i - 1][part + 1] - clo;
      float *ps = me->psum[i][par];
      gemm_affine_ld(batch, n_out, cw, me->out[i - 1], (size_t)cw, W + clo, (size_t)n_in, 0, NULL,
                     0, ps, (size_t)n_out);
      tpool_barrier(pool, part);
      const float *src[NNP_MAX_PARTS] = {0};
      for (int u = 0; u < T; u++) src[u] = ws->part[u].psum[i][par];
      sum_parts(y, src, T, (size_t)batch * n_out);
      for (int r = 0; r < batch; r++) {
        float *row = y + (size_t)r * n_out;
        for (int o = 0; o < n_out; o++) row[o] += b[o];
        if (relu)
          for (int o = 0; o < n_out; o++) row[o] = row[o] > 0.0f ? row[o] : 0.0f;
      }
    } else { /* NNP_REP, NNP_REPCOL: the whole layer */
      gemm_affine_ld(batch, n_out, n_in, in, (size_t)n_in, W, (size_t)n_in, 0, b, relu, y,
                     (size_t)n_out);
    }
    activate_rest(l->act[i], y, (size_t)batch * n_out);
    in = y;
  }
  return me->out[l->n_layers - 1];
}

/* ---- backward ---------------------------------------------------------------------------------
 */

/* d *= f'(z) on rows of w floats of y at row stride ldy (a whole output's own columns). */
static void act_rows_backward(nn_act_t act, const float *y, size_t ldy, float *d, int rows, int w) {
  for (int r = 0; r < rows; r++)
    nn_act_backward(act, y + (size_t)r * ldy, d + (size_t)r * w, (size_t)w);
}

/* Layer i - 1's dL/dz, own columns, from the sum over parts of blocks or from dx whole: its
 * derivative through this part's columns of y (an own block for NNP_COL, the whole replicated
 * output for NNP_REPCOL). */
static void own_act_backward(const nnp_plan_t *p, const part_ws_t *me, int i, int part, float *d,
                             int rows) {
  const nn_layout_t *l = &p->l;
  int mlo = p->cut[i - 1][part], mw = p->cut[i - 1][part + 1] - mlo;
  if (p->mode[i - 1] == NNP_COL)
    nn_act_backward(l->act[i - 1], me->out[i - 1], d, (size_t)rows * mw);
  else
    act_rows_backward(l->act[i - 1], me->out[i - 1] + mlo, (size_t)l->sizes[i], d, rows, mw);
}

const float *nnp_backward(nnp_ws_t *ws, int part, tpool_t *pool, const float *params,
                          const float *dy, int rows, float *grads, int want_dx) {
  const nnp_plan_t *p = &ws->plan;
  const nn_layout_t *l = &p->l;
  part_ws_t *me = &ws->part[part];
  int par = (int)(me->bwd++ & 1u), T = p->n_parts, last = l->n_layers - 1;
  size_t mb = (size_t)ws->max_batch;
  const float *x = me->x;
  /* d: dL/dz of layer i, this part's columns for a layer with cuts, else whole */
  float *d = me->dz[0], *dn = me->dz[1];
  size_t n_last = (size_t)rows * l->sizes[last + 1];
  memcpy(d, dy, n_last * sizeof(float));
  nn_act_backward(l->act[last], me->out[last], d, n_last);
  for (int i = last; i >= 0; i--) {
    int n_in = l->sizes[i], n_out = l->sizes[i + 1], need_dx = i > 0 || want_dx;
    int in_split = i > 0 && p->mode[i - 1] == NNP_COL, below_cut = i > 0 && has_cuts(p, i - 1);
    const float *W = params + l->w_off[i];
    float *gW = grads ? grads + l->w_off[i] : NULL, *gb = grads ? grads + l->b_off[i] : NULL;
    const float *in = i > 0 ? me->out[i - 1] : x; /* own block if in_split, else whole */
    const float *src[NNP_MAX_PARTS] = {0};
    if (has_cuts(p, i)) {
      int lo = p->cut[i][part], w = p->cut[i][part + 1] - lo;
      const float *Wo = W + (size_t)lo * n_in;
      float *D = me->dpart[i][par];
      if (gW) {
        if (!in_split) {
          gemm_tn_ld(w, n_in, rows, d, (size_t)w, in, (size_t)n_in, 0, gW + (size_t)lo * n_in,
                     (size_t)n_in);
        } else {
          for (int u = 0; u < T; u++) {
            int ulo = p->cut[i - 1][u], uw = p->cut[i - 1][u + 1] - ulo;
            gemm_tn_ld(w, uw, rows, d, (size_t)w, ws->part[u].out[i - 1], (size_t)uw, 0,
                       gW + (size_t)lo * n_in + ulo, (size_t)n_in);
          }
        }
        col_sums(d, rows, w, gb + lo);
      }
      if (!need_dx) break;
      if (below_cut) { /* one block per owner of the input units; each adds up its own */
        for (int u = 0; u < T; u++) {
          int ulo = p->cut[i - 1][u], uw = p->cut[i - 1][u + 1] - ulo;
          gemm_nn_ld(rows, uw, w, d, (size_t)w, Wo + ulo, (size_t)n_in, 0, D + mb * ulo,
                     (size_t)uw);
        }
        tpool_barrier(pool, part);
        int mlo = p->cut[i - 1][part], mw = p->cut[i - 1][part + 1] - mlo;
        for (int u = 0; u < T; u++) src[u] = ws->part[u].dpart[i][par] + mb * mlo;
        sum_parts(dn, src, T, (size_t)rows * mw);
        own_act_backward(p, me, i, part, dn, rows);
      } else { /* the whole input gradient, summed over the parts' units */
        gemm_nn_ld(rows, n_in, w, d, (size_t)w, Wo, (size_t)n_in, 0, D, (size_t)n_in);
        tpool_barrier(pool, part);
        for (int u = 0; u < T; u++) src[u] = ws->part[u].dpart[i][par];
        sum_parts(dn, src, T, (size_t)rows * n_in);
        if (i > 0) nn_act_backward(l->act[i - 1], me->out[i - 1], dn, (size_t)rows * n_in);
      }
    } else if (p->mode[i] == NNP_RED) { /* d whole; the input is this part's block */
      int clo = p->cut[i - 1][part], cw = p->cut[i - 1][part + 1] - clo;
      if (gW) {
        gemm_tn_ld(n_out, cw, rows, d, (size_t)n_out, in, (size_t)cw, 0, gW + clo, (size_t)n_in);
        if (part == 0) col_sums(d, rows, n_out, gb);
      }
      gemm_nn_ld(rows, cw, n_out, d, (size_t)n_out, W + clo, (size_t)n_in, 0, dn, (size_t)cw);
      nn_act_backward(l->act[i - 1], in, dn, (size_t)rows * cw);
    } else { /* NNP_REP: every part the whole layer, part 0 its gradients */
      if (gW && part == 0) {
        gemm_tn_ld(n_out, n_in, rows, d, (size_t)n_out, in, (size_t)n_in, 0, gW, (size_t)n_in);
        col_sums(d, rows, n_out, gb);
      }
      if (!need_dx) break;
      if (below_cut) { /* the layer below (NNP_REPCOL) needs only this part's columns */
        float *whole = me->dz[2];
        gemm_nn_ld(rows, n_in, n_out, d, (size_t)n_out, W, (size_t)n_in, 0, whole, (size_t)n_in);
        int mlo = p->cut[i - 1][part], mw = p->cut[i - 1][part + 1] - mlo;
        for (int r = 0; r < rows; r++)
          memcpy(dn + (size_t)r * mw, whole + (size_t)r * n_in + mlo, (size_t)mw * sizeof(float));
        own_act_backward(p, me, i, part, dn, rows);
      } else {
        gemm_nn_ld(rows, n_in, n_out, d, (size_t)n_out, W, (size_t)n_in, 0, dn, (size_t)n_in);
        if (i > 0) nn_act_backward(l->act[i - 1], in, dn, (size_t)rows * n_in);
      }
    }
    float *t = d;
    d = dn;
    dn = t;
    if (i == 0) return d; /* dL/dx, whole */
  }
  return NULL;
}

/* ---- optimizer, target ------------------------------------------------------------------------
 */

float nnp_optim_step(tpool_t *pool, int part, optim_t *o, const nnp_ranges_t *own, float *params,
                     const float *grads, float max_norm) {
  long t = o->t + 1; /* read by every part before the sum's barrier, written after it */
  double ss = 0;
  for (int r = 0; r < own->n; r++) ss += optim_sumsq(grads + own->off[r], own->len[r]);
  double norm = sqrt(tpool_sum(pool, part, ss));
  for (int r = 0; r < own->n; r++)
    optim_step_slice(o, t, norm, max_norm, params, grads, own->off[r], own->len[r]);
  if (part == 0) o->t = t;
  /* Every part's next forward may read parameters another part owns (the biases of an NNP_RED
   * layer, every NNP_REP layer), and its next step reads o->t. */
  tpool_barrier(pool, part);
  return (float)norm;
}

void nnp_polyak(const nnp_ranges_t *own, float *target, const float *online, float tau) {
  for (int r = 0; r < own->n; r++)
    nn_polyak(target + own->off[r], online + own->off[r], own->len[r], tau);
}
