/* nn_ref: a double-precision forward over the nn layout (dense, conv, flatten and dueling
 * layers as naive loops straight from nn.h's layout text), the reference the forward and
 * gradient tests compare against (finite differences need more precision than float32 gives). */
#ifndef RLSERVE_TEST_NN_REF_H
#define RLSERVE_TEST_NN_REF_H

#include <math.h>
#include <string.h>

#include "nn.h"

#define NN_REF_MAX_WIDTH 2048

static inline double nn_ref_act(nn_act_t a, double z) {
  switch (a) {
    case NN_RELU:
      return z > 0 ? z : 0;
    case NN_TANH:
      return tanh(z);
    default:
      return z;
  }
}

/* Layer i of l on one row a (sizes[i] doubles) into b (sizes[i + 1]), before the activation. */
static inline void nn_ref_layer(const nn_layout_t *l, int i, const double *p, const double *a,
                                double *b) {
  int n_in = l->sizes[i], n_out = l->sizes[i + 1];
  const double *w = p + l->w_off[i], *bias = p + l->b_off[i];
  switch (l->kind[i]) {
    case NN_DENSE:
      for (int o = 0; o < n_out; o++) {
        double z = bias[o];
        for (int k = 0; k < n_in; k++) z += w[(size_t)o * n_in + k] * a[k];
        b[o] = z;
      }
      break;
    case NN_CONV: {
      const int W = l->shape[i][1], C = l->shape[i][2], kh = l->kh[i], kw = l->kw[i];
      const int OH = l->shape[i + 1][0], OW = l->shape[i + 1][1], F = l->shape[i + 1][2];
      for (int r = 0; r < OH; r++)
        for (int c = 0; c < OW; c++)
          for (int f = 0; f < F; f++) {
            double z = bias[f];
            for (int dy = 0; dy < kh; dy++)
              for (int dx = 0; dx < kw; dx++)
                for (int ch = 0; ch < C; ch++)
                  z += w[(size_t)f * kh * kw * C + (size_t)(dy * kw + dx) * C + ch] *
                       a[((size_t)(r + dy) * W + (c + dx)) * C + ch];
            b[((size_t)r * OW + c) * F + f] = z;
          }
      break;
    }
    case NN_FLATTEN:
      memcpy(b, a, (size_t)n_in * sizeof(double));
      break;
    case NN_DUELING: {
      double h[NN_REF_MAX_WIDTH + 1], mean = 0;
      for (int o = 0; o <= n_out; o++) {
        double z = bias[o];
        for (int k = 0; k < n_in; k++) z += w[(size_t)o * n_in + k] * a[k];
        h[o] = z;
      }
      for (int o = 1; o <= n_out; o++) mean += h[o] / n_out;
      for (int o = 0; o < n_out; o++) b[o] = h[0] + h[1 + o] - mean;
      break;
    }
  }
}

/* One row: y (sizes[n_layers] doubles) = net(x) with double parameters p (layout l). */
static inline void nn_ref_row(const nn_layout_t *l, const double *p, const double *x, double *y) {
  double a[NN_REF_MAX_WIDTH], b[NN_REF_MAX_WIDTH];
  for (int i = 0; i < l->sizes[0]; i++) a[i] = x[i];
  for (int i = 0; i < l->n_layers; i++) {
    int n_out = l->sizes[i + 1];
    nn_ref_layer(l, i, p, a, b);
    for (int o = 0; o < n_out; o++) b[o] = nn_ref_act(l->act[i], b[o]);
    memcpy(a, b, (size_t)n_out * sizeof(double));
  }
  memcpy(y, a, (size_t)l->sizes[l->n_layers] * sizeof(double));
}

#endif
