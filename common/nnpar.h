/* nnpar: one dense network's forward, backward and optimizer step split across the parts of a
 * tpool job by units: each part owns a slice of every wide layer's output units (the rows of
 * W and b behind them, their gradients and moments) and keeps them in its core's cache from
 * one update to the next. Only activations cross between cores.
 *
 * Why (tests/bench/README.md, 2026-12-01): splitting each matrix product of an update across
 * two threads (gemm.h's pool) left both threads reading all the weights, gradients and
 * moments, ~300 KB per DQN 4-256-256-2 update written on one core and read on the other, and
 * two threads gave 1.4-1.5x one. Owning the units moves ~100 KB of activations instead.
 *
 * The plan (nnp_plan_init) gives each layer i one of three modes:
 *   NNP_COL  (every layer but the last with >= 64 units per part) part p computes output
 *            units [cut[i][p], cut[i][p+1]) (multiples of 16) for every row of the batch and
 *            stores them as one contiguous block (rows x its units). Its input is either
 *            replicated (the network's input, or after NNP_RED / NNP_REP) or the previous
 *            layer's blocks, read as consecutive stretches of the inner dimension (the same
 *            chain of fused multiply-adds as one product, gemm512.h).
 *   NNP_REPCOL  (an NNP_COL layer whose input is replicated and at most 32 wide: the first
 *            layer of a DQN or DDPG network) every part computes all of its units (a few
 *            microseconds: cheaper than sending them), but owns, trains and back-propagates
 *            through only its slice, as NNP_COL.
 *   NNP_RED  (after an NNP_COL layer, when this one is narrow: a Q head, a critic's value)
 *            part p multiplies its own input block by the columns of W that block meets, then
 *            every part adds the parts' partial sums in part order and the bias: the output is
 *            replicated, the same bits on every part.
 *   NNP_REP  (narrow, replicated input) every part computes the whole layer; part 0 owns its
 *            parameters.
 * Backward mirrors it: an NNP_COL layer's input gradient is a sum over the parts' units,
 * written as partial blocks and added by the owner of each input block after a barrier.
 *
 * Results depend only on the plan (the split and the addition orders are fixed): the same
 * inputs give the same bits on every run with the same number of parts, and agree with
 * nn_forward / nn_backward to rounding.
 *
 * Use: every part of a tpool_run job calls the same sequence of nnp_* functions with the same
 * arguments (except `part`); they synchronize with tpool_barrier. Only dense layers (no conv,
 * flatten or dueling head): nnp_plan_init says so. */
#ifndef RLSERVE_NNPAR_H
#define RLSERVE_NNPAR_H

#include <stddef.h>

#include "nn.h"
#include "optim.h"
#include "tpool.h"

#define NNP_MAX_PARTS 8
#define NNP_MAX_RANGES 512

typedef enum { NNP_COL = 0, NNP_RED = 1, NNP_REP = 2, NNP_REPCOL = 3 } nnp_mode_t;

typedef struct nnp_plan {
  nn_layout_t l; /* a copy */
  int n_parts;
  nnp_mode_t mode[NN_MAX_LAYERS];
  int cut[NN_MAX_LAYERS][NNP_MAX_PARTS + 1]; /* NNP_COL: part p's units [cut[p], cut[p+1]) */
} nnp_plan_t;

/* Runs fn as a job of pool's parts (tpool_run) whose products each run on their part's thread
 * (the caller's gemm pool is unset for the job and restored after it). */
void nnp_run(tpool_t *pool, tpool_fn fn, void *arg);

/* The plan of layout l over n_parts (1..NNP_MAX_PARTS). 0, or -1 with a message when a layer is
 * not dense or n_parts is out of range. */
int nnp_plan_init(nnp_plan_t *p, const nn_layout_t *l, int n_parts, char *err, size_t errlen);

/* Whether the plan splits any layer by units (else every part would compute everything). */
int nnp_splits(const nnp_plan_t *p);

/* Spans of a flat buffer (offsets from its start, lengths in floats). */
typedef struct nnp_ranges {
  int n;
  size_t off[NNP_MAX_RANGES], len[NNP_MAX_RANGES];
} nnp_ranges_t;

/* Appends the parameters part `part` owns, the ones its backward writes the gradients of
 * (NNP_COL: its rows of W and its biases; NNP_RED: the stretch of every row of W its input
 * block meets, and part 0 the biases; NNP_REP: part 0 all), of a network with plan p whose
 * parameters start at `base` in the buffer. -1 when r is full (nnp_plan_init refuses plans
 * whose parts own more than NNP_MAX_RANGES spans). Over all parts the ranges cover every
 * parameter exactly once. */
int nnp_owned(const nnp_plan_t *p, int part, size_t base, nnp_ranges_t *r);

/* The activations of one network's forward pass on every part (a team's workspace). */
typedef struct nnp_ws nnp_ws_t;

/* NULL when out of memory. */
nnp_ws_t *nnp_ws_create(const nnp_plan_t *p, int max_batch);
void nnp_ws_free(nnp_ws_t *ws);

/* y = f(x), computed by all parts together; x (batch x n_in, batch <= max_batch) the same
 * buffer on every part, valid until the backward. Returns this part's copy of the output
 * (batch x n_out), valid until this workspace's next forward. */
const float *nnp_forward(nnp_ws_t *ws, int part, tpool_t *pool, const float *params, const float *x,
                         int batch);
/* The backward of the last forward over its first `rows` rows (<= its batch): dy (rows x
 * n_out) the same values on every part. Writes (not adds) this part's owned gradients into
 * grads (a buffer shaped like params; NULL: none) and, if want_dx, returns this part's copy of
 * dL/dx (rows x n_in; else NULL), valid until this workspace's next backward. */
const float *nnp_backward(nnp_ws_t *ws, int part, tpool_t *pool, const float *params,
                          const float *dy, int rows, float *grads, int want_dx);

/* One optimizer step of o over the ranges each part owns (own: this part's), o's buffers
 * spanning params / grads from their start as nnp_owned's offsets do. The global-norm clip
 * (max_norm > 0) sums every part's squares in part order. Elements come out bit for bit as
 * optim_step's given the same clip coefficient. Advances o->t once. Ends with a barrier (a
 * forward after it may read any parameter). Returns the norm before clipping (the same on
 * every part). */
float nnp_optim_step(tpool_t *pool, int part, optim_t *o, const nnp_ranges_t *own, float *params,
                     const float *grads, float max_norm);

/* target = tau * online + (1 - tau) * target over this part's ranges (tau 1: a copy). No
 * barrier: a forward of the target in the same job must come after one (tpool_barrier). */
void nnp_polyak(const nnp_ranges_t *own, float *target, const float *online, float tau);

#endif
