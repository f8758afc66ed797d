/* bench_machine: what every benchmark prints about the machine it ran on, and the one way a
 * benchmark asserts a figure: a ratio of two rates measured in the same run against a floor
 * (never an absolute time or rate, which depends on the machine and its load). A benchmark
 * defines _GNU_SOURCE before its first include (sched_getaffinity, CPU_COUNT). */
#ifndef RLSERVE_BENCH_MACHINE_H
#define RLSERVE_BENCH_MACHINE_H

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The CPU model from /proc/cpuinfo, or "unknown". */
static inline void bench_cpu_model(char *out, size_t len) {
  snprintf(out, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *p = strchr(line, ':');
    if (p && strncmp(line, "model name", 10) == 0) {
      p++;
      while (*p == ' ') p++;
      p[strcspn(p, "\n")] = '\0';
      snprintf(out, len, "%s", p);
      break;
    }
  }
  fclose(f);
}

/* Seconds of CPU time this thread has used. Benchmarks time with it, not with the wall clock,
 * so that time the scheduler gives to other processes on a shared machine does not count:
 * a rate is per CPU-second of the measuring thread. */
static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prints the machine:, load: and command: lines every benchmark starts with. */
static inline void bench_print_machine(int argc, char **argv) {
  char model[256];
  bench_cpu_model(model, sizeof model);
  cpu_set_t set;
  int allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
  printf("machine:  %s, %ld online cores (%d in this process's affinity mask)\n", model,
         sysconf(_SC_NPROCESSORS_ONLN), allowed);
  char load[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fgets(load, sizeof load, f)) load[strcspn(load, "\n")] = 0;
    fclose(f);
  }
  printf("load:     %s (/proc/loadavg at start; the benchmark runs on one thread)\n", load);
  char cwd[512];
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
  printf("command:  (cd %s &&", cwd);
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf(")\n");
}

/* One assertion: `ratio` (measured in this run) must be at least `floor`. Prints a line that
 * names both and counts a failure in *fails. */
static inline void bench_check(int *fails, const char *what, double ratio, double floor) {
  int ok = ratio >= floor;
  printf("check %s  %s: %.3g (floor %.3g)\n", ok ? "ok  " : "FAIL", what, ratio, floor);
  if (!ok) ++*fails;
}

#endif
