/* nn: MLP forward/backward over the flat layout of nn.h, losses, clipping, Polyak.
 * Adam and RMSprop live in optim.c. The matrix products go through gemm.h, which picks our
 * kernel or OpenBLAS by shape. */
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void nn_init_params(const nn_layout_t *l, float *params, rng_t *rng) {
  for (int i = 0; i < l->n_layers; i++) {
    double bound = 1.0 / sqrt((double)l->sizes[i]);
    size_t n = (size_t)l->sizes[i + 1] * l->sizes[i] + (size_t)l->sizes[i + 1];
    float *p = params + l->w_off[i]; /* b follows W directly */
    for (size_t j = 0; j < n; j++) p[j] = (float)rng_range(rng, -bound, bound);
  }
}

void nn_scale_last_layer(const nn_layout_t *l, float *params, float scale) {
  int i = l->n_layers - 1;
  size_t n = (size_t)l->sizes[i + 1] * l->sizes[i] + (size_t)l->sizes[i + 1];
  float *p = params + l->w_off[i];
  for (size_t j = 0; j < n; j++) p[j] *= scale;
}

int nn_ws_init(nn_ws_t *ws, const nn_layout_t *l, int max_batch) {
  memset(ws, 0, sizeof *ws);
  if (max_batch < 1 || l->n_layers < 1 || l->n_layers > NN_MAX_LAYERS) return -EINVAL;
  gemm_init();
  size_t width = 0, total = 0;
  for (int i = 0; i <= l->n_layers; i++)
    if ((size_t)l->sizes[i] > width) width = (size_t)l->sizes[i];
  for (int i = 0; i < l->n_layers; i++) total += (size_t)max_batch * l->sizes[i + 1];
  total += 2 * (size_t)max_batch * width;
  /* One block: act[0] is its start, so nn_ws_free frees act[0]. */
  float *block = calloc(total, sizeof(float));
  if (!block) return -ENOMEM;
  ws->l = l;
  ws->max_batch = max_batch;
  float *p = block;
  for (int i = 0; i < l->n_layers; i++) {
    ws->act[i] = p;
    p += (size_t)max_batch * l->sizes[i + 1];
  }
  ws->d0 = p;
  ws->d1 = p + (size_t)max_batch * width;
  return 0;
}

void nn_ws_free(nn_ws_t *ws) {
  free(ws->act[0]);
  memset(ws, 0, sizeof *ws);
}

static void activate(nn_act_t act, float *y, size_t n) {
  switch (act) {
    case NN_RELU:
      for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
      break;
    case NN_TANH:
      for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
      break;
    case NN_IDENTITY:
      break;
  }
}

/* d *= f'(z), with f'(z) written in terms of the output y = f(z). */
static void activate_backward(nn_act_t act, const float *y, float *d, size_t n) {
  switch (act) {
    case NN_RELU:
      for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
      break;
    case NN_TANH:
      for (size_t i = 0; i < n; i++) d[i] *= 1.0f - y[i] * y[i];
      break;
    case NN_IDENTITY:
      break;
  }
}

const float *nn_forward(nn_ws_t *ws, const float *params, const float *x, int batch) {
  const nn_layout_t *l = ws->l;
  ws->batch = batch;
  ws->x = x;
  const float *in = x;
  for (int i = 0; i < l->n_layers; i++) {
    int n_in = l->sizes[i], n_out = l->sizes[i + 1];
    const float *w = params + l->w_off[i], *b = params + l->b_off[i];
    float *y = ws->act[i];
    for (int r = 0; r < batch; r++) memcpy(y + (size_t)r * n_out, b, (size_t)n_out * sizeof(float));
    gemm_nt(GEMM_AUTO, batch, n_out, n_in, in, w, 1, y); /* y = b + x W^T */
    activate(l->act[i], y, (size_t)batch * n_out);
    in = y;
  }
  return ws->act[l->n_layers - 1];
}

void nn_backward(nn_ws_t *ws, const float *params, const float *dy, float *grads, float *dx) {
  const nn_layout_t *l = ws->l;
  int batch = ws->batch, last = l->n_layers - 1;
  if (!grads && !dx) return;
  /* d holds dL/dz of layer i (pre-activation), batch x sizes[i + 1]. */
  float *d = ws->d0, *other = ws->d1;
  size_t n = (size_t)batch * l->sizes[last + 1];
  memcpy(d, dy, n * sizeof(float));
  activate_backward(l->act[last], ws->act[last], d, n);
  for (int i = last; i >= 0; i--) {
    int n_in = l->sizes[i], n_out = l->sizes[i + 1];
    const float *in = i > 0 ? ws->act[i - 1] : ws->x;
    if (grads) {
      gemm_tn(GEMM_AUTO, n_out, n_in, batch, d, in, grads + l->w_off[i]); /* dW += d^T x */
      float *db = grads + l->b_off[i];
      for (int r = 0; r < batch; r++) {
        const float *dr = d + (size_t)r * n_out;
        for (int o = 0; o < n_out; o++) db[o] += dr[o];
      }
    }
    if (i == 0) {
      if (dx) gemm_nn(GEMM_AUTO, batch, n_in, n_out, d, params + l->w_off[0], 0, dx);
      break;
    }
    gemm_nn(GEMM_AUTO, batch, n_in, n_out, d, params + l->w_off[i], 0, other); /* d W */
    activate_backward(l->act[i - 1], ws->act[i - 1], other, (size_t)batch * n_in);
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
