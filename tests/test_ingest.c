/* Checks the decode-thread rule of server/learner/ingest.h (ingest_threads_for): an explicit
 * ingest_threads is taken as is; 0 (auto) gives a quarter of the cores left after the local
 * workers, 1 (the net thread alone) under 2, at most 4. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "ingest.h"

static int cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

int main(void) {
  config_t c;
  config_init(&c);
  CHECK(c.ingest_threads == 0, "ingest_threads defaults to %lld, expected 0 (auto)",
        (long long)c.ingest_threads);
  for (int t = 1; t <= 8; t++) {
    c.ingest_threads = t;
    CHECK(ingest_threads_for(&c) == t, "ingest_threads = %d gives %d", t, ingest_threads_for(&c));
  }
  c.ingest_threads = 0;
  int n = cores();
  for (int w = 0; w <= 64; w++) {
    c.workers = w;
    int want = (n - w) / 4;
    want = want < 2 ? 1 : want > 4 ? 4 : want;
    CHECK(ingest_threads_for(&c) == want,
          "auto with %d cores and workers = %d gives %d, expected %d", n, w, ingest_threads_for(&c),
          want);
  }
  c.workers = n; /* every core runs a worker: ingest stays on the net thread */
  CHECK(ingest_threads_for(&c) == 1, "auto with a worker per core gives %d",
        ingest_threads_for(&c));
  CHECK_DONE();
}
