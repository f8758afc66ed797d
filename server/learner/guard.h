/* guard: keeps the trainer's algorithm state finite. A batch that makes the loss or any
 * tensor (parameters, targets, optimizer moments: where a non-finite or overflowing gradient
 * lands) non-finite is undone: the state is put back to the copy taken after the last good
 * update, so that update is skipped. Nothing non-finite is ever published or checkpointed.
 * The check and the copy are one pass over the state per update (into a second buffer that
 * becomes the good copy when the state is finite). Trainer thread (or whichever thread owns the algorithm state). */
#ifndef RLSERVE_GUARD_H
#define RLSERVE_GUARD_H

#include <stddef.h>
#include <sys/types.h>

#include "algo.h"

typedef struct guard {
  algo_state_view_t v; /* the live state (pointers into the algorithm's state) */
  float *good;         /* every tensor of v, back to back: the last finite state */
  float *spare;        /* the same size: the next good copy, written while checking */
  size_t n;
  long steps[ALGO_MAX_STEPS];
} guard_t;

/* Index of the first NaN or infinity among n floats, or -1. */
ssize_t guard_find_nonfinite(const float *x, size_t n);

/* Takes the current state as the first good one. 0; -1 when out of memory or when the state
 * itself holds a non-finite value (why names the tensor and index). */
int guard_init(guard_t *g, const algo_state_view_t *v, char *why, size_t whylen);
void guard_free(guard_t *g);

/* After an update with this loss and mean Q: 0 when everything is finite (the state becomes
 * the new good one); otherwise -1, the last good state is restored (tensors and step
 * counters) and why names the first non-finite value. */
int guard_commit(guard_t *g, double loss, double mean_q, char *why, size_t whylen);
/* The same with the check and the copy split across pool (the trainer's; NULL or one thread:
 * guard_commit) when the state has at least 65,536 floats. From the pool's owner only. */
struct tpool;
int guard_commit_pool(guard_t *g, double loss, double mean_q, char *why, size_t whylen,
                      struct tpool *pool);

#endif
