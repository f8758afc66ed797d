/* nn: forward/backward of dense, conv, flatten and dueling layers over the flat layout of nn.h,
 * net specs, losses, clipping, Polyak. Adam and RMSprop live in optim.c. The matrix products go
 * through gemm.h, which picks our kernel or OpenBLAS by shape. */
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include "nn.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "gemm.h"

int nn_layout_init(nn_layout_t *l, int n_in, const int *hidden, int n_hidden, int n_out,
                   nn_act_t hidden_act, nn_act_t out_act) {
  if (n_in < 1 || n_out < 1 || n_hidden < 0 || n_hidden + 1 > NN_MAX_LAYERS) return -1;
  if (n_hidden > 0 && !hidden) return -1;
  for (int i = 0; i < n_hidden; i++)
    if (hidden[i] < 1) return -1;
  memset(l, 0, sizeof *l);
  l->n_layers = n_hidden + 1;
  l->sizes[0] = n_in;
  for (int i = 0; i < n_hidden; i++) l->sizes[i + 1] = hidden[i];
  l->sizes[l->n_layers] = n_out;
  size_t off = 0;
  for (int i = 0; i < l->n_layers; i++) {
    l->act[i] = i + 1 < l->n_layers ? hidden_act : out_act;
    l->w_off[i] = off;
    off += (size_t)l->sizes[i + 1] * l->sizes[i];
    l->b_off[i] = off;
    off += (size_t)l->sizes[i + 1];
  }
  l->n_params = off;
  return 0;
}

/* ---- per-layer shapes ------------------------------------------------------------------- */

/* Rows of W (and biases) of layer i: units, filters, 1 + A; 0 for flatten. */
static int param_rows(const nn_layout_t *l, int i) {
  switch (l->kind[i]) {
    case NN_DENSE:
      return l->sizes[i + 1];
    case NN_CONV:
      return l->shape[i + 1][2];
    case NN_DUELING:
      return 1 + l->sizes[i + 1];
    case NN_FLATTEN:
      break;
  }
  return 0;
}

/* Inputs of one weight row: sizes[i] (dense, dueling) or kh * kw * C (conv). */
static int fan_in(const nn_layout_t *l, int i) {
  return l->kind[i] == NN_CONV ? l->kh[i] * l->kw[i] * l->shape[i][2] : l->sizes[i];
}

/* Output positions per row of a conv layer. */
static int conv_positions(const nn_layout_t *l, int i) {
  return l->shape[i + 1][0] * l->shape[i + 1][1];
}

/* ---- net specs ---------------------------------------------------------------------------- */

static int parse_int(const char **p, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(*p, &end, 10);
  if (end == *p || errno || v < lo || v > hi || !isdigit((unsigned char)**p)) return -1;
  *p = end;
  *out = v;
  return 0;
}

/* One layer token (no spaces around it) into *ls; 0 or -1. */
static int parse_layer(const char *tok, nn_layer_spec_t *ls) {
  memset(ls, 0, sizeof *ls);
  long a, b, c;
  if (strcmp(tok, "flatten") == 0) {
    ls->kind = NN_FLATTEN;
    return 0;
  }
  if (strncmp(tok, "fc:", 3) == 0) {
    const char *p = tok + 3;
    if (parse_int(&p, 1, 65536, &a) || *p) return -1;
    ls->kind = NN_DENSE;
    ls->units = (int)a;
    return 0;
  }
  if (strncmp(tok, "conv:", 5) == 0) {
    const char *p = tok + 5;
    if (parse_int(&p, 1, 4096, &a) || *p++ != 'x' || parse_int(&p, 1, 64, &b) || *p++ != 'x' ||
        parse_int(&p, 1, 64, &c) || *p)
      return -1;
    ls->kind = NN_CONV;
    ls->units = (int)a;
    ls->kh = (int)b;
    ls->kw = (int)c;
    return 0;
  }
  return -1;
}

int nn_spec_parse(nn_spec_t *s, const char *text, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  const char *p = text;
  for (int pos = 1;; pos++) {
    while (*p == ' ' || *p == '\t') p++;
    const char *start = p;
    while (*p && *p != ',') p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    char tok[64];
    size_t n = (size_t)(end - start);
    if (n == 0)
      return errmsg(err, errlen,
                    "net: empty layer at position %d in '%s' (expected fc:N, "
                    "conv:FxKHxKW or flatten, comma separated)",
                    pos, text);
    if (n >= sizeof tok) n = sizeof tok - 1;
    memcpy(tok, start, n);
    tok[n] = 0;
    if (s->n >= NN_MAX_LAYERS - 1)
      return errmsg(err, errlen, "net: more than %d layers in '%s'", NN_MAX_LAYERS - 1, text);
    if (parse_layer(tok, &s->layer[s->n]) != 0)
      return errmsg(
          err, errlen,
          "net: unknown layer '%s' at position %d (expected fc:N with N in "
          "1..65536, conv:FxKHxKW with F in 1..4096 and a kernel up to 64x64, or flatten)",
          tok, pos);
    s->n++;
    if (!*p) return 0;
    p++; /* the comma */
  }
}

/* Appends layer kind k (act, out size, out shape or NULL) to l; -1 when full. */
static int push_layer(nn_layout_t *l, nn_kind_t k, nn_act_t act, int out, const int *out_shape) {
  int i = l->n_layers;
  if (i >= NN_MAX_LAYERS) return -1;
  l->kind[i] = k;
  l->act[i] = act;
  l->sizes[i + 1] = out;
  if (out_shape) memcpy(l->shape[i + 1], out_shape, sizeof l->shape[i + 1]);
  l->n_layers++;
  return 0;
}

static int is_image(const nn_layout_t *l) { return l->shape[l->n_layers][0] > 0; }

int nn_layout_build(nn_layout_t *l, const nn_spec_t *s, int n_in, const int *in_shape, int n_out,
                    nn_act_t hidden_act, nn_act_t out_act, int dueling, char *err, size_t errlen) {
  memset(l, 0, sizeof *l);
  if (n_in < 1 || n_out < 1)
    return errmsg(err, errlen, "net: %d inputs and %d outputs (both must be >= 1)", n_in, n_out);
  l->sizes[0] = n_in;
  if (in_shape) {
    long hwc = (long)in_shape[0] * in_shape[1] * in_shape[2];
    if (in_shape[0] < 1 || in_shape[1] < 1 || in_shape[2] < 1 || hwc != n_in)
      return errmsg(err, errlen, "net: input shape %dx%dx%d does not hold %d floats", in_shape[0],
                    in_shape[1], in_shape[2], n_in);
    memcpy(l->shape[0], in_shape, sizeof l->shape[0]);
  }
  int full = 0;
  for (int j = 0; j < s->n && !full; j++) {
    const nn_layer_spec_t *ls = &s->layer[j];
    const int *sh = l->shape[l->n_layers];
    switch (ls->kind) {
      case NN_CONV: {
        if (!is_image(l))
          return errmsg(err, errlen,
                        "net: conv:%dx%dx%d at position %d needs an image input "
                        "(H, W, C); its input is a flat vector of %d floats",
                        ls->units, ls->kh, ls->kw, j + 1, l->sizes[l->n_layers]);
        if (ls->kh > sh[0] || ls->kw > sh[1])
          return errmsg(err, errlen,
                        "net: conv:%dx%dx%d at position %d: kernel larger than its "
                        "%dx%d input",
                        ls->units, ls->kh, ls->kw, j + 1, sh[0], sh[1]);
        int out[3] = {sh[0] - ls->kh + 1, sh[1] - ls->kw + 1, ls->units};
        long n = (long)out[0] * out[1] * out[2];
        if (n > (1L << 24))
          return errmsg(err, errlen, "net: conv at position %d has %ld outputs (limit %d)", j + 1,
                        n, 1 << 24);
        l->kh[l->n_layers] = ls->kh;
        l->kw[l->n_layers] = ls->kw;
        full = push_layer(l, NN_CONV, hidden_act, (int)n, out);
        break;
      }
      case NN_FLATTEN:
        if (is_image(l)) full = push_layer(l, NN_FLATTEN, NN_IDENTITY, l->sizes[l->n_layers], NULL);
        break; /* a flat input is flat already */
      case NN_DENSE:
        if (is_image(l)) full = push_layer(l, NN_FLATTEN, NN_IDENTITY, l->sizes[l->n_layers], NULL);
        if (!full) full = push_layer(l, NN_DENSE, hidden_act, ls->units, NULL);
        break;
      case NN_DUELING:
        return errmsg(err, errlen, "net: position %d: a dueling head is set by dueling = 1", j + 1);
    }
  }
  if (!full && is_image(l))
    full = push_layer(l, NN_FLATTEN, NN_IDENTITY, l->sizes[l->n_layers], NULL);
  if (!full)
    full = push_layer(l, dueling ? NN_DUELING : NN_DENSE, dueling ? NN_IDENTITY : out_act, n_out,
                      NULL);
  if (full)
    return errmsg(err, errlen, "net: more than %d layers with the flatten and the output head",
                  NN_MAX_LAYERS);
  size_t off = 0;
  for (int i = 0; i < l->n_layers; i++) {
    size_t rows = (size_t)param_rows(l, i);
    l->w_off[i] = off;
    off += rows * (size_t)fan_in(l, i);
    l->b_off[i] = off;
    off += rows;
  }
  l->n_params = off;
  return 0;
}

static const char *act_names[] = {"identity", "relu", "tanh"};

void nn_layout_describe(const nn_layout_t *l, char *buf, size_t len) {
  size_t n = 0;
  if (len == 0) return;
  buf[0] = 0;
#define APPEND(...)                                     \
  do {                                                  \
    if (n < len) {                                      \
      int w_ = snprintf(buf + n, len - n, __VA_ARGS__); \
      if (w_ > 0) n += (size_t)w_;                      \
    }                                                   \
  } while (0)
  if (l->shape[0][0] > 0)
    APPEND("in:%dx%dx%d", l->shape[0][0], l->shape[0][1], l->shape[0][2]);
  else
    APPEND("in:%d", l->sizes[0]);
  for (int i = 0; i < l->n_layers; i++) {
    switch (l->kind[i]) {
      case NN_DENSE:
        APPEND(" fc:%d:%s", l->sizes[i + 1], act_names[l->act[i]]);
        break;
      case NN_CONV:
        APPEND(" conv:%dx%dx%d:%s", l->shape[i + 1][2], l->kh[i], l->kw[i], act_names[l->act[i]]);
        break;
      case NN_FLATTEN:
        APPEND(" flatten");
        break;
      case NN_DUELING:
        APPEND(" dueling:%d", l->sizes[i + 1]);
        break;
    }
  }
#undef APPEND
}

void nn_init_params(const nn_layout_t *l, float *params, rng_t *rng) {
  for (int i = 0; i < l->n_layers; i++) {
    size_t rows = (size_t)param_rows(l, i), k = (size_t)fan_in(l, i);
    if (rows == 0) continue;
    double bound = 1.0 / sqrt((double)k);
    size_t n = rows * k + rows;
    float *p = params + l->w_off[i]; /* b follows W directly */
    for (size_t j = 0; j < n; j++) p[j] = (float)rng_range(rng, -bound, bound);
  }
}

void nn_scale_last_layer(const nn_layout_t *l, float *params, float scale) {
  int i = l->n_layers - 1;
  size_t rows = (size_t)param_rows(l, i);
  size_t n = rows * (size_t)fan_in(l, i) + rows;
  float *p = params + l->w_off[i];
  for (size_t j = 0; j < n; j++) p[j] *= scale;
}

/* ---- workspace ------------------------------------------------------------------------------ */

/* Floats of layer i's aux buffer per batch row: conv patches P x K, dueling h (1 + A). */
static size_t aux_per_row(const nn_layout_t *l, int i) {
  if (l->kind[i] == NN_CONV) return (size_t)conv_positions(l, i) * (size_t)fan_in(l, i);
  if (l->kind[i] == NN_DUELING) return (size_t)l->sizes[i + 1] + 1;
  return 0;
}

int nn_ws_init(nn_ws_t *ws, const nn_layout_t *l, int max_batch) {
  memset(ws, 0, sizeof *ws);
  if (max_batch < 1 || l->n_layers < 1 || l->n_layers > NN_MAX_LAYERS) return -EINVAL;
  gemm_init();
  size_t width = 0, total = 0, scratch = 0, mb = (size_t)max_batch;
  for (int i = 0; i <= l->n_layers; i++)
    if ((size_t)l->sizes[i] > width) width = (size_t)l->sizes[i];
  for (int i = 0; i < l->n_layers; i++) {
    total += mb * l->sizes[i + 1] + mb * aux_per_row(l, i);
    if (aux_per_row(l, i) > scratch) scratch = aux_per_row(l, i);
  }
  total += 2 * mb * width + mb * scratch;
  /* One block: act[0] is its start, so nn_ws_free frees act[0]. */
  float *block = calloc(total, sizeof(float));
  if (!block) return -ENOMEM;
  ws->l = l;
  ws->max_batch = max_batch;
  float *p = block;
  for (int i = 0; i < l->n_layers; i++) {
    ws->act[i] = p;
    p += mb * l->sizes[i + 1];
  }
  /* A flatten after a layer is a view of that layer's output (y = x): no copy forward or
   * backward (nn_forward, nn_backward). */
  for (int i = 1; i < l->n_layers; i++)
    if (l->kind[i] == NN_FLATTEN) ws->act[i] = ws->act[i - 1];
  for (int i = 0; i < l->n_layers; i++) {
    if (!aux_per_row(l, i)) continue;
    ws->aux[i] = p;
    p += mb * aux_per_row(l, i);
  }
  ws->d0 = p;
  ws->d1 = p + mb * width;
  ws->scratch = scratch ? p + 2 * mb * width : NULL;
  return 0;
}

void nn_ws_free(nn_ws_t *ws) {
  free(ws->act[0]);
  memset(ws, 0, sizeof *ws);
}

/* The elementwise passes of a forward and a backward (ReLU, its derivative, the bias rows and
 * the bias gradient's column sums), compiled three times (AVX-512, AVX2, the baseline) and
 * picked once per process from the CPU: built for the baseline alone they ran 4 floats wide
 * and took ~8% of a 4-256-256-2 DQN update. Each element's arithmetic is the same in every
 * version (no sum is reassociated). A table of pointers, not an ifunc: the sanitizers'
 * runtimes are not up when an ifunc resolver runs. */
#define EW_KERNELS(SUF, ATTR)                                                                  \
  ATTR static void relu_##SUF(float *restrict y, size_t n) {                                   \
    for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;                           \
  }                                                                                            \
  ATTR static void relu_backward_##SUF(const float *restrict y, float *restrict d, size_t n) {  \
    for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;                           \
  }                                                                                            \
  ATTR static void fill_rows_##SUF(float *restrict y, const float *restrict b, int rows,       \
                                   int n) {                                                    \
    for (int r = 0; r < rows; r++)                                                             \
      for (int o = 0; o < n; o++) y[(size_t)r * n + o] = b[o];                                 \
  }                                                                                            \
  ATTR static void add_col_sums_##SUF(const float *restrict d, int rows, int n,                \
                                      float *restrict g) {                                     \
    for (int r = 0; r < rows; r++)                                                             \
      for (int o = 0; o < n; o++) g[o] += d[(size_t)r * n + o];                                \
  }                                                                                            \
  ATTR static void add_##SUF(float *restrict y, const float *restrict x, size_t n) {           \
    for (size_t i = 0; i < n; i++) y[i] += x[i];                                               \
  }

typedef struct ew {
  void (*relu)(float *restrict y, size_t n);
  void (*relu_backward)(const float *restrict y, float *restrict d, size_t n);
  void (*fill_rows)(float *restrict y, const float *restrict b, int rows, int n);
  void (*add_col_sums)(const float *restrict d, int rows, int n, float *restrict g);
  void (*add)(float *restrict y, const float *restrict x, size_t n);
} ew_t;

EW_KERNELS(plain, )
#define EW_TABLE(SUF) \
  {relu_##SUF, relu_backward_##SUF, fill_rows_##SUF, add_col_sums_##SUF, add_##SUF}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
EW_KERNELS(avx2, __attribute__((target("avx2"))))
EW_KERNELS(avx512, __attribute__((target("avx512f"))))
static const ew_t ew_avx512 = EW_TABLE(avx512), ew_avx2 = EW_TABLE(avx2);
#endif
static const ew_t ew_plain = EW_TABLE(plain);
static const ew_t *ew_k;
static pthread_once_t ew_once = PTHREAD_ONCE_INIT;

static void ew_pick(void) {
  ew_k = &ew_plain;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    ew_k = &ew_avx512;
  else if (__builtin_cpu_supports("avx2"))
    ew_k = &ew_avx2;
#endif
}

static const ew_t *ew(void) {
  pthread_once(&ew_once, ew_pick);
  return ew_k;
}

static void relu(float *y, size_t n) { ew()->relu(y, n); }
static void relu_backward(const float *y, float *d, size_t n) { ew()->relu_backward(y, d, n); }
static void fill_rows(float *y, const float *b, int rows, int n) { ew()->fill_rows(y, b, rows, n); }
static void add_col_sums(const float *d, int rows, int n, float *g) {
  ew()->add_col_sums(d, rows, n, g);
}

static void activate(nn_act_t act, float *y, size_t n) {
  switch (act) {
    case NN_RELU:
      relu(y, n);
      break;
    case NN_TANH:
      for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
      break;
    case NN_IDENTITY:
      break;
  }
}

void nn_add_col_sums(const float *d, int rows, int n, float *g) { add_col_sums(d, rows, n, g); }
void nn_add(float *y, const float *x, size_t n) { ew()->add(y, x, n); }

/* d *= f'(z), with f'(z) written in terms of the output y = f(z). */
void nn_act_backward(nn_act_t act, const float *y, float *d, size_t n) {
  switch (act) {
    case NN_RELU:
      relu_backward(y, d, n);
      break;
    case NN_TANH:
      for (size_t i = 0; i < n; i++) d[i] *= 1.0f - y[i] * y[i];
      break;
    case NN_IDENTITY:
      break;
  }
}

/* ---- layers: forward (pre-activation output into y) and backward (given d = dL/dz of the
 * layer's output: add dL/dparams into grads if non-NULL, write dL/d input into dx if non-NULL).
 * One row per kind in layer_ops, as kann's operator table. */

/* y = rows of b + x W^T: the affine map every parametrized layer ends in; with relu, then
 * max(y, 0) where that comes free. One pass where our SIMD kernels take the shape
 * (gemm_nt_bias, ReLU in its last pass too); else the bias rows copied, then y += x W^T.
 * Returns 1 when ReLU was applied (only then), 0 when the caller still activates. */
static int affine(int rows, int n_out, int n_in, const float *x, const float *w, const float *b,
                  int relu, float *y) {
  if (gemm_nt_bias(GEMM_AUTO, rows, n_out, n_in, x, w, b, relu, y)) return relu;
  fill_rows(y, b, rows, n_out);
  gemm_nt(GEMM_AUTO, rows, n_out, n_in, x, w, 1, y);
  return 0;
}

/* dW += d^T x, db += column sums of d, dx = d W: the backward of affine(). With a pool of two
 * (trainer_threads = 2), both products mid-sized (a 4-256-256-2 DQN's hidden layer, MinAtar's
 * fc:128) and OpenBLAS running them (no SIMD kernels of ours on this CPU), each runs whole on
 * its own thread: no hand-over inside either product (OpenBLAS's per-call cost weighs here),
 * and each gives the bits one thread would. Otherwise each product is split in two (gemm.h): with
 * our AVX-512 kernels that gave 2 threads / 1 1.40x against 1.27x overlapped (DQN 4-256-256-2)
 * and 1.36x against 1.27x (MinAtar's update; bench_trainer, bench_trainer_conv, 2026-12-01), and
 * for larger products (DDPG's 400 x 300 at batch 256) it balances the threads better than two
 * different kernels. (A dense network trained with a pool of two or more no longer comes here:
 * dqn.c and ddpg.c split its whole update by units, nnpar.h; conv networks such as MinAtar's
 * do.) */
#define NN_OVERLAP_MIN_MACS 524288L
#define NN_OVERLAP_MAX_MACS 8388608L

typedef struct affine_bwd {
  int rows, n_out, n_in;
  const float *x, *w, *d;
  float *gw, *gb, *dx;
} affine_bwd_t;

static void affine_bwd_part(void *arg, int part, int n_parts) {
  (void)n_parts;
  const affine_bwd_t *j = arg;
  if (part == 0) {
    gemm_tn(GEMM_AUTO, j->n_out, j->n_in, j->rows, j->d, j->x, j->gw);
    add_col_sums(j->d, j->rows, j->n_out, j->gb);
  } else if (part == 1) {
    gemm_nn(GEMM_AUTO, j->rows, j->n_in, j->n_out, j->d, j->w, 0, j->dx);
  }
}

static void affine_backward(int rows, int n_out, int n_in, const float *x, const float *w,
                            const float *d, float *gw, float *gb, float *dx) {
  tpool_t *pool = gemm_pool();
  long macs = (long)rows * n_out * n_in;
  if (gw && dx && tpool_size(pool) == 2 && macs >= NN_OVERLAP_MIN_MACS &&
      macs <= NN_OVERLAP_MAX_MACS && !gemm_simd_width()) {
    affine_bwd_t j = {rows, n_out, n_in, x, w, d, gw, gb, dx};
    gemm_set_pool(NULL); /* the pool is this job's: the products unsplit */
    tpool_run(pool, affine_bwd_part, &j);
    gemm_set_pool(pool);
    return;
  }
  if (gw) {
    gemm_tn(GEMM_AUTO, n_out, n_in, rows, d, x, gw);
    add_col_sums(d, rows, n_out, gb);
  }
  if (dx) gemm_nn(GEMM_AUTO, rows, n_in, n_out, d, w, 0, dx);
}

static int dense_forward(nn_ws_t *ws, const float *params, int i, const float *x, int batch,
                         float *y) {
  const nn_layout_t *l = ws->l;
  return affine(batch, l->sizes[i + 1], l->sizes[i], x, params + l->w_off[i],
                params + l->b_off[i], l->act[i] == NN_RELU, y);
}

static void dense_backward(nn_ws_t *ws, const float *params, int i, const float *x, const float *d,
                           float *grads, float *dx) {
  const nn_layout_t *l = ws->l;
  affine_backward(ws->batch, l->sizes[i + 1], l->sizes[i], x, params + l->w_off[i], d,
                  grads ? grads + l->w_off[i] : NULL, grads ? grads + l->b_off[i] : NULL, dx);
}

/* ---- conv, direct AVX-512 kernels ------------------------------------------------------------
 * At MinAtar's sizes (16 filters of 3x3 over 10x10xC, batch 32) im2col + SGEMM spends as long
 * copying patches and in OpenBLAS's per-call packing of a 2048 x 36 by 36 x 16 product as in
 * arithmetic. With AVX-512F and filters in multiples of 16, the forward and the weight gradient
 * read the input image where it lies: one 16-filter vector per output pixel, every tap's input
 * value broadcast (channels last: the kw * C taps of one kernel row are contiguous floats).
 *   forward: y(pixel, f:f+16) = b + sum over taps t of x(pixel + t) * Wt(t, f:f+16), 8 pixels of
 *            an output row at a time (Wt: W transposed, K x F, once per call);
 *   weight gradient: dWt(t, f:f+16) += sum over pixels of x(pixel + t) * dz(pixel, f:f+16), for
 *            up to 16 taps of one kernel row at a time, then added into dW (F x K) transposed.
 * Each output is summed in one fixed order (no dependence on timing); the order differs from
 * im2col + SGEMM's, so the two agree to rounding (tests/test_nn_layers.c). The input gradient
 * (a conv that is not the first layer) stays on gemm + col2im. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_CONV_X86 1
#include <immintrin.h>
#include <pthread.h>
#define T512 __attribute__((target("avx512f")))
#define CONV_MAX_WT 8192 /* floats of Wt on the stack (F * K), else im2col */
#define CONV_PB 8        /* output pixels per forward block */
#define CONV_TB 16       /* taps per weight-gradient pass */

static pthread_once_t conv_once = PTHREAD_ONCE_INIT;
static int conv_avx512;
static int conv_direct_off; /* nn_set_conv_direct(0): tests and benchmarks */
static void conv_setup(void) {
  __builtin_cpu_init();
  conv_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
}

static int conv_direct_ok(const nn_layout_t *l, int i) {
  pthread_once(&conv_once, conv_setup);
  int F = l->shape[i + 1][2];
  return conv_avx512 && !conv_direct_off && F % 16 == 0 && (long)F * fan_in(l, i) <= CONV_MAX_WT;
}

/* pb output pixels (pb <= CONV_PB, a constant after inlining) starting at xp (the input at the
 * first pixel's top-left tap; pixels C floats apart) for the 16 filters of wt (row stride F). */
static inline __attribute__((always_inline, target("avx512f"))) void conv_fwd_pixels(
    int pb, const float *xp, size_t row_stride, int kh, int seg, int C, const float *wt, int F,
    __m512 bias, float *y) {
  __m512 acc[CONV_PB];
  for (int p = 0; p < CONV_PB; p++) acc[p] = bias;
  for (int dy = 0; dy < kh; dy++) {
    const float *xr = xp + (size_t)dy * row_stride;
    const float *w = wt + (size_t)dy * seg * F;
    for (int j = 0; j < seg; j++) {
      __m512 wv = _mm512_loadu_ps(w + (size_t)j * F);
      for (int p = 0; p < pb; p++)
        acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(xr[p * C + j]), wv, acc[p]);
    }
  }
  for (int p = 0; p < pb; p++) _mm512_storeu_ps(y + (size_t)p * F, acc[p]);
}

T512 static void conv_forward_direct(const nn_layout_t *l, int i, const float *params,
                                     const float *x, int batch, float *y) {
  const int W = l->shape[i][1], C = l->shape[i][2], kh = l->kh[i], kw = l->kw[i];
  const int OH = l->shape[i + 1][0], OW = l->shape[i + 1][1], F = l->shape[i + 1][2];
  const int K = kh * kw * C, seg = kw * C;
  const size_t in_row = (size_t)l->sizes[i], row_stride = (size_t)W * C;
  const float *Wm = params + l->w_off[i], *b = params + l->b_off[i];
  float wt[CONV_MAX_WT];
  for (int f = 0; f < F; f++)
    for (int t = 0; t < K; t++) wt[(size_t)t * F + f] = Wm[(size_t)f * K + t];
  for (int f0 = 0; f0 < F; f0 += 16) {
    __m512 bias = _mm512_loadu_ps(b + f0);
    for (int bi = 0; bi < batch; bi++) {
      const float *xb = x + (size_t)bi * in_row;
      for (int r = 0; r < OH; r++) {
        float *yr = y + (((size_t)bi * OH + r) * OW) * F + f0;
        const float *xr = xb + (size_t)r * row_stride;
        int c = 0;
        for (; c + CONV_PB <= OW; c += CONV_PB)
          conv_fwd_pixels(CONV_PB, xr + (size_t)c * C, row_stride, kh, seg, C, wt + f0, F, bias,
                          yr + (size_t)c * F);
        for (; c < OW; c++)
          conv_fwd_pixels(1, xr + (size_t)c * C, row_stride, kh, seg, C, wt + f0, F, bias,
                          yr + (size_t)c * F);
      }
    }
  }
}

/* dW (F x K) += the gradient of taps t0 .. t0 + tb of kernel row dy (tb <= CONV_TB), filters
 * f0 .. f0 + 16; db += the sum of dz when first. */
T512 static void conv_wgrad_taps(const nn_layout_t *l, int i, const float *x, int batch,
                                 const float *d, int f0, int dy, int j0, int tb, int first,
                                 float *gw, float *gb) {
  const int W = l->shape[i][1], C = l->shape[i][2], kw = l->kw[i];
  const int OH = l->shape[i + 1][0], OW = l->shape[i + 1][1], F = l->shape[i + 1][2];
  const int K = l->kh[i] * kw * C, seg = kw * C;
  const size_t in_row = (size_t)l->sizes[i], row_stride = (size_t)W * C;
  __m512 acc[CONV_TB], bsum = _mm512_setzero_ps();
  for (int q = 0; q < CONV_TB; q++) acc[q] = _mm512_setzero_ps();
  for (int bi = 0; bi < batch; bi++) {
    const float *xb = x + (size_t)bi * in_row + (size_t)dy * row_stride + j0;
    for (int r = 0; r < OH; r++) {
      const float *dz = d + (((size_t)bi * OH + r) * OW) * F + f0;
      const float *xr = xb + (size_t)r * row_stride;
      for (int c = 0; c < OW; c++) {
        __m512 dv = _mm512_loadu_ps(dz + (size_t)c * F);
        const float *xp = xr + (size_t)c * C;
        if (first) bsum = _mm512_add_ps(bsum, dv);
        if (tb == CONV_TB) {
          for (int q = 0; q < CONV_TB; q++)
            acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(xp[q]), dv, acc[q]);
        } else {
          for (int q = 0; q < CONV_TB; q++)
            if (q < tb) acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(xp[q]), dv, acc[q]);
        }
      }
    }
  }
  float lanes[16];
  for (int q = 0; q < tb; q++) {
    _mm512_storeu_ps(lanes, acc[q]);
    size_t t = (size_t)dy * seg + j0 + q;
    for (int f = 0; f < 16; f++) gw[(size_t)(f0 + f) * K + t] += lanes[f];
  }
  if (first) {
    _mm512_storeu_ps(lanes, bsum);
    for (int f = 0; f < 16; f++) gb[f0 + f] += lanes[f];
  }
}

static void conv_wgrad_direct(const nn_layout_t *l, int i, const float *x, int batch,
                              const float *d, float *gw, float *gb) {
  const int F = l->shape[i + 1][2], seg = l->kw[i] * l->shape[i][2];
  for (int f0 = 0; f0 < F; f0 += 16)
    for (int dy = 0; dy < l->kh[i]; dy++)
      for (int j0 = 0; j0 < seg; j0 += CONV_TB) {
        int tb = seg - j0 < CONV_TB ? seg - j0 : CONV_TB;
        conv_wgrad_taps(l, i, x, batch, d, f0, dy, j0, tb, dy == 0 && j0 == 0, gw, gb);
      }
}
#else
static int conv_direct_ok(const nn_layout_t *l, int i) {
  (void)l, (void)i;
  return 0;
}
#endif

void nn_set_conv_direct(int on) {
#ifdef NN_CONV_X86
  conv_direct_off = !on;
#else
  (void)on;
#endif
}

int nn_conv_direct_available(void) {
#ifdef NN_CONV_X86
  pthread_once(&conv_once, conv_setup);
  return conv_avx512;
#else
  return 0;
#endif
}

/* Conv through im2col + SGEMM: patch row (b, r, c) holds the kh x kw x C input values under
 * output pixel (r, c), in W's tap order, so Y (batch P x F) = patches W^T + b. With channels
 * last, each kernel row dy of a patch is kw * C contiguous input floats: kh memcpys per patch.
 * tests/bench/bench_nn.c measures this against a direct loop at MinAtar's sizes. */
static int conv_forward(nn_ws_t *ws, const float *params, int i, const float *x, int batch,
                        float *y) {
  const nn_layout_t *l = ws->l;
  const int W = l->shape[i][1], C = l->shape[i][2], kh = l->kh[i], kw = l->kw[i];
  const int OH = l->shape[i + 1][0], OW = l->shape[i + 1][1], F = l->shape[i + 1][2];
  const size_t K = (size_t)kh * kw * C, seg = (size_t)kw * C, in_row = (size_t)l->sizes[i];
#ifdef NN_CONV_X86
  if (conv_direct_ok(l, i)) {
    conv_forward_direct(l, i, params, x, batch, y);
    return 0;
  }
#endif
  float *cols = ws->aux[i];
  for (int b = 0; b < batch; b++) {
    const float *xb = x + (size_t)b * in_row;
    for (int r = 0; r < OH; r++)
      for (int c = 0; c < OW; c++) {
        float *dst = cols + (((size_t)b * OH + r) * OW + c) * K;
        for (int dy = 0; dy < kh; dy++)
          memcpy(dst + dy * seg, xb + ((size_t)(r + dy) * W + c) * C, seg * sizeof(float));
      }
  }
  return affine(batch * OH * OW, F, (int)K, cols, params + l->w_off[i], params + l->b_off[i],
                l->act[i] == NN_RELU, y);
}

static void conv_backward(nn_ws_t *ws, const float *params, int i, const float *x, const float *d,
                          float *grads, float *dx) {
  const nn_layout_t *l = ws->l;
  const int W = l->shape[i][1], C = l->shape[i][2], kh = l->kh[i], kw = l->kw[i];
  const int OH = l->shape[i + 1][0], OW = l->shape[i + 1][1], F = l->shape[i + 1][2];
  const size_t K = (size_t)kh * kw * C, seg = (size_t)kw * C, in_row = (size_t)l->sizes[i];
  const int rows = ws->batch * OH * OW;
  float *dcols = dx ? ws->scratch : NULL;
#ifdef NN_CONV_X86
  if (conv_direct_ok(l, i)) { /* the forward ran direct too: no patches; x stands for them */
    if (grads) conv_wgrad_direct(l, i, x, ws->batch, d, grads + l->w_off[i], grads + l->b_off[i]);
    if (dx) gemm_nn(GEMM_AUTO, rows, (int)K, F, d, params + l->w_off[i], 0, dcols);
  } else
#endif
    affine_backward(rows, F, (int)K, ws->aux[i], params + l->w_off[i], d,
                    grads ? grads + l->w_off[i] : NULL, grads ? grads + l->b_off[i] : NULL, dcols);
  if (!dx) return;
  memset(dx, 0, (size_t)ws->batch * in_row * sizeof(float));
  for (int b = 0; b < ws->batch; b++) {
    float *xb = dx + (size_t)b * in_row;
    for (int r = 0; r < OH; r++)
      for (int c = 0; c < OW; c++) {
        const float *src = dcols + (((size_t)b * OH + r) * OW + c) * K;
        for (int dy = 0; dy < kh; dy++) {
          float *t = xb + ((size_t)(r + dy) * W + c) * C;
          const float *s = src + dy * seg;
          for (size_t j = 0; j < seg; j++) t[j] += s[j];
        }
      }
  }
}

static int flatten_forward(nn_ws_t *ws, const float *params, int i, const float *x, int batch,
                           float *y) {
  (void)params;
  if (y != x) memcpy(y, x, (size_t)batch * ws->l->sizes[i] * sizeof(float));
  return 0;
}

static void flatten_backward(nn_ws_t *ws, const float *params, int i, const float *x,
                             const float *d, float *grads, float *dx) {
  (void)params, (void)x, (void)grads;
  if (dx) memcpy(dx, d, (size_t)ws->batch * ws->l->sizes[i] * sizeof(float));
}

/* h = b + x W^T with 1 + A columns (value, then advantages); Q_a = h_0 + h_(1+a) - mean(h_1..A). */
static int dueling_forward(nn_ws_t *ws, const float *params, int i, const float *x, int batch,
                           float *y) {
  const nn_layout_t *l = ws->l;
  const int A = l->sizes[i + 1], H = A + 1;
  float *h = ws->aux[i];
  affine(batch, H, l->sizes[i], x, params + l->w_off[i], params + l->b_off[i], 0, h);
  for (int b = 0; b < batch; b++) {
    const float *hb = h + (size_t)b * H;
    float mean = 0;
    for (int a = 0; a < A; a++) mean += hb[1 + a];
    mean /= (float)A;
    for (int a = 0; a < A; a++) y[(size_t)b * A + a] = hb[0] + hb[1 + a] - mean;
  }
  return 0;
}

/* dL/dh_0 = sum_a dQ_a, dL/dh_(1+a) = dQ_a - mean(dQ), then the affine backward. */
static void dueling_backward(nn_ws_t *ws, const float *params, int i, const float *x,
                             const float *d, float *grads, float *dx) {
  const nn_layout_t *l = ws->l;
  const int A = l->sizes[i + 1], H = A + 1, batch = ws->batch;
  float *dh = ws->scratch;
  for (int b = 0; b < batch; b++) {
    const float *db = d + (size_t)b * A;
    float sum = 0;
    for (int a = 0; a < A; a++) sum += db[a];
    float mean = sum / (float)A;
    dh[(size_t)b * H] = sum;
    for (int a = 0; a < A; a++) dh[(size_t)b * H + 1 + a] = db[a] - mean;
  }
  affine_backward(batch, H, l->sizes[i], x, params + l->w_off[i], dh,
                  grads ? grads + l->w_off[i] : NULL, grads ? grads + l->b_off[i] : NULL, dx);
}

/* forward: y = the layer's output, returning 1 if it applied the layer's activation (only
 * where that came free in its product), else 0 and nn_forward activates. */
typedef struct layer_ops {
  int (*forward)(nn_ws_t *ws, const float *params, int i, const float *x, int batch, float *y);
  void (*backward)(nn_ws_t *ws, const float *params, int i, const float *x, const float *d,
                   float *grads, float *dx);
} layer_ops_t;

static const layer_ops_t layer_ops[] = {
    [NN_DENSE] = {dense_forward, dense_backward},
    [NN_CONV] = {conv_forward, conv_backward},
    [NN_FLATTEN] = {flatten_forward, flatten_backward},
    [NN_DUELING] = {dueling_forward, dueling_backward},
};

const float *nn_forward(nn_ws_t *ws, const float *params, const float *x, int batch) {
  const nn_layout_t *l = ws->l;
  ws->batch = batch;
  ws->x = x;
  const float *in = x;
  for (int i = 0; i < l->n_layers; i++) {
    float *y = ws->act[i];
    if (!layer_ops[l->kind[i]].forward(ws, params, i, in, batch, y))
      activate(l->act[i], y, (size_t)batch * l->sizes[i + 1]);
    in = y;
  }
  return ws->act[l->n_layers - 1];
}

void nn_ws_keep_rows(nn_ws_t *ws, int rows) {
  if (rows >= 1 && rows <= ws->batch) ws->batch = rows;
}

void nn_backward(nn_ws_t *ws, const float *params, const float *dy, float *grads, float *dx) {
  const nn_layout_t *l = ws->l;
  int batch = ws->batch, last = l->n_layers - 1;
  if (!grads && !dx) return;
  /* d holds dL/dz of layer i (pre-activation), batch x sizes[i + 1]. */
  float *d = ws->d0, *other = ws->d1;
  size_t n = (size_t)batch * l->sizes[last + 1];
  memcpy(d, dy, n * sizeof(float));
  nn_act_backward(l->act[last], ws->act[last], d, n);
  for (int i = last; i >= 0; i--) {
    if (i > 0 && l->kind[i] == NN_FLATTEN) { /* a view (nn_ws_init): d is already dL/dx */
      nn_act_backward(l->act[i - 1], ws->act[i - 1], d, (size_t)batch * l->sizes[i]);
      continue;
    }
    const float *in = i > 0 ? ws->act[i - 1] : ws->x;
    layer_ops[l->kind[i]].backward(ws, params, i, in, d, grads, i > 0 ? other : dx);
    if (i == 0) break;
    nn_act_backward(l->act[i - 1], ws->act[i - 1], other, (size_t)batch * l->sizes[i]);
    float *t = d;
    d = other;
    other = t;
  }
}

float nn_loss_mse(const float *pred, const float *target, int n, float *dpred) {
  double sum = 0;
  float scale = 2.0f / (float)n;
  for (int i = 0; i < n; i++) {
    float e = pred[i] - target[i];
    sum += (double)e * e;
    if (dpred) dpred[i] = scale * e;
  }
  return n > 0 ? (float)(sum / n) : 0.0f;
}

float nn_loss_huber(const float *pred, const float *target, int n, float delta, float *dpred) {
  double sum = 0;
  float inv_n = 1.0f / (float)n;
  for (int i = 0; i < n; i++) {
    float e = pred[i] - target[i], a = fabsf(e);
    if (a <= delta) {
      sum += 0.5 * (double)e * e;
      if (dpred) dpred[i] = e * inv_n;
    } else {
      sum += (double)delta * (a - 0.5 * (double)delta);
      if (dpred) dpred[i] = (e > 0 ? delta : -delta) * inv_n;
    }
  }
  return n > 0 ? (float)(sum / n) : 0.0f;
}

/* As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1. */
float nn_clip_grad_norm(float *grads, size_t n, float max_norm) {
  double ss = 0;
  for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
  double norm = sqrt(ss);
  if (max_norm > 0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
      float c = (float)coef;
      for (size_t i = 0; i < n; i++) grads[i] *= c;
    }
  }
  return (float)norm;
}

void nn_polyak(float *target, const float *online, size_t n, float tau) {
  if (tau == 1.0f) {
    memcpy(target, online, n * sizeof(float));
    return;
  }
  float keep = 1.0f - tau;
  for (size_t i = 0; i < n; i++) target[i] = tau * online[i] + keep * target[i];
}

typedef struct polyak_job {
  float *target;
  const float *online;
  size_t n;
  float tau;
} polyak_job_t;

static void polyak_part(void *arg, int part, int n_parts) {
  const polyak_job_t *j = arg;
  size_t lo, hi;
  tpool_slice(j->n, 16, part, n_parts, &lo, &hi); /* whole 64-byte blocks */
  if (lo < hi) nn_polyak(j->target + lo, j->online + lo, hi - lo, j->tau);
}

#define NN_POLYAK_SPLIT_MIN 65536 /* floats; below, the hand-over costs more than it saves */

void nn_polyak_pool(float *target, const float *online, size_t n, float tau, tpool_t *pool) {
  if (tpool_size(pool) < 2 || n < NN_POLYAK_SPLIT_MIN) {
    nn_polyak(target, online, n, tau);
    return;
  }
  polyak_job_t j = {target, online, n, tau};
  tpool_run(pool, polyak_part, &j);
}

int nn_argmax(const float *v, int n) {
  if (n < 1) return -1;
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

void nn_flush_denormals(void) {
#if defined(__SSE__) || defined(__x86_64__)
  _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
#endif
}
