/* extenv: the spaces of a worker-side env, taken as data from the Hello (extenv.h). Net thread. */
#include "extenv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "learner.h"
#include "log.h"

#define EXTENV_MAX_ACTIONS 4096 /* discrete actions a declared env may have */

const char *extenv_id(const char *env) {
  size_t n = strlen(EXTENV_PREFIX);
  return env && !strncmp(env, EXTENV_PREFIX, n) ? env + n : NULL;
}

/* The spaces a Hello declares, as an env spec without code (no reset/step: nothing plays it on
 * the learner). 0, or -1 with the reason. */
static int spec_from_hello(const Rlserve__Hello *h, const char *id, env_spec_t *s, char *err,
                           size_t errlen) {
  memset(s, 0, sizeof *s);
  s->id = id;
  s->reward_threshold = NAN;
  s->reward_low = -INFINITY;
  s->reward_high = INFINITY;
  if (h->obs_dim < 1 || h->obs_dim > ENV_MAX_OBS_DIM)
    return snprintf(err, errlen, "observation size %u outside 1..%d", h->obs_dim, ENV_MAX_OBS_DIM),
           -1;
  s->obs.kind = ENV_BOX;
  s->obs.dim = (int)h->obs_dim;
  if (h->n_obs_shape != 0) { /* an image (H, W, C), channels last, for conv nets */
    if (h->n_obs_shape != 3)
      return snprintf(err, errlen, "obs_shape has %zu values; (H, W, C) or none expected",
                      h->n_obs_shape),
             -1;
    uint64_t prod = 1;
    for (int i = 0; i < 3; i++) {
      if (h->obs_shape[i] < 1 || h->obs_shape[i] > ENV_MAX_OBS_DIM)
        return snprintf(err, errlen, "obs_shape %ux%ux%u: each in 1..%d", h->obs_shape[0],
                        h->obs_shape[1], h->obs_shape[2], ENV_MAX_OBS_DIM),
               -1;
      prod *= h->obs_shape[i];
      s->obs.shape[i] = (int)h->obs_shape[i];
    }
    if (prod != h->obs_dim)
      return snprintf(err, errlen, "obs_shape %ux%ux%u does not hold the %u observation values",
                      h->obs_shape[0], h->obs_shape[1], h->obs_shape[2], h->obs_dim),
             -1;
  }
  int per_dim = s->obs.dim <= ENV_MAX_DIM;
  for (int i = 0; i < (per_dim ? s->obs.dim : 1); i++) { /* wire_decode_hello: 0, 1 or obs_dim */
    size_t j = h->n_obs_low == 0 ? 0 : h->n_obs_low == 1 ? 0 : (size_t)i;
    s->obs.low[i] = h->n_obs_low ? h->obs_low[j] : -INFINITY;
    s->obs.high[i] = h->n_obs_low ? h->obs_high[j] : INFINITY;
  }
  /* Wider than ENV_MAX_DIM: one pair holds for every element (env.h), the one that covers
   * them all (looser than per-element bounds, never refusing a value the env declares). */
  for (size_t i = 1; !per_dim && i < h->n_obs_low; i++) {
    if (h->obs_low[i] < s->obs.low[0]) s->obs.low[0] = h->obs_low[i];
    if (h->obs_high[i] > s->obs.high[0]) s->obs.high[0] = h->obs_high[i];
  }
  if (h->obs_binary) { /* every element 0 or 1: batches may carry bits, replay keeps bits */
    for (int i = 0; i < (per_dim ? s->obs.dim : 1); i++)
      if (s->obs.low[i] != 0.0f || s->obs.high[i] != 1.0f)
        return snprintf(err, errlen,
                        "binary observations declare bounds [%g, %g] at element %d; [0, 1] "
                        "expected",
                        (double)s->obs.low[i], (double)s->obs.high[i], i),
               -1;
    s->obs.binary = 1;
  }
  if (!h->act_continuous) {
    if (h->act_dim < 1 || h->act_dim > EXTENV_MAX_ACTIONS)
      return snprintf(err, errlen, "number of actions %u outside 1..%d", h->act_dim,
                      EXTENV_MAX_ACTIONS),
             -1;
    s->act.kind = ENV_DISCRETE;
    s->act.n = (int)h->act_dim;
    s->act.dim = 1;
    return 0;
  }
  if (h->act_dim < 1 || h->act_dim > ENV_MAX_DIM)
    return snprintf(err, errlen, "action dims %u outside 1..%d", h->act_dim, ENV_MAX_DIM), -1;
  if (h->n_act_low != h->act_dim || h->n_act_high != h->act_dim)
    return snprintf(err, errlen, "%zu/%zu action bounds for %u action dims", h->n_act_low,
                    h->n_act_high, h->act_dim),
           -1;
  s->act.kind = ENV_BOX;
  s->act.dim = (int)h->act_dim;
  for (uint32_t i = 0; i < h->act_dim; i++) {
    if (!isfinite(h->act_low[i]) || !isfinite(h->act_high[i]) || !(h->act_low[i] < h->act_high[i]))
      return snprintf(err, errlen, "action bounds [%g, %g] of dim %u: finite, low < high expected",
                      (double)h->act_low[i], (double)h->act_high[i], i),
             -1;
    s->act.low[i] = h->act_low[i];
    s->act.high[i] = h->act_high[i];
  }
  return 0;
}

static int same_space(const env_space_t *a, const env_space_t *b) {
  if (a->kind != b->kind || a->n != b->n || a->dim != b->dim || a->binary != b->binary) return 0;
  for (int i = 0; i < 3; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  int nb = a->kind == ENV_DISCRETE ? 0 : a->dim <= ENV_MAX_DIM ? a->dim : 1;
  for (int i = 0; i < nb; i++)
    if (a->low[i] != b->low[i] || a->high[i] != b->high[i]) return 0;
  return 1;
}

static void describe(const env_spec_t *s, char *buf, size_t len) {
  char img[48] = "";
  if (s->obs.shape[0] > 0)
    snprintf(img, sizeof img, " (image %dx%dx%d)", s->obs.shape[0], s->obs.shape[1],
             s->obs.shape[2]);
  int n = snprintf(buf, len, "obs %d in [%g, %g]%s%s%s, ", s->obs.dim, (double)s->obs.low[0],
                   (double)s->obs.high[0], s->obs.dim > 1 ? "..." : "",
                   s->obs.binary ? " (binary)" : "", img);
  if (n < 0 || (size_t)n >= len) return;
  if (s->act.kind == ENV_DISCRETE)
    snprintf(buf + n, len - (size_t)n, "actions %d", s->act.n);
  else
    snprintf(buf + n, len - (size_t)n, "continuous actions %d in [%g, %g]%s", s->act.dim,
             (double)s->act.low[0], (double)s->act.high[0], s->act.dim > 1 ? "..." : "");
}

int extenv_hello(learner_t *L, const Rlserve__Hello *h, char *err, size_t errlen) {
  const char *id = L->run.declared_id;
  if (L->net.build_failed)
    return snprintf(err, errlen, "the run could not be built from the declared env; the learner is "
                                 "stopping"),
           1;
  if (!h->env_id || !h->env_id[0])
    return snprintf(err, errlen,
                    "this run's env %s lives in the workers (env = " EXTENV_PREFIX
                    "%s): only a worker that brings it can join (python3 -m rlserve_worker "
                    "--env module:factory); this worker declares no env",
                    id, id),
           1;
  if (strcmp(h->env_id, id) != 0)
    return snprintf(err, errlen,
                    "env mismatch (env id): this learner runs %s (env = " EXTENV_PREFIX
                    "%s); the worker declares %.64s",
                    id, id, h->env_id),
           1;
  env_spec_t s;
  char why[256];
  if (spec_from_hello(h, id, &s, why, sizeof why) != 0)
    return snprintf(err, errlen, "env %s: the declared spaces are refused: %s", id, why), 1;
  if (!L->run.spec) { /* the first declaration builds the run */
    L->run.declared = s;
    L->run.declared.id = L->run.declared_id;
    L->run.spec = &L->run.declared;
    char d[160];
    describe(&L->run.declared, d, sizeof d);
    LOG_I("learner", "env %s declared by the first worker: %s; building the run", id, d);
    if (learner_setup_declared(L, err, errlen) != 0) {
      L->run.spec = NULL; /* not built: nothing is saved at the end (learner_built) */
      return -1;
    }
    return 0;
  }
  if (same_space(&s.obs, &L->run.spec->obs) && same_space(&s.act, &L->run.spec->act)) return 0;
  char have[160], got[160];
  describe(L->run.spec, have, sizeof have);
  describe(&s, got, sizeof got);
  snprintf(err, errlen,
           "env mismatch (%s): this learner runs %s (%s), declared by its first worker; the worker "
           "declares %s",
           !same_space(&s.obs, &L->run.spec->obs) ? "observation space" : "action space", id, have,
           got);
  return 1;
}
