/* promtool: `promtool check metrics` on a Prometheus exposition text, for the tests that render
 * one. A missing promtool is a skip (check.h CHECK_SKIP; deploy/install-deps.sh --test
 * installs Debian's prometheus package, so CI has it). Include after check.h. */
#ifndef RLSERVE_TEST_PROMTOOL_H
#define RLSERVE_TEST_PROMTOOL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void promtool_check(const char *text, const char *what) {
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    CHECK_SKIP("promtool: not installed (%s text checked by the test's own assertions only)", what);
    return;
  }
  char path[] = "/tmp/rlserve_promtool_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp failed");
  if (fd < 0) return;
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
  int st = system(cmd);
  int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  CHECK(ok, "promtool check metrics failed (status %d) on the %s text:\n%s", st, what, text);
  if (ok) printf("promtool ok: %s\n", what);
  unlink(path);
}

#endif
