/* rlserve: one binary, subcommands. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "envcheck.h"
#include "eval_cmd.h"
#include "export_cmd.h"
#include "gemm.h"
#include "learner_cmd.h"
#include "log.h"
#include "run.h"
#include "status_cmd.h"
#include "study.h"
#include "worker.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve <command> [options]   (rlserve <command> --help for more)\n"
          "commands:\n"
          "  run       --preset NAME [--workers N] [--seed S] [--set key=value ...] [--out DIR]\n"
          "  learner   --config FILE [--listen HOST:PORT] [--out DIR]\n"
          "  worker    --connect HOST:PORT [--envs K]\n"
          "  status    HOST:PORT [--json]\n"
          "  eval      --checkpoint FILE [--episodes N] [--seed S] [--json]\n"
          "  export    --checkpoint FILE --format onnx|npz --out FILE\n"
          "  study     --preset NAME --runs R [--out DIR]   (R seeds, mean curve + 95%% interval)\n"
          "  board     DIR [DIR ...] [--listen HOST:PORT]   (a page over run folders)\n"
          "  envcheck  FILE.json\n");
}

/* OpenBLAS picks its kernels when it loads, before main: on a CPU it does not recognise
 * (gemm.h: gemm_better_coretype) the process sets OPENBLAS_CORETYPE and re-executes itself,
 * once (the variable is then set, and children inherit it). Opt-out: set OPENBLAS_CORETYPE
 * yourself, or RLSERVE_OPENBLAS_CORETYPE=keep. The re-executed process logs what happened
 * (learner and run only: the commands whose speed is the matrix products). */
#define CORETYPE_FROM "RLSERVE_OPENBLAS_CORETYPE_FROM"
static void openblas_coretype(int argc, char **argv) {
  const char *keep = getenv("RLSERVE_OPENBLAS_CORETYPE");
  if (getenv("OPENBLAS_CORETYPE") || (keep && strcmp(keep, "keep") == 0)) return;
  const char *better = gemm_better_coretype();
  if (!better) return;
  setenv("OPENBLAS_CORETYPE", better, 1);
  setenv(CORETYPE_FROM, gemm_corename(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE"); /* exec failed: go on with the kernels loaded */
  unsetenv(CORETYPE_FROM);
  (void)argc;
}

static void log_coretype(const char *cmd) {
  const char *from = getenv(CORETYPE_FROM);
  if (!from) return;
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "learner") == 0)
    LOG_I("rlserve",
          "OpenBLAS ran its %s kernels on this CPU; restarted with OPENBLAS_CORETYPE=%s (now %s; "
          "RLSERVE_OPENBLAS_CORETYPE=keep keeps OpenBLAS's choice)",
          from, getenv("OPENBLAS_CORETYPE"), gemm_corename());
  unsetenv(CORETYPE_FROM);
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  /* A peer that vanishes must be an error on that socket (EPIPE), not the end of the
   * process: libuv leaves SIGPIPE to the application. */
  signal(SIGPIPE, SIG_IGN);
  const char *cmd = argv[1];
  if (strcmp(cmd, "status") != 0 && strcmp(cmd, "envcheck") != 0) openblas_coretype(argc, argv);
  log_coretype(cmd);
  if (strcmp(cmd, "run") == 0) return run_main(argc - 1, argv + 1);
  if (strcmp(cmd, "learner") == 0) return learner_main(argc - 1, argv + 1);
  if (strcmp(cmd, "worker") == 0) return worker_main(argc - 1, argv + 1);
  if (strcmp(cmd, "status") == 0) return status_main(argc - 1, argv + 1);
  if (strcmp(cmd, "eval") == 0) return eval_main(argc - 1, argv + 1);
  if (strcmp(cmd, "export") == 0) return export_main(argc - 1, argv + 1);
  if (strcmp(cmd, "study") == 0) return study_main(argc - 1, argv + 1);
  if (strcmp(cmd, "board") == 0) return board_main(argc - 1, argv + 1);
  if (strcmp(cmd, "envcheck") == 0) return envcheck_main(argc - 1, argv + 1);
  fprintf(stderr, "rlserve: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
