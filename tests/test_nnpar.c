/* test_nnpar: common/nnpar.h against the single-thread network of nn.h and optim.h.
 *
 * Plans: nnp_plan_init accepts every dense layout for 1..NNP_MAX_PARTS parts (one part: every
 * layer REP; more: every layer but the last with >= 32 units per part COL, its cuts starting
 * at 0, ending at the layer's width, rising, on multiples of 16; the last layer never COL; a
 * RED layer after a COL one; a layer too narrow to split REP or RED) and refuses conv and
 * dueling layouts and part counts 0 and NNP_MAX_PARTS + 1 with a message. nnp_owned over all
 * parts covers every parameter exactly once (base 0, base 1000, two networks appended into one
 * nnp_ranges_t), gives each part what it computes (COL: its units' W rows and biases; RED: the
 * column stretch of W its input block meets; REP: part 0 all) and says -1 when full.
 *
 * Jobs on pools of T = 1, 2, 3 for 4-256-256-2, 3-400-300-1 (tanh out), 4-64-64-2, 5-40-3
 * (tanh hidden, too narrow to split), 7-96-1 and 4-256-256-256-2, batch 64, backward over the
 * first 48 rows:
 *   - every part's forward output is nn_forward's within 1e-4 (1 + |ref|) and the same bits on
 *     every part;
 *   - the backward WRITES every gradient (the buffer starts as NaN, then as 12345) and matches
 *     nn_backward's within 1e-4 (1 + |ref|); dx likewise, the same bits on every part;
 *   - two runs give the same bits (outputs, gradients, dx);
 *   - a second forward on the same workspace (another x and batch, backward over all its rows)
 *     and a second workspace (a target network) forwarded between a forward and its backward
 *     give the right answers; want_dx 0 returns NULL;
 *   - nnp_optim_step (Adam with a binding clip and without one, centered RMSprop) over each
 *     part's ranges against optim_step: the norm within 1e-5 relative and the same on every
 *     part, parameters and moments bit for bit for T = 1 and within 1e-6 relative for T > 1,
 *     o->t one step per call;
 *   - K whole updates (forward, target forward, backward, optimizer step) in one job, and K
 *     optimizer steps back to back in one job, give the bits of the same calls each in its
 *     own job (the calls synchronize among themselves; under TSan: no data race);
 *   - nnp_polyak (tau 0.005 and 1) over each part's ranges is nn_polyak bit for bit. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn.h"
#include "nnpar.h"
#include "optim.h"
#include "rng.h"
#include "tpool.h"

#define MAXT 3
#define BATCH 64
#define ROWS 48
#define BATCH2 50 /* the second forward on the same workspace */

typedef struct spec {
  int n_in, hidden[4], n_hidden, n_out;
  nn_act_t hid, out;
} spec_t;

static const spec_t SPECS[] = {
    {4, {256, 256}, 2, 2, NN_RELU, NN_IDENTITY}, {3, {400, 300}, 2, 1, NN_RELU, NN_TANH},
    {4, {64, 64}, 2, 2, NN_RELU, NN_IDENTITY},   {5, {40}, 1, 3, NN_TANH, NN_IDENTITY},
    {7, {160}, 1, 1, NN_RELU, NN_IDENTITY},      {4, {256, 256, 256}, 3, 2, NN_RELU, NN_IDENTITY},
    {40, {192, 128}, 2, 24, NN_TANH, NN_IDENTITY},
};
#define N_SPECS ((int)(sizeof SPECS / sizeof *SPECS))

static void layout_name(const nn_layout_t *l, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i <= l->n_layers && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, i ? "-%d" : "%d", l->sizes[i]);
}

static const char *mode_name(nnp_mode_t m) {
  return m == NNP_COL      ? "COL"
         : m == NNP_RED    ? "RED"
         : m == NNP_REP    ? "REP"
         : m == NNP_REPCOL ? "REPCOL"
                           : "?";
}

/* ---- plans and ownership ----------------------------------------------------------------- */

/* Ranges of every part (base `base`) hit each index of [base, base + n_params) exactly once. */
static void check_cover(const nnp_plan_t *p, size_t base, const char *name) {
  size_t n = p->l.n_params;
  unsigned char *hits = calloc(n, 1);
  int bad = 0, rc_bad = 0;
  for (int part = 0; part < p->n_parts; part++) {
    nnp_ranges_t r;
    r.n = 0;
    if (nnp_owned(p, part, base, &r) != 0) rc_bad++;
    if (r.n < 0 || r.n > NNP_MAX_RANGES) {
      bad++;
      continue;
    }
    for (int k = 0; k < r.n; k++) {
      if (r.off[k] < base || r.off[k] + r.len[k] > base + n) {
        bad++;
        continue;
      }
      for (size_t i = 0; i < r.len[k]; i++)
        if (hits[r.off[k] - base + i] < 255) hits[r.off[k] - base + i]++;
    }
  }
  size_t missing = 0, twice = 0;
  for (size_t i = 0; i < n; i++) {
    missing += hits[i] == 0;
    twice += hits[i] > 1;
  }
  CHECK(!rc_bad && !bad && !missing && !twice,
        "%s, %d parts, base %zu: nnp_owned failed %d, ranges outside %d, %zu of %zu parameters "
        "unowned, %zu owned twice",
        name, p->n_parts, base, rc_bad, bad, missing, n, twice);
  free(hits);
}

/* Two networks' ranges appended into one nnp_ranges_t (the second at base n_params) cover
 * [0, 2 n_params) once; a full nnp_ranges_t says -1. */
static void check_append(const nnp_plan_t *p, const char *name) {
  size_t n = p->l.n_params;
  unsigned char *hits = calloc(2 * n, 1);
  int bad = 0;
  for (int part = 0; part < p->n_parts; part++) {
    nnp_ranges_t r;
    r.n = 0;
    int rc0 = nnp_owned(p, part, 0, &r);
    int one = r.n;
    int rc1 = nnp_owned(p, part, n, &r);
    if (rc0 != 0 || (2 * one <= NNP_MAX_RANGES && rc1 != 0)) {
      bad++;
      continue;
    }
    if (rc1 != 0) continue; /* legitimately full */
    CHECK(r.n == 2 * one, "%s part %d: appended %d ranges to %d", name, part, r.n - one, one);
    for (int k = 0; k < r.n && k < NNP_MAX_RANGES; k++) {
      if (r.off[k] + r.len[k] > 2 * n) {
        bad++;
        continue;
      }
      for (size_t i = 0; i < r.len[k]; i++)
        if (hits[r.off[k] + i] < 255) hits[r.off[k] + i]++;
    }
  }
  size_t wrong = 0;
  for (size_t i = 0; i < 2 * n; i++) wrong += hits[i] != 1;
  CHECK(!bad && !wrong, "%s, %d parts, two networks appended: %d bad calls, %zu of %zu wrong", name,
        p->n_parts, bad, wrong, 2 * n);
  free(hits);

  /* Part 0 always owns something: appending it again and again fills r, then -1. */
  nnp_ranges_t r;
  r.n = 0;
  int full = 0, first = -1;
  for (int k = 0; k <= NNP_MAX_RANGES && !full; k++) {
    int rc = nnp_owned(p, 0, (size_t)k * n, &r);
    if (k == 0) first = r.n;
    if (rc == -1) full = 1;
    if (r.n > NNP_MAX_RANGES) break;
  }
  if (first > 0)
    CHECK(full && r.n <= NNP_MAX_RANGES, "%s, %d parts: nnp_owned never said full (n %d)", name,
          p->n_parts, r.n);
  else
    CHECK(0, "%s, %d parts: part 0 owns no ranges", name, p->n_parts);
}

/* Each part owns what the modes say it computes: a COL layer's W rows and biases of its units,
 * a RED layer's column stretch of W that its input block meets (every row), all of a REP
 * layer (part 0). */
static void check_owners(const nnp_plan_t *p, const char *name) {
  const nn_layout_t *l = &p->l;
  size_t n = l->n_params;
  signed char *owner = malloc(n);
  memset(owner, -1, n);
  for (int part = 0; part < p->n_parts; part++) {
    nnp_ranges_t r;
    r.n = 0;
    if (nnp_owned(p, part, 0, &r) != 0) continue;
    for (int k = 0; k < r.n && k < NNP_MAX_RANGES; k++)
      for (size_t i = 0; i < r.len[k] && r.off[k] + i < n; i++)
        owner[r.off[k] + i] = (signed char)part;
  }
  for (int i = 0; i < l->n_layers; i++) {
    size_t in = (size_t)l->sizes[i], out = (size_t)l->sizes[i + 1];
    const signed char *W = owner + l->w_off[i], *b = owner + l->b_off[i];
    size_t wrong = 0, first_o = 0, first_c = 0;
    int first_got = 0, first_want = 0;
    for (size_t o = 0; o < out; o++)
      for (size_t c = 0; c <= in; c++) { /* c == in: the bias */
        int want = -2;
        if (p->mode[i] == NNP_REP) {
          want = 0;
        } else if (p->mode[i] == NNP_COL || p->mode[i] == NNP_REPCOL) {
          for (int q = 0; q < p->n_parts; q++)
            if ((int)o >= p->cut[i][q] && (int)o < p->cut[i][q + 1]) want = q;
        } else if (c < in) { /* NNP_RED weights; its biases: any one part */
          for (int q = 0; q < p->n_parts; q++)
            if ((int)c >= p->cut[i - 1][q] && (int)c < p->cut[i - 1][q + 1]) want = q;
        }
        if (want == -2) continue;
        int got = c < in ? W[o * in + c] : b[o];
        if (got != want && !wrong++) {
          first_o = o;
          first_c = c;
          first_got = got;
          first_want = want;
        }
      }
    CHECK(wrong == 0,
          "%s/%d layer %d (%s): %zu parameters owned by the wrong part, first %s[%zu][%zu] by "
          "part %d, computed by part %d",
          name, p->n_parts, i, mode_name(p->mode[i]), wrong, first_c < in ? "W" : "b", first_o,
          first_c, first_got, first_want);
  }
  free(owner);
}

static void check_plan_shape(const nnp_plan_t *p, const char *name) {
  const nn_layout_t *l = &p->l;
  int n = p->n_parts, last = l->n_layers - 1;
  for (int i = 0; i < l->n_layers; i++) {
    int units = l->sizes[i + 1];
    nnp_mode_t m = p->mode[i];
    CHECK(m == NNP_COL || m == NNP_RED || m == NNP_REP || m == NNP_REPCOL,
          "%s/%d layer %d: mode %d", name, n, i, (int)m);
    /* split by units and computed whole on every part: a narrow replicated input only */
    int in_rep = i == 0 || p->mode[i - 1] != NNP_COL;
    if (m == NNP_REPCOL)
      CHECK(in_rep && l->sizes[i] <= 32, "%s/%d layer %d: REPCOL with %d inputs (%s)", name, n, i,
            l->sizes[i], in_rep ? "replicated" : "split");
    if (m == NNP_COL || m == NNP_REPCOL) {
      int ok = p->cut[i][0] == 0 && p->cut[i][n] == units;
      for (int k = 0; k < n; k++) ok = ok && p->cut[i][k] <= p->cut[i][k + 1];
      for (int k = 1; k < n; k++) ok = ok && p->cut[i][k] % 16 == 0;
      CHECK(ok, "%s/%d layer %d (%d units): bad cuts %d %d %d %d", name, n, i, units, p->cut[i][0],
            p->cut[i][1], n > 1 ? p->cut[i][2] : -1, n > 2 ? p->cut[i][3] : -1);
      CHECK(i < last, "%s/%d: the last layer is COL", name, n);
    }
    if (m == NNP_RED)
      CHECK(i > 0 && p->mode[i - 1] == NNP_COL, "%s/%d layer %d: RED not after a COL layer", name,
            n, i);
    /* one part computes every layer whole (REP, part 0 owning it) */
    if (n == 1) CHECK(m == NNP_REP, "%s/1 layer %d is %s", name, i, mode_name(m));
    if (n >= 2 && i < last && units >= 64 * n)
      CHECK(m == (in_rep && l->sizes[i] <= 32 ? NNP_REPCOL : NNP_COL),
            "%s/%d layer %d: %d units (>= 64 per part) is %s", name, n, i, units, mode_name(m));
    if (n >= 2 && units < 64 * n)
      CHECK(m == NNP_REP || m == NNP_RED, "%s/%d layer %d: %d units (< 64 per part) is %s", name,
            n, i, units, mode_name(m));
    if (units < 32 && n >= 2)
      CHECK(m != NNP_COL && m != NNP_REPCOL, "%s/%d layer %d: %d units split", name, n, i, units);
  }
}

static void check_plans(void) {
  char err[256], name[64];
  for (int s = 0; s < N_SPECS; s++) {
    const spec_t *sp = &SPECS[s];
    nn_layout_t l;
    CHECK(nn_layout_init(&l, sp->n_in, sp->hidden, sp->n_hidden, sp->n_out, sp->hid, sp->out) == 0,
          "layout %d", s);
    layout_name(&l, name, sizeof name);
    for (int n = 1; n <= NNP_MAX_PARTS; n++) {
      nnp_plan_t p;
      memset(&p, 0xa5, sizeof p);
      err[0] = 0;
      int rc = nnp_plan_init(&p, &l, n, err, sizeof err);
      CHECK(rc == 0, "nnp_plan_init %s over %d parts: %s", name, n, err);
      if (rc != 0) continue;
      CHECK(p.n_parts == n && p.l.n_params == l.n_params && p.l.n_layers == l.n_layers,
            "%s/%d: plan n_parts %d, n_params %zu", name, n, p.n_parts, p.l.n_params);
      check_plan_shape(&p, name);
      check_cover(&p, 0, name);
      check_cover(&p, 1000, name);
      if (n <= MAXT) check_owners(&p, name);
      check_append(&p, name);
    }
    /* too narrow to split: every layer REP or RED */
    if (s == 3)
      for (int n = 2; n <= MAXT; n++) {
        nnp_plan_t p;
        if (nnp_plan_init(&p, &l, n, err, sizeof err) != 0) continue;
        for (int i = 0; i < l.n_layers; i++)
          CHECK(p.mode[i] == NNP_REP || p.mode[i] == NNP_RED, "%s/%d layer %d is %s", name, n, i,
                mode_name(p.mode[i]));
      }
    /* part counts out of range */
    int bad_n[2] = {0, NNP_MAX_PARTS + 1};
    for (int k = 0; k < 2; k++) {
      nnp_plan_t p;
      err[0] = 0;
      CHECK(nnp_plan_init(&p, &l, bad_n[k], err, sizeof err) == -1 && err[0],
            "nnp_plan_init %s over %d parts: no error (err '%s')", name, bad_n[k], err);
    }
  }
  /* Not dense: a conv trunk; a dueling head. */
  {
    nn_spec_t sp;
    nn_layout_t l;
    int shape[3] = {6, 6, 2};
    CHECK(nn_spec_parse(&sp, "conv:4x3x3,fc:32", err, sizeof err) == 0, "parse: %s", err);
    CHECK(nn_layout_build(&l, &sp, 72, shape, 3, NN_RELU, NN_IDENTITY, 0, err, sizeof err) == 0,
          "conv layout: %s", err);
    for (int n = 1; n <= 2; n++) {
      nnp_plan_t p;
      err[0] = 0;
      CHECK(nnp_plan_init(&p, &l, n, err, sizeof err) == -1 && err[0],
            "conv layout over %d parts: accepted or no message ('%s')", n, err);
      if (n == 2) printf("conv layout refused: %s\n", err);
    }
    CHECK(nn_spec_parse(&sp, "fc:64", err, sizeof err) == 0, "parse: %s", err);
    CHECK(nn_layout_build(&l, &sp, 4, NULL, 3, NN_RELU, NN_IDENTITY, 1, err, sizeof err) == 0,
          "dueling layout: %s", err);
    nnp_plan_t p;
    err[0] = 0;
    CHECK(nnp_plan_init(&p, &l, 2, err, sizeof err) == -1 && err[0],
          "dueling layout: accepted or no message ('%s')", err);
  }
}

/* ---- the jobs ---------------------------------------------------------------------------- */

typedef enum { OP_NET = 0, OP_OPTIM = 1, OP_POLYAK = 2, OP_TRAIN = 3 } op_t;

#define K_UPD 3 /* OP_TRAIN's updates */

typedef struct job {
  op_t op;
  const nnp_plan_t *plan;
  tpool_t *pool;
  /* OP_NET: forward ws on x; if x2, forward ws again on x2; if ws2, forward ws2 (params2) on
   * x3; then, if rows > 0, the backward of ws's last forward. */
  nnp_ws_t *ws, *ws2;
  const float *params, *params2;
  const float *x, *x2, *x3;
  int batch, batch2, batch3;
  const float *dy;
  int rows;
  float *grads;
  int want_dx;
  /* OP_OPTIM / OP_POLYAK */
  optim_t *o;
  float *oparams, *target;
  const float *ograds, *online;
  float max_norm, tau;
  /* per part results (each part writes only its own) */
  float *y[MAXT], *y2[MAXT], *y3[MAXT], *dx[MAXT];
  int null_y[MAXT], dx_null[MAXT], owned_rc[MAXT], n_parts_seen[MAXT];
  float norm[MAXT];
  /* OP_TRAIN: K_UPD updates of {forward params on tx[k], forward ws2 (params2, constant) on
   * ttx[k], backward (first ROWS rows, tdy[k], no dx) into grads, nnp_optim_step(o, max_norm)}
   * (optim_only: the optimizer steps alone, on the grads as they are), all in this job
   * (only < 0) or only call number `only` (4 k + 0..3). */
  const float *tx, *ttx, *tdy;
  int only, optim_only;
  float *ytr[MAXT], *ytt[MAXT];
  float tnorm[MAXT][K_UPD];
} job_t;

static void train_fn(job_t *j, int part) {
  const nn_layout_t *l = &j->plan->l;
  size_t n_in = (size_t)l->sizes[0], n_out = (size_t)l->sizes[l->n_layers];
  nnp_ranges_t r;
  r.n = 0;
  j->owned_rc[part] = nnp_owned(j->plan, part, 0, &r);
  if (j->owned_rc[part] != 0) r.n = 0;
  for (int k = 0; k < K_UPD; k++)
    for (int c = 0; c < 4; c++) {
      if (j->only >= 0 && j->only != 4 * k + c) continue;
      if (j->optim_only && c != 3) continue;
      const float *y;
      switch (c) {
        case 0:
          y = nnp_forward(j->ws, part, j->pool, j->oparams, j->tx + k * BATCH * n_in, BATCH);
          if (y) memcpy(j->ytr[part] + k * BATCH * n_out, y, BATCH * n_out * sizeof(float));
          if (!y) j->null_y[part] = 1;
          break;
        case 1:
          y = nnp_forward(j->ws2, part, j->pool, j->params2, j->ttx + k * BATCH * n_in, BATCH);
          if (y) memcpy(j->ytt[part] + k * BATCH * n_out, y, BATCH * n_out * sizeof(float));
          if (!y) j->null_y[part] = 1;
          break;
        case 2:
          if (nnp_backward(j->ws, part, j->pool, j->oparams, j->tdy + k * ROWS * n_out, ROWS,
                           j->grads, 0) != NULL)
            j->dx_null[part] = 0;
          break;
        default:
          j->tnorm[part][k] =
              nnp_optim_step(j->pool, part, j->o, &r, j->oparams, j->grads, j->max_norm);
      }
    }
}

static void job_fn(void *arg, int part, int n_parts) {
  job_t *j = arg;
  if (part >= MAXT) return;
  j->n_parts_seen[part] = n_parts;
  if (j->op == OP_TRAIN) {
    train_fn(j, part);
    return;
  }
  const nn_layout_t *l = &j->plan->l;
  size_t n_in = (size_t)l->sizes[0], n_out = (size_t)l->sizes[l->n_layers];
  if (j->op == OP_NET) {
    int null_y = 0;
    const float *y = nnp_forward(j->ws, part, j->pool, j->params, j->x, j->batch);
    if (y)
      memcpy(j->y[part], y, j->batch * n_out * sizeof(float));
    else
      null_y = 1;
    if (j->x2) {
      y = nnp_forward(j->ws, part, j->pool, j->params, j->x2, j->batch2);
      if (y)
        memcpy(j->y2[part], y, j->batch2 * n_out * sizeof(float));
      else
        null_y = 1;
    }
    if (j->ws2) {
      y = nnp_forward(j->ws2, part, j->pool, j->params2, j->x3, j->batch3);
      if (y)
        memcpy(j->y3[part], y, j->batch3 * n_out * sizeof(float));
      else
        null_y = 1;
    }
    j->null_y[part] = null_y;
    if (j->rows > 0) {
      const float *dx =
          nnp_backward(j->ws, part, j->pool, j->params, j->dy, j->rows, j->grads, j->want_dx);
      j->dx_null[part] = dx == NULL;
      if (dx) memcpy(j->dx[part], dx, j->rows * n_in * sizeof(float));
    }
  } else {
    nnp_ranges_t r;
    r.n = 0;
    j->owned_rc[part] = nnp_owned(j->plan, part, 0, &r);
    if (j->owned_rc[part] != 0) r.n = 0;
    if (j->op == OP_OPTIM)
      j->norm[part] = nnp_optim_step(j->pool, part, j->o, &r, j->oparams, j->ograds, j->max_norm);
    else
      nnp_polyak(&r, j->target, j->online, j->tau);
  }
}

/* ---- comparisons ------------------------------------------------------------------------- */

/* Elements outside |a - b| <= tol (1 + |b|) (NaN counts); the largest |a - b| in *worst. */
static size_t count_far(const float *a, const float *b, size_t n, double tol, double *worst,
                        size_t *first) {
  size_t bad = 0;
  *first = n;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= tol * (1.0 + fabs((double)b[i])))) {
      if (!bad) *first = i;
      bad++;
    }
    if (d > *worst || d != d) *worst = d != d ? INFINITY : d;
  }
  return bad;
}

/* Largest |a - b| / max(|b|, floor), NaN as infinity. */
static double worst_rel(const float *a, const float *b, size_t n, double floor_) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]) / fmax(fabs((double)b[i]), floor_);
    if (d != d) d = INFINITY;
    if (d > w) w = d;
  }
  return w;
}

static size_t count_nonfinite(const float *a, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += !isfinite(a[i]);
  return k;
}

/* The reference forward (batch rows) and backward (first `rows` rows; dx rows x n_in). */
static void reference(const nn_layout_t *l, const float *params, const float *x, int batch,
                      const float *dy, int rows, float *y, float *grads, float *dx) {
  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, l, BATCH) == 0, "nn_ws_init");
  const float *out = nn_forward(&ws, params, x, batch);
  memcpy(y, out, (size_t)batch * l->sizes[l->n_layers] * sizeof(float));
  if (rows < batch) nn_ws_keep_rows(&ws, rows);
  memset(grads, 0, l->n_params * sizeof(float));
  nn_backward(&ws, params, dy, grads, dx);
  nn_ws_free(&ws);
}

static float *fvec(size_t n) {
  float *v = malloc((n ? n : 1) * sizeof(float));
  if (!v) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return v;
}

static void fill(float *v, size_t n, rng_t *r, double lo, double hi) {
  for (size_t i = 0; i < n; i++) v[i] = (float)rng_range(r, lo, hi);
}

static void fill_const(float *v, size_t n, float c) {
  for (size_t i = 0; i < n; i++) v[i] = c;
}

/* Every part's copy of an n-float result: within tol of ref, and all the same bits as part 0's.
 * Returns the worst |diff|. */
static double check_parts(const char *what, const char *name, int T, float *const *got,
                          const float *ref, size_t n, double tol) {
  double worst = 0;
  for (int p = 0; p < T; p++) {
    size_t first;
    size_t bad = count_far(got[p], ref, n, tol, &worst, &first);
    CHECK(bad == 0, "%s T=%d %s part %d: %zu of %zu elements off, first [%zu] %.9g vs ref %.9g",
          name, T, what, p, bad, n, first, bad ? got[p][first] : 0.0, bad ? ref[first] : 0.0);
    if (p > 0)
      CHECK(memcmp(got[p], got[0], n * sizeof(float)) == 0,
            "%s T=%d %s: part %d's copy differs from part 0's", name, T, what, p);
  }
  return worst;
}

/* ---- one layout on one pool ---------------------------------------------------------------- */

static void run_case(const spec_t *sp, int T, tpool_t *pool, uint64_t seed) {
  nn_layout_t l;
  char err[256], name[64];
  CHECK(nn_layout_init(&l, sp->n_in, sp->hidden, sp->n_hidden, sp->n_out, sp->hid, sp->out) == 0,
        "layout");
  layout_name(&l, name, sizeof name);
  nnp_plan_t plan;
  if (nnp_plan_init(&plan, &l, T, err, sizeof err) != 0) {
    CHECK(0, "%s T=%d: nnp_plan_init: %s", name, T, err);
    return;
  }
  const size_t np = l.n_params, n_in = (size_t)l.sizes[0], n_out = (size_t)l.sizes[l.n_layers];
  rng_t r;
  rng_seed(&r, seed);

  float *params = fvec(np), *params2 = fvec(np);
  nn_init_params(&l, params, &r);
  nn_init_params(&l, params2, &r);
  float *x = fvec(BATCH * n_in), *x2 = fvec(BATCH * n_in), *x3 = fvec(BATCH * n_in);
  fill(x, BATCH * n_in, &r, -2, 2);
  fill(x2, BATCH * n_in, &r, -2, 2);
  fill(x3, BATCH * n_in, &r, -2, 2);
  float *dy = fvec(BATCH * n_out), *dy2 = fvec(BATCH * n_out);
  fill(dy, BATCH * n_out, &r, -1, 1);
  fill(dy2, BATCH * n_out, &r, -1, 1);

  /* references */
  float *ref_y = fvec(BATCH * n_out), *ref_g = fvec(np), *ref_dx = fvec(BATCH * n_in);
  reference(&l, params, x, BATCH, dy, ROWS, ref_y, ref_g, ref_dx);
  float *ref_y2 = fvec(BATCH * n_out), *ref_g2 = fvec(np), *ref_dx2 = fvec(BATCH * n_in);
  reference(&l, params, x2, BATCH2, dy2, BATCH2, ref_y2, ref_g2, ref_dx2);
  float *ref_y3 = fvec(BATCH * n_out), *scratch_g = fvec(np), *scratch_dx = fvec(BATCH * n_in);
  reference(&l, params2, x3, BATCH, dy, ROWS, ref_y3, scratch_g, scratch_dx);

  nnp_ws_t *ws = nnp_ws_create(&plan, BATCH), *ws2 = nnp_ws_create(&plan, BATCH);
  CHECK(ws && ws2, "%s T=%d: nnp_ws_create", name, T);
  if (!ws || !ws2) {
    nnp_ws_free(ws);
    nnp_ws_free(ws2);
    return;
  }

  job_t j;
  memset(&j, 0, sizeof j);
  j.plan = &plan;
  j.pool = pool;
  float *keep_y[MAXT], *keep_dx[MAXT];
  for (int p = 0; p < MAXT; p++) {
    j.y[p] = fvec(BATCH * n_out);
    j.y2[p] = fvec(BATCH * n_out);
    j.y3[p] = fvec(BATCH * n_out);
    j.dx[p] = fvec(BATCH * n_in);
    keep_y[p] = fvec(BATCH * n_out);
    keep_dx[p] = fvec(BATCH * n_in);
  }
  float *grads = fvec(np), *grads_keep = fvec(np);

  /* 3, 4: forward of 64 rows, backward of the first 48, gradients from NaN; then (5) again
   * from 12345: the same bits. */
  double fwd_worst = 0, g_worst = 0, dx_worst = 0;
  for (int run = 0; run < 2; run++) {
    fill_const(grads, np, run == 0 ? NAN : 12345.0f);
    j.op = OP_NET;
    j.ws = ws;
    j.ws2 = NULL;
    j.params = params;
    j.x = x;
    j.batch = BATCH;
    j.x2 = NULL;
    j.dy = dy;
    j.rows = ROWS;
    j.grads = grads;
    j.want_dx = 1;
    tpool_run(pool, job_fn, &j);
    for (int p = 0; p < T; p++) {
      CHECK(j.n_parts_seen[p] == T, "%s T=%d: part %d saw %d parts", name, T, p, j.n_parts_seen[p]);
      CHECK(!j.null_y[p] && !j.dx_null[p], "%s T=%d part %d: NULL output (%d) or dx (%d)", name, T,
            p, j.null_y[p], j.dx_null[p]);
    }
    fwd_worst = fmax(fwd_worst, check_parts("forward", name, T, j.y, ref_y, BATCH * n_out, 1e-4));
    size_t nf = count_nonfinite(grads, np);
    CHECK(nf == 0, "%s T=%d run %d: %zu of %zu gradients not finite (not written)", name, T, run,
          nf, np);
    size_t first, bad = count_far(grads, ref_g, np, 1e-4, &g_worst, &first);
    CHECK(bad == 0, "%s T=%d run %d: %zu of %zu gradients off, first [%zu] %.9g vs ref %.9g", name,
          T, run, bad, np, first, bad ? grads[first] : 0.0, bad ? ref_g[first] : 0.0);
    if (run == 0 && bad) { /* where: one line per layer with a wrong gradient */
      for (int i = 0; i < l.n_layers; i++) {
        size_t wo = l.w_off[i], bo = l.b_off[i], wn = bo - wo, bn = (size_t)l.sizes[i + 1];
        double w1 = 0, w2 = 0;
        size_t f1, f2;
        size_t b1 = count_far(grads + wo, ref_g + wo, wn, 1e-4, &w1, &f1);
        size_t b2 = count_far(grads + bo, ref_g + bo, bn, 1e-4, &w2, &f2);
        if (b1 || b2)
          fprintf(stderr,
                  "  layer %d (%s): W %zu of %zu off (first row %zu col %zu), b %zu of %zu off "
                  "(first %zu)\n",
                  i, mode_name(plan.mode[i]), b1, wn, f1 / l.sizes[i], f1 % l.sizes[i], b2, bn, f2);
      }
    }
    dx_worst = fmax(dx_worst, check_parts("dx", name, T, j.dx, ref_dx, ROWS * n_in, 1e-4));
    if (run == 0) {
      memcpy(grads_keep, grads, np * sizeof(float));
      for (int p = 0; p < T; p++) {
        memcpy(keep_y[p], j.y[p], BATCH * n_out * sizeof(float));
        memcpy(keep_dx[p], j.dx[p], ROWS * n_in * sizeof(float));
      }
    } else {
      CHECK(memcmp(grads_keep, grads, np * sizeof(float)) == 0,
            "%s T=%d: two runs gave different gradients", name, T);
      for (int p = 0; p < T; p++) {
        CHECK(memcmp(keep_y[p], j.y[p], BATCH * n_out * sizeof(float)) == 0,
              "%s T=%d part %d: two runs gave different outputs", name, T, p);
        CHECK(memcmp(keep_dx[p], j.dx[p], ROWS * n_in * sizeof(float)) == 0,
              "%s T=%d part %d: two runs gave different dx", name, T, p);
      }
    }
  }

  /* 8a: two forwards back to back on one workspace (x, 64 rows, then x2, 50 rows), the
   * backward of the second over all its rows. */
  {
    fill_const(grads, np, NAN);
    j.x = x;
    j.batch = BATCH;
    j.x2 = x2;
    j.batch2 = BATCH2;
    j.dy = dy2;
    j.rows = BATCH2;
    tpool_run(pool, job_fn, &j);
    for (int p = 0; p < T; p++) CHECK(!j.null_y[p], "%s T=%d part %d: NULL output", name, T, p);
    double w = 0;
    w = fmax(w, check_parts("1st of 2 forwards", name, T, j.y, ref_y, BATCH * n_out, 1e-4));
    w = fmax(w, check_parts("2nd of 2 forwards", name, T, j.y2, ref_y2, BATCH2 * n_out, 1e-4));
    fwd_worst = fmax(fwd_worst, w);
    size_t first, bad = count_far(grads, ref_g2, np, 1e-4, &g_worst, &first);
    CHECK(bad == 0,
          "%s T=%d, backward after 2 forwards: %zu of %zu gradients off, first [%zu] %.9g vs %.9g",
          name, T, bad, np, first, bad ? grads[first] : 0.0, bad ? ref_g2[first] : 0.0);
    dx_worst = fmax(
        dx_worst, check_parts("dx after 2 forwards", name, T, j.dx, ref_dx2, BATCH2 * n_in, 1e-4));
  }

  /* 8b: online forward (x), target forward on another workspace (params2, x3), then the
   * online backward (first 48 rows, no dx). */
  {
    fill_const(grads, np, 12345.0f);
    j.x = x;
    j.batch = BATCH;
    j.x2 = NULL;
    j.ws2 = ws2;
    j.params2 = params2;
    j.x3 = x3;
    j.batch3 = BATCH;
    j.dy = dy;
    j.rows = ROWS;
    j.want_dx = 0;
    tpool_run(pool, job_fn, &j);
    for (int p = 0; p < T; p++) {
      CHECK(!j.null_y[p], "%s T=%d part %d: NULL output", name, T, p);
      CHECK(j.dx_null[p], "%s T=%d part %d: want_dx 0 returned dx", name, T, p);
    }
    double w = 0;
    w = fmax(w, check_parts("online forward", name, T, j.y, ref_y, BATCH * n_out, 1e-4));
    w = fmax(w, check_parts("target forward", name, T, j.y3, ref_y3, BATCH * n_out, 1e-4));
    fwd_worst = fmax(fwd_worst, w);
    size_t first, bad = count_far(grads, ref_g, np, 1e-4, &g_worst, &first);
    CHECK(bad == 0,
          "%s T=%d, online backward after a target forward: %zu of %zu gradients off, first "
          "[%zu] %.9g vs %.9g",
          name, T, bad, np, first, bad ? grads[first] : 0.0, bad ? ref_g[first] : 0.0);
    CHECK(memcmp(grads, grads_keep, np * sizeof(float)) == 0,
          "%s T=%d: the online gradients changed with a target forward in between", name, T);
    j.ws2 = NULL;
    j.want_dx = 1;
  }

  /* 6: optimizer steps over each part's ranges vs optim_step on the whole buffer, the same
   * gradients (the reference's). */
  double gnorm = optim_grad_norm(ref_g, np);
  float clip = gnorm > 2.0 ? 1.0f : (float)(0.5 * gnorm);
  double norm_worst = 0, p_worst = 0;
  for (int kind = 0; kind < 2; kind++) {
    optim_t o0, o1;
    int rc0 = kind ? rmsprop_centered_init(&o0, np, 2.5e-4f, 0.95f, 0.01f)
                   : adam_init(&o0, np, 1e-3f, 0.9f, 0.999f, 1e-8f);
    int rc1 = kind ? rmsprop_centered_init(&o1, np, 2.5e-4f, 0.95f, 0.01f)
                   : adam_init(&o1, np, 1e-3f, 0.9f, 0.999f, 1e-8f);
    CHECK(rc0 == 0 && rc1 == 0, "optim init");
    if (rc0 || rc1) continue;
    float *p0 = fvec(np), *p1 = fvec(np), *g = fvec(np);
    memcpy(p0, params, np * sizeof(float));
    memcpy(p1, params, np * sizeof(float));
    const int steps = 3;
    for (int s = 0; s < steps; s++) {
      /* steps 0, 1 clipped (the clip binds), step 2 unclipped; the gradients change a little */
      for (size_t i = 0; i < np; i++) g[i] = ref_g[i] * (1.0f + 0.25f * (float)s);
      float mn = s < 2 ? clip : 0.0f;
      long t0 = o1.t;
      j.op = OP_OPTIM;
      j.o = &o1;
      j.oparams = p1;
      j.ograds = g;
      j.max_norm = mn;
      tpool_run(pool, job_fn, &j);
      float nref = optim_step(&o0, p0, g, mn);
      CHECK(o1.t == t0 + 1, "%s T=%d %s step %d: t went %ld -> %ld", name, T,
            kind ? "rmsprop" : "adam", s, t0, o1.t);
      for (int p = 0; p < T; p++) {
        CHECK(j.owned_rc[p] == 0, "%s T=%d: nnp_owned part %d", name, T, p);
        double ne = fabs((double)j.norm[p] - nref) / fmax((double)nref, 1e-30);
        norm_worst = fmax(norm_worst, ne);
        CHECK(ne <= 1e-5, "%s T=%d %s step %d part %d: norm %.9g, optim_step %.9g", name, T,
              kind ? "rmsprop" : "adam", s, p, j.norm[p], nref);
        CHECK(j.norm[p] == j.norm[0] || (isnan(j.norm[p]) && isnan(j.norm[0])),
              "%s T=%d step %d: part %d's norm %.9g, part 0's %.9g", name, T, s, p, j.norm[p],
              j.norm[0]);
      }
      if (s == 0) CHECK(nref > mn, "%s: the clip does not bind (norm %g, max %g)", name, nref, mn);
      double wp = worst_rel(p1, p0, np, 1e-3), wm = worst_rel(o1.m, o0.m, np, 1e-30),
             wv = worst_rel(o1.v, o0.v, np, 1e-30);
      p_worst = fmax(p_worst, fmax(wp, fmax(wm, wv)));
      if (T == 1) {
        CHECK(memcmp(p1, p0, np * sizeof(float)) == 0 &&
                  memcmp(o1.m, o0.m, np * sizeof(float)) == 0 &&
                  memcmp(o1.v, o0.v, np * sizeof(float)) == 0,
              "%s T=1 %s step %d: not bit for bit optim_step's (params %.3g, m %.3g, v %.3g "
              "relative; norms %.9g vs %.9g)",
              name, kind ? "rmsprop" : "adam", s, wp, wm, wv, j.norm[0], nref);
      } else {
        CHECK(wp <= 1e-6 && wm <= 1e-6 && wv <= 1e-6,
              "%s T=%d %s step %d: params %.3g, m %.3g, v %.3g relative from optim_step's", name, T,
              kind ? "rmsprop" : "adam", s, wp, wm, wv);
      }
      /* a step that differs only in the clip coefficient's last bit: start both from the same
       * state again so the next step compares one step's work */
      memcpy(p0, p1, np * sizeof(float));
      memcpy(o0.m, o1.m, np * sizeof(float));
      memcpy(o0.v, o1.v, np * sizeof(float));
    }
    CHECK(o1.t == steps && o0.t == steps, "%s T=%d: t %ld after %d steps", name, T, o1.t, steps);
    free(p0);
    free(p1);
    free(g);
    adam_free(&o0);
    adam_free(&o1);
  }

  /* Whole updates in one job (forward, target forward, backward, optimizer step, K_UPD
   * times, no barriers of the test's own) against the same calls each in its own job: the
   * same bits, so nnp's calls synchronize among themselves (what one part writes, another
   * reads only after a barrier). Then K_UPD optimizer steps alone back to back in one job. */
  for (int variant = 0; variant < 2; variant++) {
    const int optim_only = variant == 1;
    float *tx = fvec(K_UPD * BATCH * n_in), *ttx = fvec(K_UPD * BATCH * n_in);
    float *tdy = fvec(K_UPD * ROWS * n_out);
    fill(tx, K_UPD * BATCH * n_in, &r, -2, 2);
    fill(ttx, K_UPD * BATCH * n_in, &r, -2, 2);
    fill(tdy, K_UPD * ROWS * n_out, &r, -1, 1);
    float *pr[2], *gr[2], *ytr[2][MAXT], *ytt[2][MAXT], tnorm[2][MAXT][K_UPD];
    optim_t o[2];
    for (int w = 0; w < 2; w++) { /* w 0: one job; w 1: a job per call */
      pr[w] = fvec(np);
      gr[w] = fvec(np);
      memcpy(pr[w], params, np * sizeof(float));
      memcpy(gr[w], ref_g, np * sizeof(float));
      CHECK(adam_init(&o[w], np, 1e-3f, 0.9f, 0.999f, 1e-8f) == 0, "adam_init");
      for (int p = 0; p < MAXT; p++) {
        ytr[w][p] = fvec(K_UPD * BATCH * n_out);
        ytt[w][p] = fvec(K_UPD * BATCH * n_out);
        fill_const(ytr[w][p], K_UPD * BATCH * n_out, 0.0f);
        fill_const(ytt[w][p], K_UPD * BATCH * n_out, 0.0f);
      }
      job_t t;
      memset(&t, 0, sizeof t);
      t.op = OP_TRAIN;
      t.plan = &plan;
      t.pool = pool;
      t.ws = ws;
      t.ws2 = ws2;
      t.oparams = pr[w];
      t.params2 = params2;
      t.grads = gr[w];
      t.o = &o[w];
      t.max_norm = clip;
      t.tx = tx;
      t.ttx = ttx;
      t.tdy = tdy;
      t.optim_only = optim_only;
      for (int p = 0; p < MAXT; p++) {
        t.ytr[p] = ytr[w][p];
        t.ytt[p] = ytt[w][p];
        t.dx_null[p] = 1;
      }
      if (w == 0) {
        t.only = -1;
        tpool_run(pool, job_fn, &t);
      } else {
        for (int c = 0; c < 4 * K_UPD; c++) {
          t.only = c;
          tpool_run(pool, job_fn, &t);
        }
      }
      for (int p = 0; p < T; p++) {
        CHECK(!t.null_y[p] && t.dx_null[p] && t.owned_rc[p] == 0,
              "%s T=%d updates in %s: part %d: NULL output %d, dx returned %d, nnp_owned %d", name,
              T, w ? "jobs" : "one job", p, t.null_y[p], !t.dx_null[p], t.owned_rc[p]);
        for (int k = 0; k < K_UPD; k++) tnorm[w][p][k] = t.tnorm[p][k];
      }
      CHECK(o[w].t == K_UPD, "%s T=%d updates in %s: t %ld after %d steps", name, T,
            w ? "jobs" : "one job", o[w].t, K_UPD);
    }
    const char *what = optim_only ? "optimizer steps" : "updates";
    CHECK(memcmp(pr[0], pr[1], np * sizeof(float)) == 0 &&
              memcmp(o[0].m, o[1].m, np * sizeof(float)) == 0 &&
              memcmp(o[0].v, o[1].v, np * sizeof(float)) == 0,
          "%s T=%d: %d %s in one job differ from a job per call: params %.3g, m %.3g, v %.3g "
          "relative",
          name, T, K_UPD, what, worst_rel(pr[0], pr[1], np, 1e-3),
          worst_rel(o[0].m, o[1].m, np, 1e-30), worst_rel(o[0].v, o[1].v, np, 1e-30));
    CHECK(memcmp(gr[0], gr[1], np * sizeof(float)) == 0,
          "%s T=%d: %s in one job: gradients differ from a job per call (%.3g relative)", name, T,
          what, worst_rel(gr[0], gr[1], np, 1e-30));
    for (int p = 0; p < T; p++) {
      CHECK(memcmp(ytr[0][p], ytr[1][p], K_UPD * BATCH * n_out * sizeof(float)) == 0 &&
                memcmp(ytt[0][p], ytt[1][p], K_UPD * BATCH * n_out * sizeof(float)) == 0,
            "%s T=%d part %d: %s in one job: outputs differ from a job per call", name, T, p, what);
      for (int k = 0; k < K_UPD; k++)
        CHECK(tnorm[0][p][k] == tnorm[1][p][k],
              "%s T=%d part %d: %s in one job: norm %d %.9g, a job per call %.9g", name, T, p, what,
              k, tnorm[0][p][k], tnorm[1][p][k]);
    }
    for (int w = 0; w < 2; w++) {
      free(pr[w]);
      free(gr[w]);
      adam_free(&o[w]);
      for (int p = 0; p < MAXT; p++) {
        free(ytr[w][p]);
        free(ytt[w][p]);
      }
    }
    free(tx);
    free(ttx);
    free(tdy);
  }

  /* 7: Polyak over each part's ranges vs nn_polyak on the whole buffer. */
  {
    float *t0 = fvec(np), *t1 = fvec(np);
    memcpy(t0, params2, np * sizeof(float));
    memcpy(t1, params2, np * sizeof(float));
    const float taus[2] = {0.005f, 1.0f};
    for (int k = 0; k < 2; k++) {
      j.op = OP_POLYAK;
      j.target = t1;
      j.online = params;
      j.tau = taus[k];
      tpool_run(pool, job_fn, &j);
      nn_polyak(t0, params, np, taus[k]);
      CHECK(memcmp(t0, t1, np * sizeof(float)) == 0,
            "%s T=%d: nnp_polyak tau %g differs from nn_polyak (%.3g relative)", name, T, taus[k],
            worst_rel(t1, t0, np, 1e-30));
    }
    CHECK(memcmp(t1, params, np * sizeof(float)) == 0, "%s T=%d: tau 1 is not a copy", name, T);
    free(t0);
    free(t1);
  }

  char modes[64];
  size_t mk = 0;
  modes[0] = 0;
  for (int i = 0; i < l.n_layers && mk < sizeof modes; i++)
    mk +=
        (size_t)snprintf(modes + mk, sizeof modes - mk, i ? ",%s" : "%s", mode_name(plan.mode[i]));
  printf(
      "%-16s T=%d %-15s max |diff| forward %.2g grads %.2g dx %.2g; grad norm %.4g (clip %g): "
      "norm rel %.2g, params/moments rel %.2g\n",
      name, T, modes, fwd_worst, g_worst, dx_worst, gnorm, clip, norm_worst, p_worst);

  for (int p = 0; p < MAXT; p++) {
    free(j.y[p]);
    free(j.y2[p]);
    free(j.y3[p]);
    free(j.dx[p]);
    free(keep_y[p]);
    free(keep_dx[p]);
  }
  free(grads);
  free(grads_keep);
  nnp_ws_free(ws);
  nnp_ws_free(ws2);
  free(params);
  free(params2);
  free(x);
  free(x2);
  free(x3);
  free(dy);
  free(dy2);
  free(ref_y);
  free(ref_g);
  free(ref_dx);
  free(ref_y2);
  free(ref_g2);
  free(ref_dx2);
  free(ref_y3);
  free(scratch_g);
  free(scratch_dx);
}

int main(void) {
  check_plans();
  for (int T = 1; T <= MAXT; T++) {
    tpool_t *pool = tpool_create(T, NULL);
    CHECK(pool != NULL && tpool_size(pool) == T, "tpool_create(%d)", T);
    if (!pool) continue;
    for (int s = 0; s < N_SPECS; s++) run_case(&SPECS[s], T, pool, 100 + (uint64_t)s);
    tpool_destroy(pool);
  }
  CHECK_DONE();
}
