/* nn: multilayer perceptrons over one flat float32 parameter buffer.
 *
 * Layout (row-major, documented once): layer l maps in = sizes[l] to out = sizes[l+1] with
 * W_l stored as out x in (row o holds the weights into unit o) at params + w_off[l], then
 * b_l (out floats) at params + b_off[l]. Gradients and Adam moments are buffers of the same
 * shape (n_params floats), so zeroing, optimizer steps and copying weights to the wire are
 * single loops or memcpys. Batches are row-major: x is batch x sizes[0].
 *
 * Threads: a layout and a parameter buffer may be read by many threads at once; a
 * workspace (nn_ws_t) belongs to one thread. */
#ifndef RLSERVE_NN_H
#define RLSERVE_NN_H

#include <stddef.h>

#include "optim.h" /* adam_t, optim_step: the optimizers moved there */
#include "rng.h"

#define NN_MAX_LAYERS 8

typedef enum { NN_IDENTITY = 0, NN_RELU = 1, NN_TANH = 2 } nn_act_t;

typedef struct nn_layout {
  int n_layers;                    /* number of affine layers */
  int sizes[NN_MAX_LAYERS + 1];    /* sizes[0] inputs ... sizes[n_layers] outputs */
  nn_act_t act[NN_MAX_LAYERS];     /* activation after layer l */
  size_t w_off[NN_MAX_LAYERS], b_off[NN_MAX_LAYERS];
  size_t n_params;
} nn_layout_t;

/* hidden: n_hidden sizes. Returns 0, or -1 for sizes < 1 or too many layers. */
int nn_layout_init(nn_layout_t *l, int n_in, const int *hidden, int n_hidden, int n_out,
                   nn_act_t hidden_act, nn_act_t out_act);
/* PyTorch's nn.Linear default: W, b ~ U(-1/sqrt(in), 1/sqrt(in)). */
void nn_init_params(const nn_layout_t *l, float *params, rng_t *rng);
/* Scales the last layer's weights and biases by `scale` (small output init for actors). */
void nn_scale_last_layer(const nn_layout_t *l, float *params, float scale);

/* Activations of one forward pass, kept for the backward pass. */
typedef struct nn_ws {
  const nn_layout_t *l;
  int max_batch;
  int batch;                        /* batch of the last forward */
  const float *x;                   /* input of the last forward (caller's buffer) */
  float *act[NN_MAX_LAYERS];        /* post-activation output of layer l, max_batch x sizes[l+1] */
  float *d0, *d1;                   /* scratch for deltas, max_batch x max width */
} nn_ws_t;

int nn_ws_init(nn_ws_t *ws, const nn_layout_t *l, int max_batch);
void nn_ws_free(nn_ws_t *ws);

/* y = f(x); returns the output (batch x n_out) inside ws. x must stay valid until backward.
 * batch <= max_batch. */
const float *nn_forward(nn_ws_t *ws, const float *params, const float *x, int batch);
/* Backward of the last forward given dL/dy (batch x n_out). Adds dL/dparams into grads
 * (if non-NULL; caller zeroes) and writes dL/dx (batch x n_in) into dx (if non-NULL). */
void nn_backward(nn_ws_t *ws, const float *params, const float *dy, float *grads, float *dx);

/* Mean losses over n values; dpred (if non-NULL) receives the gradient of the mean. */
float nn_loss_mse(const float *pred, const float *target, int n, float *dpred);
/* Huber with threshold delta (smooth L1 for delta 1). */
float nn_loss_huber(const float *pred, const float *target, int n, float delta, float *dpred);

/* Scales grads so their global L2 norm is at most max_norm (no-op if max_norm <= 0).
 * Returns the norm before clipping. */
float nn_clip_grad_norm(float *grads, size_t n, float max_norm);
/* target = tau * online + (1 - tau) * target (tau = 1: hard copy). */
void nn_polyak(float *target, const float *online, size_t n, float tau);

/* Makes the calling thread flush denormal floats to zero (x86 MXCSR FTZ and DAZ; no-op
 * elsewhere). Adam moments of parameters with zero gradient decay into denormals, which are
 * ~100x slower to compute with; every thread that trains or runs a network calls this once. */
void nn_flush_denormals(void);

/* Index of the largest of n values (first on ties). */
int nn_argmax(const float *v, int n);

#endif
