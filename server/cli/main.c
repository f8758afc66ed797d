/* rlserve: one binary, subcommands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "envcheck.h"
#include "eval_cmd.h"
#include "export_cmd.h"
#include "learner_cmd.h"
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
          "  study     --preset NAME --runs R [--out DIR]   (on-policy methods, R seeds)\n"
          "  envcheck  FILE.json\n");
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
  if (strcmp(cmd, "run") == 0) return run_main(argc - 1, argv + 1);
  if (strcmp(cmd, "learner") == 0) return learner_main(argc - 1, argv + 1);
  if (strcmp(cmd, "worker") == 0) return worker_main(argc - 1, argv + 1);
  if (strcmp(cmd, "status") == 0) return status_main(argc - 1, argv + 1);
  if (strcmp(cmd, "eval") == 0) return eval_main(argc - 1, argv + 1);
  if (strcmp(cmd, "export") == 0) return export_main(argc - 1, argv + 1);
  if (strcmp(cmd, "study") == 0) return study_main(argc - 1, argv + 1);
  if (strcmp(cmd, "envcheck") == 0) return envcheck_main(argc - 1, argv + 1);
  fprintf(stderr, "rlserve: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
