/* learner_cmd: `rlserve learner`: options into a learner_opts_t, then learner_run. */
#include "learner_cmd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "algo.h"
#include "auth.h"
#include "checkpoint.h"
#include "config.h"
#include "learner.h"
#include "log.h"

static void usage(void) {
  fprintf(stderr,
          "usage: rlserve learner [--config FILE] [--preset NAME] [--set key=value ...]\n"
          "                       [--listen HOST:PORT] [--status HOST:PORT|off] [--out DIR]\n"
          "                       [--port-file FILE] [--resume DIR] [--token-file FILE]\n"
          "                       [--env-plugin PATH] [--insecure] [--log-level LEVEL]\n"
          "                       [--auto-resume] [--check-args]\n"
          "  a --listen address beyond loopback needs --token-file (or --insecure)\n"
          "  --auto-resume: with --out DIR, resume from DIR when it holds a checkpoint, else\n"
          "  start a new run there (a service or pod that restarts with one command line)\n"
          "  --check-args: check the command line and config as a start would, print ok or\n"
          "  the error, and exit 0 or 2 without creating, binding or starting anything\n"
          "  --env-plugin PATH is --set env_plugin=PATH; --resume never loads the plugin its\n"
          "  checkpoint names unless the command line names one\n");
}

/* Whether the run folder dir holds a checkpoint to resume from (the newest or the previous). */
static int has_checkpoint(const char *dir) {
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.ckpt", dir);
  if (access(path, F_OK) == 0) return 1;
  snprintf(path, sizeof path, "%s/checkpoint.prev.ckpt", dir);
  return access(path, F_OK) == 0;
}

/* One option with its value: 0, or 2 after printing what was wrong. */
static int parse_option(learner_opts_t *o, const char *a, const char *v) {
  char err[2048];
  int rc = 0;
  if (!strcmp(a, "--config")) {
    rc = config_load_file(&o->cfg, v, err, sizeof err);
  } else if (!strcmp(a, "--preset")) {
    rc = config_load_preset(&o->cfg, v, err, sizeof err);
  } else if (!strcmp(a, "--set")) {
    rc = config_set_arg(&o->cfg, v, err, sizeof err);
  } else if (!strcmp(a, "--resume")) {
    /* read before the other options (learner_main) */
  } else if (!strcmp(a, "--token-file")) {
    rc = auth_key_from_file(v, o->auth_key, err, sizeof err);
    o->auth = rc == 0;
  } else if (!strcmp(a, "--env-plugin")) {
    rc = config_set(&o->cfg, "env_plugin", v, err, sizeof err);
  } else if (!strcmp(a, "--listen")) {
    o->listen = v;
  } else if (!strcmp(a, "--status")) {
    o->status_addr = strcmp(v, "off") ? v : NULL;
  } else if (!strcmp(a, "--out")) {
    snprintf(o->out_dir, sizeof o->out_dir, "%s", v);
  } else if (!strcmp(a, "--port-file")) {
    snprintf(o->port_file, sizeof o->port_file, "%s", v);
  } else if (!strcmp(a, "--log-level")) {
    int lv = log_parse_level(v);
    if (lv < 0) {
      fprintf(stderr, "rlserve learner: unknown log level '%s'\n", v);
      return 2;
    }
    log_set_level((log_level_t)lv);
  } else {
    fprintf(stderr, "rlserve learner: unknown option '%s'\n", a);
    usage();
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "rlserve learner: %s\n", err);
    return 2;
  }
  return 0;
}

int learner_main(int argc, char **argv) {
  static learner_opts_t o; /* holds a config: keep it off the stack */
  memset(&o, 0, sizeof o);
  config_init(&o.cfg);
  o.listen = "127.0.0.1:7878";
  o.status_addr = "127.0.0.1:0";
  const char *token = NULL; /* the checkpoint to resume from is authenticated with it */
  const char *out = NULL;
  int auto_resume = 0, check = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--auto-resume")) auto_resume = 1;
    if (!strcmp(argv[i], "--check-args")) check = 1;
    if (i + 1 >= argc) continue;
    if (!strcmp(argv[i], "--resume")) o.resume = argv[i + 1];
    if (!strcmp(argv[i], "--token-file")) token = argv[i + 1];
    if (!strcmp(argv[i], "--out")) out = argv[i + 1];
  }
  if (auto_resume && !out) {
    fprintf(stderr, "rlserve learner: --auto-resume needs --out DIR (the run folder to resume)\n");
    return 2;
  }
  if (auto_resume && !o.resume && has_checkpoint(out)) o.resume = out;
  char ck_plugin[CONFIG_STR_MAX] = "";
  if (o.resume) {
    /* The run's own config first; --config/--set on the command line may change it. */
    char err[2048];
    uint8_t tk[AUTH_KEY], ck[CHECKPOINT_KEY];
    if (token && auth_key_from_file(token, tk, err, sizeof err) != 0) {
      fprintf(stderr, "rlserve learner: %s\n", err);
      return 2;
    }
    if (token) checkpoint_key_derive(tk, ck);
    if (learner_load_config(o.resume, token ? ck : NULL, &o.cfg, err, sizeof err) != 0) {
      fprintf(stderr, "rlserve learner: %s\n", err);
      return 2;
    }
    snprintf(o.out_dir, sizeof o.out_dir, "%s", o.resume);
    /* A library path read from a checkpoint is never loaded: the command line names it. */
    snprintf(ck_plugin, sizeof ck_plugin, "%s", o.cfg.env_plugin);
    o.cfg.env_plugin[0] = 0;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      config_print_help(stderr);
      algo_print_help(stderr);
      return 0;
    }
    if (!strcmp(a, "--insecure")) { /* a flag: no value */
      o.insecure = 1;
      continue;
    }
    if (!strcmp(a, "--auto-resume") || !strcmp(a, "--check-args")) continue; /* read above */
    if (!v) {
      fprintf(stderr, "rlserve learner: %s needs a value\n", a);
      return 2;
    }
    i++;
    int rc = parse_option(&o, a, v);
    if (rc != 0) return rc;
  }
  if (ck_plugin[0] && !o.cfg.env_plugin[0]) {
    fprintf(stderr,
            "rlserve learner: %s's checkpoint names the env plugin %s; a library named by a "
            "data file is not loaded: give --env-plugin PATH to load one\n",
            o.resume, ck_plugin);
    return 2;
  }
  if (check) {
    char err[2048];
    if (learner_check(&o, err, sizeof err) != 0) {
      fprintf(stderr, "rlserve learner: %s\n", err);
      return 2;
    }
    printf("ok\n");
    return 0;
  }
  return learner_run(&o);
}
