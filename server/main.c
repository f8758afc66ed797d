/* rlserve: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "envcheck.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve <command> [options]\n"
          "commands:\n"
          "  run       --preset NAME --workers N [--seed S] [--set key=value ...] [--out DIR]\n"
          "  learner   --config FILE --listen HOST:PORT [--status HOST:PORT] [--resume DIR]\n"
          "  worker    --connect HOST:PORT [--envs K] [--token-file F]\n"
          "  eval      --checkpoint FILE [--episodes N] [--seed S] [--json]\n"
          "  envcheck  FILE.json\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "envcheck") == 0) return envcheck_main(argc - 1, argv + 1);
  fprintf(stderr, "rlserve: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
