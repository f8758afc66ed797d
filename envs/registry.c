/* registry: env ids to specs (built-in, then those registered at start-up by plugins), and the
 * env_t wrapper that adds the seeded stream and the TimeLimit count (Gymnasium's TimeLimit:
 * truncated when t reaches max_episode_steps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "plugin.h"

extern const env_spec_t env_shortcorridor_v0; /* envs/corridor.c */
static const env_spec_t *const registry[] = {
    &env_cartpole_v1, &env_mountaincar_v0, &env_mountaincar_continuous_v0,
    &env_pendulum_v1, &env_acrobot_v1,     &env_randomwalk1000_v0,
    &env_shortcorridor_v0,
    &env_minatar_asterix_v1, &env_minatar_breakout_v1, &env_minatar_freeway_v1,
    &env_minatar_seaquest_v1, &env_minatar_spaceinvaders_v1,
    &env_minatar_asterix_v0, &env_minatar_breakout_v0, &env_minatar_freeway_v0,
    &env_minatar_seaquest_v0, &env_minatar_spaceinvaders_v0,
};
#define N_ENVS (sizeof registry / sizeof registry[0])

/* Built-in ids, then the ids of specs added by env_register (plugins), NULL-terminated. */
static const char *ids[N_ENVS + ENV_PLUGIN_MAX + 1] = {
    "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0",
    "Pendulum-v1", "Acrobot-v1",     "RandomWalk1000-v0",
    "ShortCorridor-v0",
    "MinAtar/Asterix-v1", "MinAtar/Breakout-v1", "MinAtar/Freeway-v1",
    "MinAtar/Seaquest-v1", "MinAtar/SpaceInvaders-v1",
    "MinAtar/Asterix-v0", "MinAtar/Breakout-v0", "MinAtar/Freeway-v0",
    "MinAtar/Seaquest-v0", "MinAtar/SpaceInvaders-v0",
    NULL,
};

/* Specs registered at run time (plugin.h): written at start-up only, read-only afterwards. */
static const env_spec_t *dynamic[ENV_PLUGIN_MAX];
static size_t n_dynamic;

/* The length of the id without its options (the part from ':' on). */
static size_t base_len(const char *id) { return strcspn(id, ":"); }

static int same_id(const char *spec_id, const char *id, size_t n) {
  return strncmp(spec_id, id, n) == 0 && spec_id[n] == '\0';
}

const env_spec_t *env_find(const char *id) {
  if (!id) return NULL;
  size_t n = base_len(id);
  for (size_t i = 0; i < N_ENVS; i++)
    if (same_id(registry[i]->id, id, n)) return registry[i];
  for (size_t i = 0; i < n_dynamic; i++)
    if (same_id(dynamic[i]->id, id, n)) return dynamic[i];
  return NULL;
}

int env_register(const env_spec_t *spec, char *err, size_t errlen) {
  if (!spec || !spec->id || !spec->id[0]) {
    if (err && errlen) snprintf(err, errlen, "env_register: spec without an id");
    return -1;
  }
  if (env_find(spec->id)) {
    if (err && errlen) snprintf(err, errlen, "env id '%s' is already registered", spec->id);
    return -1;
  }
  if (n_dynamic >= ENV_PLUGIN_MAX) {
    if (err && errlen)
      snprintf(err, errlen, "cannot register env '%s': registry full (%d plugin envs)", spec->id,
               ENV_PLUGIN_MAX);
    return -1;
  }
  dynamic[n_dynamic] = spec;
  ids[N_ENVS + n_dynamic] = spec->id;
  n_dynamic++;
  ids[N_ENVS + n_dynamic] = NULL;
  return 0;
}

const char *const *env_ids(void) { return ids; }

int env_init(env_t *e, const char *id, char *err, size_t errlen) {
  memset(e, 0, sizeof *e);
  const env_spec_t *s = env_find(id);
  if (!s) {
    if (err && errlen) {
      int n = snprintf(err, errlen, "unknown env id '%s' (known:", id ? id : "(null)");
      for (size_t i = 0; ids[i] && n >= 0 && (size_t)n < errlen; i++)
        n += snprintf(err + n, errlen - (size_t)n, " %s", ids[i]);
      if (n >= 0 && (size_t)n < errlen) snprintf(err + n, errlen - (size_t)n, ")");
    }
    return -1;
  }
  e->state = calloc(1, s->state_size);
  if (!e->state) {
    if (err && errlen) snprintf(err, errlen, "%s: out of memory (%zu bytes)", id, s->state_size);
    return -1;
  }
  const char *opts = id[base_len(id)] == ':' ? id + base_len(id) + 1 : "";
  if (s->configure ? s->configure(e->state, opts, err, errlen) != 0 : opts[0] != '\0') {
    if (!s->configure && err && errlen)
      snprintf(err, errlen, "env '%s' takes no options (got '%s')", s->id, opts);
    free(e->state);
    e->state = NULL;
    return -1;
  }
  e->spec = s;
  rng_seed(&e->rng, 0);
  return 0;
}

int env_check_id(const char *id, char *err, size_t errlen) {
  env_t e;
  if (env_init(&e, id, err, errlen) != 0) return -1;
  env_free(&e);
  return 0;
}

void env_free(env_t *e) {
  free(e->state);
  e->state = NULL;
  e->spec = NULL;
}

void env_reset(env_t *e, uint64_t seed, float *obs) {
  if (seed != ENV_SEED_NONE) {
    rng_seed(&e->rng, seed);
    if (e->spec->seed) e->spec->seed(e->state, seed);
  }
  e->spec->reset(e->state, &e->rng, obs);
  e->t = 0;
}

void env_step(env_t *e, const float *action, float *obs, float *reward, int *terminated,
              int *truncated) {
  e->spec->step(e->state, action, obs, reward, terminated);
  e->t++;
  *truncated = e->spec->max_episode_steps > 0 && e->t >= e->spec->max_episode_steps;
}

void env_set_state(env_t *e, const double *s, float *obs) {
  e->spec->set_state(e->state, s, obs);
  e->t = 0;
}

int env_action_valid(const env_spec_t *s, const float *action) {
  if (s->act.kind == ENV_DISCRETE) {
    float a = action[0];
    if (!(a >= 0.0f && a < (float)s->act.n)) return -1;
    return a == floorf(a) ? 0 : -1;
  }
  for (int i = 0; i < s->act.dim; i++)
    if (!(action[i] >= s->act.low[i] && action[i] <= s->act.high[i])) return -1;
  return 0;
}

void env_action_clamp(const env_spec_t *s, float *action) {
  if (s->act.kind == ENV_DISCRETE) {
    action[0] = (float)env_action_index(action, s->act.n);
    return;
  }
  for (int i = 0; i < s->act.dim; i++) {
    float a = action[i];
    if (isnan(a)) a = 0.5f * (s->act.low[i] + s->act.high[i]); /* bounds are finite */
    if (a < s->act.low[i]) a = s->act.low[i];
    if (a > s->act.high[i]) a = s->act.high[i];
    action[i] = a;
  }
}
