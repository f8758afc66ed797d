/* bench_machine: what every benchmark prints about the machine it ran on. */
#ifndef RLSERVE_BENCH_MACHINE_H
#define RLSERVE_BENCH_MACHINE_H

#include <stdio.h>
#include <string.h>

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

#endif
