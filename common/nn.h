/* nn: feed-forward networks (dense, 2-D convolution, flatten, dueling head) over one flat
 * float32 parameter buffer.
 *
 * Layout (row-major, documented once). Layer l reads rows of sizes[l] floats and writes rows of
 * sizes[l + 1]; its weights W_l sit at params + w_off[l], then its biases b_l at params +
 * b_off[l] (layers without parameters have none). Gradients and Adam moments are buffers of the
 * same shape (n_params floats), so zeroing, optimizer steps and copying weights to the wire are
 * single loops or memcpys. Batches are row-major: x is batch x sizes[0].
 *
 *   NN_DENSE    W out x in (row o holds the weights into unit o), b out floats.
 *   NN_CONV     valid padding, stride 1. The input row is an image shape[l] = (H, W, C) stored
 *               channels last: pixel (r, c) channel ch at (r * W + c) * C + ch (a MinAtar
 *               observation as it is flattened). F filters of kh x kw: W is F x (kh * kw * C),
 *               row f holding filter f with tap (dy, dx, ch) at (dy * kw + dx) * C + ch; b is F
 *               floats. The output is the image (H - kh + 1, W - kw + 1, F), channels last:
 *               y(r, c, f) = b[f] + sum over dy, dx, ch of W[f][(dy*kw + dx)*C + ch] *
 *               x(r + dy, c + dx, ch).
 *   NN_FLATTEN  no parameters: an image row is already its flat vector (y = x); after it the
 *               activation is a plain vector for the dense layers.
 *   NN_DUELING  the head of Wang et al. (2016) with A = sizes[l + 1] outputs: W (1 + A) x in and
 *               b 1 + A floats, row 0 the value stream, rows 1..A the advantage stream;
 *               h = b + W x, Q_a = h_0 + h_(1+a) - mean_j h_(1+j).
 *
 * Threads: a layout and a parameter buffer may be read by many threads at once; a
 * workspace (nn_ws_t) belongs to one thread. */
#ifndef RLSERVE_NN_H
#define RLSERVE_NN_H

#include <stddef.h>

#include "optim.h" /* adam_t, optim_step: the optimizers moved there */
#include "rng.h"
#include "tpool.h"

#define NN_MAX_LAYERS 8

typedef enum { NN_IDENTITY = 0, NN_RELU = 1, NN_TANH = 2 } nn_act_t;
/* A zeroed layout is all dense: NN_DENSE is 0. */
typedef enum { NN_DENSE = 0, NN_CONV = 1, NN_FLATTEN = 2, NN_DUELING = 3 } nn_kind_t;

typedef struct nn_layout {
  int n_layers;                 /* number of layers */
  int sizes[NN_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[n_layers] outputs */
  nn_act_t act[NN_MAX_LAYERS];  /* activation after layer l */
  nn_kind_t kind[NN_MAX_LAYERS];
  int shape[NN_MAX_LAYERS + 1][3]; /* (H, W, C) of the rows entering layer l if an image, else 0s */
  int kh[NN_MAX_LAYERS], kw[NN_MAX_LAYERS]; /* NN_CONV kernel size */
  size_t w_off[NN_MAX_LAYERS], b_off[NN_MAX_LAYERS];
  size_t n_params;
} nn_layout_t;

/* hidden: n_hidden sizes. Returns 0, or -1 for sizes < 1 or too many layers. */
int nn_layout_init(nn_layout_t *l, int n_in, const int *hidden, int n_hidden, int n_out,
                   nn_act_t hidden_act, nn_act_t out_act);
/* A network description: the trunk's layers in order (a config's `net = conv:16x3x3,fc:128`). */
typedef struct nn_layer_spec {
  nn_kind_t kind; /* NN_DENSE (fc:N), NN_CONV (conv:FxKHxKW) or NN_FLATTEN (flatten) */
  int units;      /* fc: units; conv: filters */
  int kh, kw;     /* conv kernel */
} nn_layer_spec_t;

typedef struct nn_spec {
  int n;
  nn_layer_spec_t layer[NN_MAX_LAYERS];
} nn_spec_t;

/* Parses "conv:16x3x3,fc:128" (layers fc:N, conv:FxKHxKW, flatten; spaces around commas
 * allowed). 0, or -1 with a message naming the layer and its position (1-based). */
int nn_spec_parse(nn_spec_t *s, const char *text, char *err, size_t errlen);
/* The spec's trunk (hidden_act after every conv and fc), then the head: a dense layer of n_out
 * with out_act, or a dueling head of n_out (dueling = 1; identity output). in_shape (H, W, C)
 * or NULL for a flat input of n_in floats; a flatten goes in before the first fc after convs
 * and before the head. 0, or -1 with a message (conv on a flat input, a kernel larger than its
 * input, too many layers, sizes < 1). */
int nn_layout_build(nn_layout_t *l, const nn_spec_t *s, int n_in, const int *in_shape, int n_out,
                    nn_act_t hidden_act, nn_act_t out_act, int dueling, char *err, size_t errlen);
/* One line naming every layer, e.g. "in:10x10x4 conv:16x3x3:relu flatten fc:128:relu
 * dueling:6" (checkpoints record it so a resumed or evaluated run proves it reads the buffer
 * the same way). */
void nn_layout_describe(const nn_layout_t *l, char *buf, size_t len);

/* PyTorch's nn.Linear / nn.Conv2d default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in
 * = in (dense, dueling) or kh * kw * C (conv). */
void nn_init_params(const nn_layout_t *l, float *params, rng_t *rng);
/* Scales the last layer's weights and biases (both streams of a dueling head) by `scale` (small
 * output init for actors). */
void nn_scale_last_layer(const nn_layout_t *l, float *params, float scale);

/* Activations of one forward pass, kept for the backward pass. */
typedef struct nn_ws {
  const nn_layout_t *l;
  int max_batch;
  int batch;                 /* batch of the last forward */
  const float *x;            /* input of the last forward (caller's buffer) */
  float *act[NN_MAX_LAYERS]; /* post-activation output of layer l, max_batch x sizes[l+1] */
  float *aux[NN_MAX_LAYERS]; /* conv: the im2col patches; dueling: h (NULL otherwise) */
  float *d0, *d1;            /* scratch for deltas, max_batch x max width */
  float *scratch;            /* conv patch gradients, dueling dL/dh */
} nn_ws_t;

int nn_ws_init(nn_ws_t *ws, const nn_layout_t *l, int max_batch);
void nn_ws_free(nn_ws_t *ws);

/* y = f(x); returns the output (batch x n_out) inside ws. x must stay valid until backward.
 * batch <= max_batch. */
const float *nn_forward(nn_ws_t *ws, const float *params, const float *x, int batch);
/* After a forward of a stacked batch (several inputs' rows one after another), makes the next
 * backward that of its first `rows` rows only: every layer keeps a batch's rows in order, so
 * theirs lead each buffer. 1 <= rows <= the forward's batch. */
void nn_ws_keep_rows(nn_ws_t *ws, int rows);
/* Backward of the last forward given dL/dy (batch x n_out). Adds dL/dparams into grads
 * (if non-NULL; caller zeroes) and writes dL/dx (batch x n_in) into dx (if non-NULL). */
void nn_backward(nn_ws_t *ws, const float *params, const float *dy, float *grads, float *dx);

/* Element-wise pieces of the layers' backward, vectorized by CPU (AVX-512 / AVX2 / plain, the
 * same arithmetic in each), for code that runs layers its own way (nnpar.h):
 * d *= f'(z) written through y = f(z); g += the column sums of d (rows x n); y += x. */
void nn_act_backward(nn_act_t act, const float *y, float *d, size_t n);
void nn_add_col_sums(const float *d, int rows, int n, float *g);
void nn_add(float *y, const float *x, size_t n);

/* Mean losses over n values; dpred (if non-NULL) receives the gradient of the mean. */
float nn_loss_mse(const float *pred, const float *target, int n, float *dpred);
/* Huber with threshold delta (smooth L1 for delta 1). */
float nn_loss_huber(const float *pred, const float *target, int n, float delta, float *dpred);

/* Scales grads so their global L2 norm is at most max_norm (no-op if max_norm <= 0).
 * Returns the norm before clipping. */
float nn_clip_grad_norm(float *grads, size_t n, float max_norm);
/* target = tau * online + (1 - tau) * target (tau = 1: hard copy). */
void nn_polyak(float *target, const float *online, size_t n, float tau);
/* The same, split across `pool` (NULL or one thread: nn_polyak); the same bits for any pool. */
void nn_polyak_pool(float *target, const float *online, size_t n, float tau, tpool_t *pool);

/* Makes the calling thread flush denormal floats to zero (x86 MXCSR FTZ and DAZ; no-op
 * elsewhere). Adam moments of parameters with zero gradient decay into denormals, which are
 * ~100x slower to compute with; every thread that trains or runs a network calls this once. */
void nn_flush_denormals(void);

/* Conv layers with filters in multiples of 16 run direct AVX-512 kernels where the CPU has
 * AVX-512F (nn.c), else im2col + SGEMM. nn_set_conv_direct(0) forces im2col (tests and
 * benchmarks; call before other threads use nn; a forward and its backward must see the same
 * setting). nn_conv_direct_available: 1 when this CPU runs the direct kernels. */
void nn_set_conv_direct(int on);
int nn_conv_direct_available(void);

/* Index of the largest of n values (first on ties). */
int nn_argmax(const float *v, int n);

#endif
