/* test_tpool: common/tpool.h. Every part of every job runs exactly once, on the thread its
 * part number names, and tpool_run returns only after all have finished; back-to-back jobs
 * (the spin path) and jobs after a pause long enough for the pool threads to sleep (the
 * condition-variable path); pools of 1-4 threads and NULL. Labelled tsan too: deploy/test.sh
 * runs it under ThreadSanitizer, which checks the job hand-over is properly synchronized. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "tpool.h"

#define MAX_T 4

typedef struct job {
  int n_parts_seen[MAX_T]; /* plain ints: each part writes only its own slot */
  long sum[MAX_T];         /* the part's share of 0..len-1, summed */
  pthread_t thread[MAX_T]; /* which thread ran the part */
  long len;
  atomic_int calls;
} job_t;

static void part_fn(void *arg, int part, int n) {
  job_t *j = arg;
  long lo = j->len * part / n, hi = j->len * (part + 1) / n, s = 0;
  for (long i = lo; i < hi; i++) s += i;
  j->sum[part] += s;
  j->n_parts_seen[part] = n;
  j->thread[part] = pthread_self();
  atomic_fetch_add(&j->calls, 1);
}

static int inits;
static pthread_mutex_t inits_mu = PTHREAD_MUTEX_INITIALIZER;
static void count_init(void) {
  pthread_mutex_lock(&inits_mu);
  inits++;
  pthread_mutex_unlock(&inits_mu);
}

static void nap_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

int main(void) {
  CHECK(tpool_create(0, NULL) == NULL, "a pool of 0 threads");
  CHECK(tpool_size(NULL) == 1, "tpool_size(NULL)");
  for (int t = 0; t <= MAX_T; t++) {
    tpool_t *p = NULL;
    if (t > 0) {
      inits = 0;
      p = tpool_create(t, count_init);
      CHECK(p != NULL, "tpool_create(%d)", t);
      if (!p) continue;
    }
    int n = tpool_size(p);
    CHECK(n == (t ? t : 1), "size %d for %d threads", n, t);
    job_t j = {.len = 1000};
    atomic_init(&j.calls, 0);
    const int rounds = 3000, naps = 5;
    pthread_t first[MAX_T];
    for (int r = 0; r < rounds + naps; r++) {
      if (r >= rounds) nap_ms(20); /* the pool threads fall asleep between these jobs */
      int before = atomic_load(&j.calls);
      tpool_run(p, part_fn, &j);
      /* Every part has finished when tpool_run returns. */
      CHECK(atomic_load(&j.calls) == before + n, "round %d: %d parts finished of %d", r,
            atomic_load(&j.calls) - before, n);
      if (r == 0)
        for (int k = 0; k < n; k++) first[k] = j.thread[k];
      for (int k = 0; k < n; k++)
        CHECK(pthread_equal(first[k], j.thread[k]), "part %d moved to another thread", k);
    }
    CHECK(pthread_equal(first[0], pthread_self()), "part 0 not on the caller");
    long total = 0, want = (long)(rounds + naps) * (j.len * (j.len - 1) / 2);
    for (int k = 0; k < n; k++) {
      total += j.sum[k];
      CHECK(j.n_parts_seen[k] == n, "part %d saw n = %d", k, j.n_parts_seen[k]);
    }
    CHECK(total == want, "%d threads: sum %ld, want %ld", n, total, want);
    tpool_destroy(p);
    if (t > 0) CHECK(inits == t - 1, "thread_init ran %d times for %d pool threads", inits, t - 1);
    printf("%d thread(s): %d jobs ok\n", n, rounds + naps);
  }
  tpool_destroy(NULL);
  CHECK_DONE();
}
