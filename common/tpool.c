/* tpool: see tpool.h. One job slot; a generation counter announces a new job (release: the
 * slot's fields are written before it), a pending counter its parts still running. */
#include "tpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Polls before sleeping: TPOOL_PAUSES with a pause instruction (~40-140 cycles each: ~7-25 us
 * at 3 GHz), then up to TPOOL_YIELDS with sched_yield, which on an oversubscribed machine lets
 * a descheduled pool thread (or another process) have this core instead of burning it. */
#define TPOOL_PAUSES 500
#define TPOOL_YIELDS 50
#define TPOOL_SPIN (TPOOL_PAUSES + TPOOL_YIELDS)

static inline void backoff(int i) {
  if (i < TPOOL_PAUSES)
    CPU_RELAX();
  else
    sched_yield();
}

typedef struct worker {
  tpool_t *pool;
  int part;
  pthread_t tid;
} worker_t;

struct tpool {
  int n;
  worker_t *w;
  void (*thread_init)(void);
  /* The job slot, written by the owner before gen is bumped. */
  tpool_fn fn;
  void *arg;
  atomic_uint gen;
  atomic_int pending; /* pool-thread parts of the current job not finished */
  atomic_int stop;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  /* tpool_barrier: arrivals at the current barrier and how many barriers have completed;
   * tpool_sum's values, by barrier parity (a fast part may write the next sum's slot while a
   * slow one still reads this one). */
  _Alignas(64) atomic_int bar_count;
  atomic_uint bar_gen;
  _Alignas(64) double *sum[2];
};

static void *worker_main(void *a) {
  worker_t *w = a;
  tpool_t *p = w->pool;
  if (p->thread_init) p->thread_init();
  unsigned seen = 0;
  for (;;) {
    unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
    for (int i = 0;
         i < TPOOL_SPIN && g == seen && !atomic_load_explicit(&p->stop, memory_order_relaxed);
         i++) {
      backoff(i);
      g = atomic_load_explicit(&p->gen, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&p->mu);
      while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
             !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop)) break;
    seen = g;
    p->fn(p->arg, w->part, p->n);
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

tpool_t *tpool_create(int n_threads, void (*thread_init)(void)) {
  if (n_threads < 1) return NULL;
  tpool_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = n_threads;
  p->thread_init = thread_init;
  atomic_init(&p->gen, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stop, 0);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  atomic_init(&p->bar_count, 0);
  atomic_init(&p->bar_gen, 0);
  p->w = calloc((size_t)n_threads, sizeof *p->w);
  p->sum[0] = calloc((size_t)n_threads * 2, sizeof(double));
  p->sum[1] = p->sum[0] ? p->sum[0] + n_threads : NULL;
  if (!p->w || !p->sum[0]) {
    tpool_destroy(p);
    return NULL;
  }
  for (int i = 1; i < n_threads; i++) {
    p->w[i].pool = p;
    p->w[i].part = i;
    if (pthread_create(&p->w[i].tid, NULL, worker_main, &p->w[i]) != 0) {
      p->n = i; /* the threads started so far are joined */
      tpool_destroy(p);
      return NULL;
    }
  }
  return p;
}

void tpool_destroy(tpool_t *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  if (p->w)
    for (int i = 1; i < p->n; i++) pthread_join(p->w[i].tid, NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->w);
  free(p->sum[0]);
  free(p);
}

int tpool_size(const tpool_t *p) { return p ? p->n : 1; }

double tpool_thread_cpu(const tpool_t *p, int part) {
  clockid_t id;
  struct timespec ts;
  if (!p || part < 1 || part >= p->n || pthread_getcpuclockid(p->w[part].tid, &id) != 0 ||
      clock_gettime(id, &ts) != 0)
    return -1;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tpool_run(tpool_t *p, tpool_fn fn, void *arg) {
  if (!p || p->n == 1) {
    fn(arg, 0, 1);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  fn(arg, 0, p->n);
  for (int i = 0; i < TPOOL_SPIN && atomic_load_explicit(&p->pending, memory_order_acquire) > 0;
       i++)
    backoff(i);
  if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
      pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}

void tpool_slice(size_t n, size_t block, int part, int n_parts, size_t *lo, size_t *hi) {
  size_t blocks = (n + block - 1) / block;
  *lo = blocks * (size_t)part / (size_t)n_parts * block;
  *hi = blocks * (size_t)(part + 1) / (size_t)n_parts * block;
  if (*hi > n) *hi = n;
  if (*lo > n) *lo = n;
}

/* A central counter barrier: the part that arrives last resets the count and bumps the
 * generation the others wait on (release/acquire: what each part wrote before its call is
 * visible to every part after it). */
void tpool_barrier(tpool_t *p, int part) {
  (void)part;
  if (!p || p->n == 1) return;
  unsigned g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
  if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
    atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->bar_gen, 1, memory_order_release);
    return;
  }
  for (unsigned i = 0; atomic_load_explicit(&p->bar_gen, memory_order_acquire) == g; i++)
    backoff(i < TPOOL_PAUSES ? (int)i : TPOOL_PAUSES);
}

double tpool_sum(tpool_t *p, int part, double v) {
  if (!p || p->n == 1) return v;
  double *slot = p->sum[atomic_load_explicit(&p->bar_gen, memory_order_relaxed) & 1u];
  slot[part] = v;
  tpool_barrier(p, part);
  double s = 0;
  for (int i = 0; i < p->n; i++) s += slot[i];
  return s;
}
