/* optim: first-order optimizers over one flat float32 parameter buffer (nn.h's layout), with
 * the global-norm gradient clip folded in.
 *
 * One fused step (optim_step) makes two passes over the buffers instead of four: a reduction
 * pass for the gradients' global L2 norm (sum of squares in double), then one pass that scales
 * each gradient by the clip coefficient on the fly (the gradient buffer is only read) and
 * updates the moments and the parameters. Both passes have AVX-512F, AVX2+FMA and plain C
 * versions, chosen once per process from the CPU (__builtin_cpu_supports; each vector
 * function carries its own target attribute, so the build needs no -march). The vector steps
 * round every operation as the plain loop does (no fused multiply-adds), so they give its
 * results bit for bit; the norm's double sum runs in another order (tests/test_optim.c).
 *
 *   Adam (Kingma & Ba), as torch.optim.Adam without weight decay (single-tensor path):
 *     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *     p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   Centered RMSprop, as torch.optim.RMSprop(centered=True, momentum=0, weight_decay=0) and
 *   MinAtar's reference DQN (lr 2.5e-4, alpha 0.95, eps 0.01):
 *     s = a s + (1 - a) g^2;  m = m + (1 - a) (g - m)
 *     p -= lr * g / (sqrt(max(s - m^2, 0)) + eps)
 *   (the max only where rounding makes s - m^2 negative, where torch would give NaN).
 *
 * Threads: a state belongs to one thread; the dispatch is set up once (pthread_once). */
#ifndef RLSERVE_OPTIM_H
#define RLSERVE_OPTIM_H

#include <stddef.h>

typedef enum { OPTIM_ADAM = 0, OPTIM_RMSPROP_CENTERED = 1 } optim_kind_t;

/* The state of either optimizer: m and v are Adam's moments, or RMSprop's grad_avg (m) and
 * square_avg (v). beta1 is unused by RMSprop, beta2 is its alpha. */
typedef struct adam {
  size_t n;
  float *m, *v;
  float lr, beta1, beta2, eps;
  long t;
  optim_kind_t kind;
} adam_t;
typedef adam_t optim_t;

/* Returns 0, or -ENOMEM. */
int adam_init(adam_t *a, size_t n, float lr, float beta1, float beta2, float eps);
int rmsprop_centered_init(optim_t *o, size_t n, float lr, float alpha, float eps);
/* Either, by the `optimizer` config key's name ("adam" | "rmsprop_centered"): -EINVAL for
 * another name. beta1, beta2 and eps are Adam's; alpha and rms_eps RMSprop's. */
int optim_init_named(optim_t *o, const char *name, size_t n, float lr, float beta1, float beta2,
                     float eps, float alpha, float rms_eps);
void adam_free(adam_t *a);

/* One step, unclipped (adam_step: the state must be Adam). */
void adam_step(adam_t *a, float *params, const float *grads);

/* One fused step of o's optimizer with the gradients scaled so their global L2 norm is at most
 * max_norm (as torch.nn.utils.clip_grad_norm_: by max_norm / (norm + 1e-6) when that is < 1;
 * max_norm <= 0: no clipping). grads is not modified. Returns the norm before clipping. */
float optim_step(optim_t *o, float *params, const float *grads, float max_norm);

/* optim_step with both passes split across pool (common/tpool.h; NULL or one thread: optim_step)
 * in parts of whole 16-float blocks when the buffer has at least 32,768 floats. The parameters
 * and moments come out bit for bit as optim_step's (every element is stepped alone); the norm's
 * double sum is added part by part, so it (and a clip coefficient from it) may differ from
 * optim_step's in the last bits, the same for every call with a pool of that size. From the
 * pool's owner thread only. */
struct tpool;
float optim_step_pool(optim_t *o, float *params, const float *grads, float max_norm,
                      struct tpool *pool);

/* The global L2 norm of n floats (sum of squares in double). */
float optim_grad_norm(const float *grads, size_t n);

/* ---- steps split by the caller (nnpar.h: each thread steps the slices it owns) ----------- */

/* The sum of squares of n gradients, in double (the clip's norm is the sqrt of all of them). */
double optim_sumsq(const float *grads, size_t n);
/* One step of o's optimizer on elements [off, off + len) of params, grads and o's moments, as
 * optim_step would step them with the global norm `norm` (its clip coefficient from max_norm)
 * at step count t (o->t + 1 for the next step; o->t is not changed: the caller advances it once
 * when every slice is done). Any thread, any disjoint slices at once. */
void optim_step_slice(const optim_t *o, long t, double norm, float max_norm, float *params,
                      const float *grads, size_t off, size_t len);

/* ---- for tests and benchmarks ------------------------------------------------------------ */

typedef enum { OPTIM_ISA_PLAIN = 0, OPTIM_ISA_AVX2 = 1, OPTIM_ISA_AVX512 = 2 } optim_isa_t;

/* The kernels this CPU runs (the best it supports). */
optim_isa_t optim_isa_detected(void);
/* Makes every later call use `isa` (capped at what the CPU supports); returns what applies.
 * Call before other threads step. */
optim_isa_t optim_set_isa(optim_isa_t isa);
const char *optim_isa_name(optim_isa_t isa);

#endif
