/* eval_cmd: `rlserve eval --checkpoint FILE [--episodes N] [--seed S] [--json]`. */
#include "eval_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "eval.h"
#include "plugin.h"
#include "policy.h"

int eval_main(int argc, char **argv) {
  const char *path = NULL;
  long episodes = 100;
  long long seed = -1;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      printf("usage: rlserve eval --checkpoint FILE [--episodes N] [--seed S] [--json]\n");
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rlserve eval: %s needs a value\n", a);
      return 2;
    }
    i++;
    char *end;
    if (!strcmp(a, "--checkpoint"))
      path = v;
    else if (!strcmp(a, "--episodes")) {
      episodes = strtol(v, &end, 10);
      if (*end || episodes < 1 || episodes > 1000000) {
        fprintf(stderr, "rlserve eval: --episodes %s is not in 1..1000000\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--seed")) {
      seed = strtoll(v, &end, 10);
      if (*end || seed < 0) {
        fprintf(stderr, "rlserve eval: --seed %s is not a non-negative integer\n", v);
        return 2;
      }
    } else {
      fprintf(stderr, "rlserve eval: unknown option '%s'\n", a);
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, "rlserve eval: --checkpoint FILE is required\n");
    return 2;
  }
  checkpoint_t ck;
  char err[1024];
  if (checkpoint_read(path, &ck, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    return 2;
  }
  int rc = 2;
  const checkpoint_section_t *cs = checkpoint_find(&ck, "config");
  const checkpoint_section_t *os = checkpoint_find(&ck, "online");
  config_t cfg;
  config_init(&cfg);
  const env_spec_t *spec = NULL;
  char *text = NULL;
  if (!cs || !os) {
    fprintf(stderr, "rlserve eval: %s has no %s section\n", path, cs ? "online" : "config");
    goto out;
  }
  text = malloc(cs->len + 1);
  memcpy(text, cs->data, cs->len);
  text[cs->len] = 0;
  if (config_load_text(&cfg, text, path, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    goto out;
  }
  if (cfg.env_plugin[0] && env_plugin_load(cfg.env_plugin, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    goto out;
  }
  spec = env_find(cfg.env);
  const algo_t *algo = algo_find(cfg.algo);
  algo_policy_t pol;
  if (!spec || !algo || algo->mode != ALGO_ACTOR_LEARNER || algo->actions != spec->act.kind ||
      algo->policy(&cfg, spec, &pol, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve eval: %s: cannot build a policy for env '%s'\n", path, cfg.env);
    goto out;
  }
  /* policy.ckpt holds exactly what acts; checkpoint.ckpt's online buffer starts with it (a
   * DDPG actor is followed by its critics). */
  size_t need = pol.layout.n_params * sizeof(float);
  if (os->len != need && !(!pol.weights_exact && os->len > need)) {
    fprintf(stderr,
            "rlserve eval: %s: online weights have %llu bytes, the config's network "
            "needs %zu\n",
            path, (unsigned long long)os->len, need);
    goto out;
  }
  float *params = malloc(need);
  memcpy(params, os->data, need);
  eval_result_t r;
  uint64_t s = seed >= 0 ? (uint64_t)seed : (uint64_t)cfg.eval_seed;
  int erc = eval_policy(cfg.env, algo, &pol, params, (int)episodes, s, &r, err, sizeof err);
  if (erc != 0) {
    fprintf(stderr, "rlserve eval: %s\n", err);
    free(params);
    goto out;
  }
  free(params);
  double threshold =
      cfg.solve_threshold == cfg.solve_threshold ? cfg.solve_threshold : spec->reward_threshold;
  if (json)
    printf(
        "{\"env\":\"%s\",\"episodes\":%d,\"seed\":%llu,\"mean\":%.6f,\"std\":%.6f,"
        "\"min\":%.6f,\"max\":%.6f,\"threshold\":%.6g,\"solved\":%s}\n",
        cfg.env, r.episodes, (unsigned long long)s, r.mean, r.std, r.min, r.max, threshold,
        r.mean >= threshold ? "true" : "false");
  else
    printf(
        "%s: greedy return %.2f +- %.2f over %d episodes (min %.1f, max %.1f; seeds %llu..) "
        "-> %s (threshold %.1f)\n",
        cfg.env, r.mean, r.std, r.episodes, r.min, r.max, (unsigned long long)s,
        r.mean >= threshold ? "solved" : "not solved", threshold);
  rc = 0;
out:
  free(text);
  checkpoint_free(&ck);
  return rc;
}
