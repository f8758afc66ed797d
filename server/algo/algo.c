/* algo: the table of algorithms (algo.h). Adding an algorithm: one file that defines its
 * algo_t row, and one line here. */
#include "algo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const algo_t algo_dqn, algo_ddpg, algo_td3;
extern const algo_t algo_gmc, algo_td0, algo_sarsa, algo_qlearning;
extern const algo_t algo_reinforce, algo_reinforce_baseline, algo_actor_critic;

static const algo_t *const table[] = {
    &algo_dqn,          &algo_ddpg,      &algo_td3,
    &algo_gmc,          &algo_td0,       &algo_sarsa,
    &algo_qlearning,    &algo_reinforce, &algo_reinforce_baseline,
    &algo_actor_critic,
};
#define N_ALGOS (sizeof table / sizeof table[0])

size_t algo_count(void) { return N_ALGOS; }
const algo_t *algo_at(size_t i) { return i < N_ALGOS ? table[i] : NULL; }

const algo_t *algo_find(const char *name) {
  for (size_t i = 0; name && i < N_ALGOS; i++)
    if (strcmp(table[i]->name, name) == 0) return table[i];
  return NULL;
}

void algo_names(char *buf, size_t len, int mode) {
  size_t used = 0;
  if (len) buf[0] = 0;
  for (size_t i = 0; i < N_ALGOS; i++) {
    if (mode >= 0 && (int)table[i]->mode != mode) continue;
    int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", table[i]->name);
    if (n < 0 || (size_t)n >= len - used) return;
    used += (size_t)n;
  }
}

int algo_validate_config(const config_t *c, const env_spec_t *spec, const algo_t **out, char *err,
                         size_t errlen) {
  if (config_validate(c, err, errlen) != 0) return -1;
  const algo_t *a = algo_find(c->algo);
  if (!a) {
    char names[256];
    algo_names(names, sizeof names, -1);
    snprintf(err, errlen, "config: algo = '%s'; expected one of %s", c->algo, names);
    return -1;
  }
  if (out) *out = a;
  if (!a->per && (strcmp(c->replay, "uniform") || c->n_step != 1)) {
    snprintf(err, errlen,
             "config: algo %s supports neither replay = prioritized nor n_step > 1 (replay = "
             "'%s', n_step = %lld)",
             a->name, c->replay, (long long)c->n_step);
    return -1;
  }
  if (c->actor_priorities && !a->priorities) {
    snprintf(err, errlen, "config: algo %s cannot compute actor_priorities on the workers",
             a->name);
    return -1;
  }
  if (!spec) spec = env_find(c->env);
  if (!spec) return 0; /* an env from a plugin not loaded yet: checked when it is */
  if (a->mode == ALGO_ACTOR_LEARNER && a->actions != spec->act.kind) {
    snprintf(err, errlen, "config: algo %s needs %s actions; %s has %s ones", a->name,
             a->actions == ENV_BOX ? "continuous" : "discrete", spec->id,
             spec->act.kind == ENV_BOX ? "continuous" : "discrete");
    return -1;
  }
  return a->validate ? a->validate(a, c, spec, err, errlen) : 0;
}

int algo_explorer_init(algo_explorer_t *x, const config_t *cfg, const algo_policy_t *p, int k,
                       rng_t *rng) {
  memset(x, 0, sizeof *x);
  x->cfg = cfg;
  x->k = k;
  x->rng = rng;
  x->ou = calloc((size_t)k * (size_t)p->act_dim, sizeof(float));
  return x->ou ? 0 : -1;
}

void algo_explorer_free(algo_explorer_t *x) {
  free(x->ou);
  x->ou = NULL;
}

void algo_print_help(FILE *f) {
  fprintf(f, "\nalgorithms (algo = ...):\n");
  for (size_t i = 0; i < N_ALGOS; i++)
    fprintf(f, "  %-20s %-16s %s\n", table[i]->name,
            table[i]->mode == ALGO_ACTOR_LEARNER ? "learner+workers" : "in-process",
            table[i]->summary);
}
