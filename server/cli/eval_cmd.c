/* eval_cmd: `rlserve eval --checkpoint FILE [--episodes N] [--seed S] [--json]
 * [--env-plugin PATH] [--token-file FILE]`. By default the episodes reset with fresh seeds no
 * evaluation of the run used (solve.h), so the command confirms a run's number instead of
 * repeating it; --seed S reproduces a given evaluation. */
#include "eval_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "eval.h"
#include "export_cmd.h"
#include "extenv.h"
#include "plugin.h"
#include "policy.h"
#include "solve.h"

/* The command line. */
typedef struct {
  const char *path;
  long episodes;
  long long seed; /* -1: fresh seeds, solve_fresh_seed(the config's eval_seed) */
  int json;
  const char *env_plugin; /* --env-plugin: the only library this command loads */
  int keyed;              /* --token-file: the checkpoint must be authenticated with it */
  const char *token_file;
  uint8_t key[CHECKPOINT_KEY];
} eval_args_t;

/* What the checkpoint describes (export_cmd.h: policy_load_checkpoint, shared with rlserve
 * export): its config, env, algorithm, policy and online weights. */
typedef export_policy_t eval_setup_t;

/* One option that takes a value; 0, or 2 (the exit status) after a message. */
static int parse_value(eval_args_t *a, const char *opt, const char *v) {
  char *end;
  if (!strcmp(opt, "--checkpoint"))
    a->path = v;
  else if (!strcmp(opt, "--episodes")) {
    a->episodes = strtol(v, &end, 10);
    if (*end || a->episodes < 1 || a->episodes > 1000000) {
      fprintf(stderr, "rlserve eval: --episodes %s is not in 1..1000000\n", v);
      return 2;
    }
  } else if (!strcmp(opt, "--env-plugin")) {
    a->env_plugin = v;
  } else if (!strcmp(opt, "--token-file")) {
    uint8_t tk[AUTH_KEY];
    char err[1024];
    if (auth_key_from_file(v, tk, err, sizeof err) != 0) {
      fprintf(stderr, "rlserve eval: %s\n", err);
      return 2;
    }
    checkpoint_key_derive(tk, a->key);
    a->keyed = 1;
    a->token_file = v;
  } else if (!strcmp(opt, "--seed")) {
    a->seed = strtoll(v, &end, 10);
    if (*end || a->seed < 0) {
      fprintf(stderr, "rlserve eval: --seed %s is not a non-negative integer\n", v);
      return 2;
    }
  } else {
    fprintf(stderr, "rlserve eval: unknown option '%s'\n", opt);
    return 2;
  }
  return 0;
}

/* -1 to go on, or the exit status: 0 after --help, 2 after a usage error. */
static int parse_args(int argc, char **argv, eval_args_t *a) {
  memset(a, 0, sizeof *a);
  a->episodes = 100;
  a->seed = -1;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(opt, "--json")) {
      a->json = 1;
      continue;
    }
    if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
      printf(
          "usage: rlserve eval --checkpoint FILE [--episodes N] [--seed S] [--json]\n"
          "                    [--env-plugin PATH] [--token-file FILE]\n"
          "  a checkpoint's env plugin is loaded only when --env-plugin names the library;\n"
          "  a run with a token authenticates its checkpoints with it: give the run's token\n"
          "  (a plain checkpoint is then refused; without it, an authenticated one is)\n"
          "Greedy evaluation of a saved policy over N episodes (default 100); episode i resets\n"
          "with seed S + i. Without --seed, S = eval_seed + 2^40 (eval_seed from the\n"
          "checkpoint's config): fresh seeds, disjoint from every evaluation and confirmation\n"
          "of the run, which take theirs from eval_seed + [0, 2^40). To reproduce a run's\n"
          "evaluation, pass its first seed (summary.json: eval_seed_first, confirm_seed_first).\n"
          "A run with env = worker:ID has its env in Python: this command exits 2 and prints the\n"
          "python3 -m rlserve_worker.evaluate command that plays the episodes there.\n");
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rlserve eval: %s needs a value\n", opt);
      return 2;
    }
    i++;
    if (parse_value(a, opt, v) != 0) return 2;
  }
  if (!a->path) {
    fprintf(stderr, "rlserve eval: --checkpoint FILE is required\n");
    return 2;
  }
  return -1;
}

/* env = worker:ID: the env is the workers' Python code, which this command cannot step. Says
 * so and prints the command that plays the same greedy episodes in Python (1: it is such a
 * checkpoint, the caller exits 2; 0: not one). */
static int worker_env_refused(const eval_args_t *a, const config_t *cfg) {
  const char *id = extenv_id(cfg->env);
  if (!id) return 0;
  uint64_t seed = a->seed >= 0 ? (uint64_t)a->seed : solve_fresh_seed((uint64_t)cfg->eval_seed);
  fprintf(
      stderr,
      "rlserve eval: %s: the run's env %s lives in the workers (env = %s): it is Python code "
      "this command cannot step. Evaluate it where the env is, with the same greedy policy:\n"
      "  python3 -m rlserve_worker.evaluate --checkpoint %s%s%s --env MODULE:FACTORY "
      "--episodes %ld --seed %llu\n"
      "(MODULE:FACTORY as given to python3 -m rlserve_worker --env; PYTHONPATH=<build>/python)\n",
      a->path, id, cfg->env, a->path, a->token_file ? " --token-file " : "",
      a->token_file ? a->token_file : "", a->episodes, (unsigned long long)seed);
  return 1;
}

static void print_result(const eval_args_t *a, const eval_setup_t *s, const eval_result_t *r,
                         uint64_t seed) {
  const char *origin = a->seed >= 0 ? "--seed" : "fresh";
  const config_t *cfg = &s->cfg;
  double threshold = cfg->solve_threshold == cfg->solve_threshold ? cfg->solve_threshold
                                                                  : s->spec->reward_threshold;
  if (a->json)
    printf(
        "{\"env\":\"%s\",\"episodes\":%d,\"seed\":%llu,\"seeds\":\"%s\",\"mean\":%.17g,"
        "\"std\":%.17g,\"min\":%.6f,\"max\":%.6f,\"threshold\":%.6g,\"solved\":%s}\n",
        cfg->env, r->episodes, (unsigned long long)seed, origin, r->mean, r->std, r->min, r->max,
        threshold, r->mean >= threshold ? "true" : "false");
  else
    printf(
        "%s: greedy return %.2f +- %.2f over %d episodes (min %.1f, max %.1f; seeds %llu..%llu, "
        "%s) -> %s (threshold %.1f)\n",
        cfg->env, r->mean, r->std, r->episodes, r->min, r->max, (unsigned long long)seed,
        (unsigned long long)(seed + (uint64_t)r->episodes - 1),
        a->seed >= 0 ? "chosen with --seed" : "fresh: eval_seed + 2^40, never used by the run",
        r->mean >= threshold ? "solved" : "not solved", threshold);
}

/* Runs the greedy evaluation and prints it. 0, or -1 after a message. */
static int evaluate(const eval_args_t *a, const eval_setup_t *s) {
  char err[1024];
  eval_result_t r;
  uint64_t seed = a->seed >= 0 ? (uint64_t)a->seed : solve_fresh_seed((uint64_t)s->cfg.eval_seed);
  int erc = eval_policy(s->cfg.env, s->algo, &s->pol, s->params, (int)a->episodes, seed, NULL, &r,
                        err, sizeof err);
  if (erc != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    return -1;
  }
  print_result(a, s, &r, seed);
  return 0;
}

int eval_main(int argc, char **argv) {
  eval_args_t a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0) return rc;
  checkpoint_t ck;
  char err[1024];
  if (checkpoint_read_keyed(a.path, &ck, a.keyed ? a.key : NULL, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    return 2;
  }
  eval_setup_t s;
  rc = 2;
  /* The plugin the command line names is loaded here; a path in the checkpoint never is. */
  if (a.env_plugin && env_plugin_load(a.env_plugin, err, sizeof err) != 0)
    fprintf(stderr, "rlserve eval: %s\n", err);
  else if (policy_load_checkpoint(&ck, a.path, a.env_plugin, &s, err, sizeof err) != 0)
    fprintf(stderr, "rlserve eval: %s\n", err);
  else {
    if (!worker_env_refused(&a, &s.cfg) && evaluate(&a, &s) == 0) rc = 0;
    export_policy_free(&s);
  }
  checkpoint_free(&ck);
  return rc;
}
