/* nn_ref: a double-precision MLP forward over the nn layout, the reference the gradient tests
 * compare against (finite differences need more precision than float32 gives). */
#ifndef RLSERVE_TEST_NN_REF_H
#define RLSERVE_TEST_NN_REF_H

#include <math.h>
#include <string.h>

#include "nn.h"

#define NN_REF_MAX_WIDTH 512

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

/* One row: y (sizes[n_layers] doubles) = MLP(x) with double parameters p (layout l). */
static inline void nn_ref_row(const nn_layout_t *l, const double *p, const double *x, double *y) {
  double a[NN_REF_MAX_WIDTH], b[NN_REF_MAX_WIDTH];
  for (int i = 0; i < l->sizes[0]; i++) a[i] = x[i];
  for (int i = 0; i < l->n_layers; i++) {
    int n_in = l->sizes[i], n_out = l->sizes[i + 1];
    for (int o = 0; o < n_out; o++) {
      double z = p[l->b_off[i] + o];
      for (int k = 0; k < n_in; k++) z += p[l->w_off[i] + (size_t)o * n_in + k] * a[k];
      b[o] = nn_ref_act(l->act[i], z);
    }
    memcpy(a, b, (size_t)n_out * sizeof(double));
  }
  memcpy(y, a, (size_t)l->sizes[l->n_layers] * sizeof(double));
}

#endif
