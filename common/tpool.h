/* tpool: a small persistent pool of threads that run one job at a time in parts.
 *
 * tpool_run(p, fn, arg) calls fn(arg, part, n) for every part in 0..n-1, n = tpool_size(p):
 * part 0 on the calling thread, the others on the pool's n - 1 threads, and returns when all
 * have returned. Which thread runs which part is fixed, so a job that splits its work by part
 * computes the same result on every call (no reduction order depends on timing).
 *
 * Waiting is bounded spin then condition variable: a pool thread that finished a part spins
 * for up to TPOOL_SPIN polls (tens of microseconds) for the next job, so back-to-back jobs (the
 * matrix products of one update) start without a wake-up, then sleeps on a condition
 * variable; the caller waits for the other parts the same way. An idle pool costs nothing.
 *
 * Threads: tpool_run from one thread at a time (the pool's owner); fn must not call
 * tpool_run on the same pool. */
#ifndef RLSERVE_TPOOL_H
#define RLSERVE_TPOOL_H

#include <stddef.h>

typedef struct tpool tpool_t;
typedef void (*tpool_fn)(void *arg, int part, int n_parts);

/* A pool of n_threads in all (the caller counts as one: n_threads - 1 are started), each
 * pool thread first calling thread_init (if non-NULL; e.g. nn_flush_denormals). NULL when out
 * of memory, a thread cannot start, or n_threads < 1. */
tpool_t *tpool_create(int n_threads, void (*thread_init)(void));
/* Stops and joins the pool threads (NULL: nothing). */
void tpool_destroy(tpool_t *p);
/* Threads of the pool, the caller included (1 for NULL). */
int tpool_size(const tpool_t *p);
/* Runs fn(arg, part, n) for part 0..n-1 as above; p NULL runs fn(arg, 0, 1). */
void tpool_run(tpool_t *p, tpool_fn fn, void *arg);
/* Inside a job: returns when every part of the running job has called it (as many times).
 * Spins, then yields; every part must call it the same number of times. */
void tpool_barrier(tpool_t *p, int part);
/* Inside a job: every part contributes v; returns the sum of all parts' values added in part
 * order (the same bits on every part and every run). A barrier. */
double tpool_sum(tpool_t *p, int part, double v);
/* The slice [*lo, *hi) of n items that part `part` of n_parts takes: whole blocks of `block`
 * items, the last part ending at n (parts past the end get an empty slice). Depends only on its
 * arguments, so a job's split never depends on timing. */
void tpool_slice(size_t n, size_t block, int part, int n_parts, size_t *lo, size_t *hi);
/* CPU seconds the pool thread of `part` (1..n-1) has used, or -1 (benchmarks). */
double tpool_thread_cpu(const tpool_t *p, int part);

#endif
