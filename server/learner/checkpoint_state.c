/* The learner's resumable state on disk (checkpoint.ckpt) and back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "guard.h"
#include "learner.h"
#include "log.h"
#include "spaces_ckpt.h"

#define N_COUNTERS 4 /* env_steps, updates, episodes, weights version */
/* The "evalseeds" section: eval_seed_cursor, n_evals, n_confirms (learner.h). A section of its
 * own, so checkpoints written before it existed still load (load_eval_seeds). */
#define N_EVAL_SEEDS 3

/* The algorithm's float tensors and step counters (updates first), from its row. */
static void state_view(learner_t *L, algo_state_view_t *v) {
  L->run.algo->state_view(L->tr.algo_state, v);
}

int learner_save_state(learner_t *L) {
  if (!L->run.out_dir[0]) return 0;
  algo_state_view_t v;
  state_view(L, &v);
  char *cfg_text = config_to_text(&L->run.cfg);
  pthread_mutex_lock(&L->sh.mu);
  uint64_t counters[N_COUNTERS] = {L->sh.env_steps, (uint64_t)*v.steps[0], L->sh.episodes,
                                   snapshot_version(&L->snap)};
  uint64_t evseeds[N_EVAL_SEEDS] = {L->sh.eval_seed_cursor, L->sh.n_evals, L->sh.n_confirms};
  pthread_mutex_unlock(&L->sh.mu);
  int64_t steps[ALGO_MAX_STEPS];
  for (int i = 0; i < v.n_steps; i++) steps[i] = *v.steps[i];
  char layout[512];
  nn_layout_describe(&L->run.pol.layout, layout, sizeof layout);
  checkpoint_section_t s[7 + ALGO_MAX_TENSORS] = {
      {"config", cfg_text, cfg_text ? strlen(cfg_text) : 0},
      {"counters", counters, sizeof counters},
      {"steps", steps, (uint64_t)v.n_steps * sizeof(int64_t)},
      {"rng", &L->tr.rng, sizeof L->tr.rng},
      {"evalseeds", evseeds, sizeof evseeds},
      {"layout", layout, strlen(layout)},
  };
  int ns = 6;
  for (int i = 0; i < v.n; i++, ns++) {
    snprintf(s[ns].name, sizeof s[ns].name, "%s", v.name[i]);
    s[ns].data = v.ptr[i];
    s[ns].len = v.len[i] * sizeof(float);
  }
  /* env = worker:ID: the spaces the first worker declared (export rebuilds the policy from
   * them; a resume refuses workers of other spaces). */
  uint8_t spaces[SPACES_CKPT_MAX_BYTES];
  size_t sl = L->run.worker_env && L->run.spec ? spaces_ckpt_encode(L->run.spec, spaces) : 0;
  if (sl) s[ns++] = (checkpoint_section_t){SPACES_CKPT_SECTION, spaces, sl};
  char path[1100], prev[1100], err[1300];
  snprintf(path, sizeof path, "%s/checkpoint.ckpt", L->run.out_dir);
  snprintf(prev, sizeof prev, "%s/checkpoint.prev.ckpt", L->run.out_dir);
  /* Keep the last good one: if the new write is ever damaged, resume falls back to it. */
  rename(path, prev);
  int rc =
      checkpoint_write_keyed(path, s, ns, L->run.auth ? L->run.ckpt_key : NULL, err, sizeof err);
  free(cfg_text);
  if (rc != 0) { /* kept for summary.json and the exit status: the run is not resumable */
    LOG_E("learner", "%s", err);
    pthread_mutex_lock(&L->sh.mu);
    snprintf(L->sh.checkpoint_error, sizeof L->sh.checkpoint_error, "%s", err);
    L->sh.checkpoint_failures++;
    pthread_mutex_unlock(&L->sh.mu);
    return -1;
  }
  LOG_I("learner", "checkpoint at %llu env steps, %llu updates: %s",
        (unsigned long long)counters[0], (unsigned long long)counters[1], path);
  pthread_mutex_lock(&L->sh.mu);
  snprintf(L->sh.last_checkpoint, sizeof L->sh.last_checkpoint, "%s", path);
  pthread_mutex_unlock(&L->sh.mu);
  return learner_save_replay(L);
}

static int section_text(const checkpoint_t *ck, const char *name, char **out) {
  const checkpoint_section_t *s = checkpoint_find(ck, name);
  if (!s) return -1;
  *out = malloc(s->len + 1);
  if (!*out) return -1;
  memcpy(*out, s->data, s->len);
  (*out)[s->len] = 0;
  return 0;
}

/* Reads dir/checkpoint.ckpt or, when that is bad, dir/checkpoint.prev.ckpt. */
static int read_newest(const char *dir, const uint8_t *key, checkpoint_t *ck, char *used,
                       size_t used_len, char *err, size_t errlen) {
  char path[1100], e1[600];
  snprintf(path, sizeof path, "%s/checkpoint.ckpt", dir);
  if (checkpoint_read_keyed(path, ck, key, e1, sizeof e1) == 0) {
    snprintf(used, used_len, "%s", path);
    return 0;
  }
  char prev[1100], e2[600];
  snprintf(prev, sizeof prev, "%s/checkpoint.prev.ckpt", dir);
  if (checkpoint_read_keyed(prev, ck, key, e2, sizeof e2) == 0) {
    LOG_W("learner", "refusing %s (%s); resuming from the previous checkpoint %s", path, e1, prev);
    snprintf(used, used_len, "%s", prev);
    return 0;
  }
  snprintf(err, errlen, "cannot resume from %s: %s; and the previous one: %s", dir, e1, e2);
  return -1;
}

int learner_load_config(const char *dir, const uint8_t *ckpt_key, config_t *cfg, char *err,
                        size_t errlen) {
  checkpoint_t ck;
  char used[1100];
  if (read_newest(dir, ckpt_key, &ck, used, sizeof used, err, errlen) != 0) return -1;
  char *text = NULL;
  int rc = section_text(&ck, "config", &text);
  if (rc != 0)
    snprintf(err, errlen, "%s has no config section", used);
  else
    rc = config_load_text(cfg, text, used, err, errlen);
  free(text);
  checkpoint_free(&ck);
  return rc;
}

/* The evaluation seed cursor and counts. A checkpoint from before fresh seeds has no such
 * section: every evaluation of that run reset with eval_seed + [0, eval_episodes), so the
 * cursor starts after that range. 0, or -1 with a message (a section of the wrong size). */
static int load_eval_seeds(learner_t *L, const checkpoint_t *ck, const char *used, char *err,
                           size_t errlen) {
  const checkpoint_section_t *e = checkpoint_find(ck, "evalseeds");
  if (!e) {
    L->sh.eval_seed_cursor = (uint64_t)L->run.cfg.eval_episodes;
    LOG_I("learner",
          "%s has no evaluation seed cursor (an older checkpoint): fresh seeds from %llu", used,
          (unsigned long long)(L->run.cfg.eval_seed + L->sh.eval_seed_cursor));
    return 0;
  }
  uint64_t evseeds[N_EVAL_SEEDS];
  if (e->len != sizeof evseeds) {
    snprintf(err, errlen, "%s: section evalseeds has %llu bytes, expected %zu", used,
             (unsigned long long)e->len, sizeof evseeds);
    return -1;
  }
  memcpy(evseeds, e->data, sizeof evseeds);
  L->sh.eval_seed_cursor = evseeds[0];
  L->sh.n_evals = evseeds[1];
  L->sh.n_confirms = evseeds[2];
  return 0;
}

/* The "layout" section (nn_layout_describe of the acting network) against this run's: a
 * config that builds another network from the same number of floats (another activation,
 * layers in another order) is refused by name. Checkpoints from before the section load. */
static int check_layout(const learner_t *L, const checkpoint_t *ck, const char *used, char *err,
                        size_t errlen) {
  const checkpoint_section_t *s = checkpoint_find(ck, "layout");
  if (!s) return 0;
  char have[512];
  nn_layout_describe(&L->run.pol.layout, have, sizeof have);
  if (s->len == strlen(have) && memcmp(s->data, have, s->len) == 0) return 0;
  snprintf(err, errlen,
           "%s: the checkpoint's network is '%.*s', this run's config (net = '%s', "
           "hidden = '%s', dueling = %d) builds '%s'",
           used, (int)(s->len < 400 ? s->len : 400), (const char *)s->data, L->run.cfg.net,
           L->run.cfg.hidden, L->run.cfg.dueling, have);
  return -1;
}

/* env = worker:ID: the "spaces" section (spaces_ckpt.h) against the spaces this resumed run was
 * built from (its first worker's declaration). A damaged section is refused by name; a
 * checkpoint from before the section loads (the layout check still holds). */
static int check_spaces(const learner_t *L, const checkpoint_t *ck, const char *used, char *err,
                        size_t errlen) {
  const checkpoint_section_t *s = checkpoint_find(ck, SPACES_CKPT_SECTION);
  if (!L->run.worker_env || !s) return 0;
  spaces_ckpt_t sp;
  char why[300];
  if (spaces_ckpt_decode(s->data, s->len, &sp, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: section %s refused: %s", used, SPACES_CKPT_SECTION, why);
    return -1;
  }
  if (strcmp(sp.id, L->run.declared_id) != 0 || !spaces_ckpt_same(&sp.spec, L->run.spec)) {
    snprintf(err, errlen,
             "%s: the checkpoint's env %s was declared with other spaces (obs %d, %s %d) than "
             "this run's first worker declared for %s (obs %d, %s %d)",
             used, sp.id, sp.spec.obs.dim, sp.spec.act.kind == ENV_BOX ? "action dims" : "actions",
             sp.spec.act.kind == ENV_BOX ? sp.spec.act.dim : sp.spec.act.n, L->run.declared_id,
             L->run.spec->obs.dim, L->run.spec->act.kind == ENV_BOX ? "action dims" : "actions",
             L->run.spec->act.kind == ENV_BOX ? L->run.spec->act.dim : L->run.spec->act.n);
    return -1;
  }
  return 0;
}

int learner_load_state(learner_t *L, const char *dir, char *err, size_t errlen) {
  checkpoint_t ck;
  char used[1100];
  if (read_newest(dir, L->run.auth ? L->run.ckpt_key : NULL, &ck, used, sizeof used, err, errlen) !=
      0)
    return -1;
  algo_state_view_t v;
  state_view(L, &v);
  int rc = check_layout(L, &ck, used, err, errlen);
  if (rc == 0) rc = check_spaces(L, &ck, used, err, errlen);
  for (int i = 0; i < v.n && rc == 0; i++) {
    const checkpoint_section_t *s = checkpoint_find(&ck, v.name[i]);
    size_t nb = v.len[i] * sizeof(float);
    if (!s || s->len != nb) {
      snprintf(err, errlen, "%s: section %s has %llu bytes, this run's %s network needs %zu", used,
               v.name[i], s ? (unsigned long long)s->len : 0ULL, L->run.cfg.algo, nb);
      rc = -1;
    } else {
      memcpy(v.ptr[i], s->data, nb);
      ssize_t bad = guard_find_nonfinite(v.ptr[i], v.len[i]);
      if (bad >= 0) {
        snprintf(err, errlen, "%s: section %s holds %g at %zd: training never saves that", used,
                 v.name[i], (double)v.ptr[i][bad], bad);
        rc = -1;
      }
    }
  }
  const checkpoint_section_t *c = checkpoint_find(&ck, "counters");
  const checkpoint_section_t *t = checkpoint_find(&ck, "steps");
  const checkpoint_section_t *r = checkpoint_find(&ck, "rng");
  if (rc == 0 &&
      (!c || c->len != N_COUNTERS * sizeof(uint64_t) || !t ||
       t->len != (uint64_t)v.n_steps * sizeof(int64_t) || !r || r->len != sizeof(rng_t))) {
    snprintf(err, errlen, "%s: counters, steps or rng section missing or of the wrong size", used);
    rc = -1;
  }
  if (rc == 0) rc = load_eval_seeds(L, &ck, used, err, errlen);
  if (rc == 0) {
    uint64_t counters[N_COUNTERS];
    int64_t steps[ALGO_MAX_STEPS];
    memcpy(counters, c->data, sizeof counters);
    memcpy(steps, t->data, (size_t)v.n_steps * sizeof(int64_t));
    for (int i = 0; i < v.n_steps; i++) *v.steps[i] = (long)steps[i];
    memcpy(&L->tr.rng, r->data, sizeof L->tr.rng);
    L->sh.env_steps = counters[0];
    L->sh.updates = counters[1];
    L->sh.episodes = counters[2];
    L->snap.version = counters[3];
    LOG_I("learner",
          "resumed from %s: %llu env steps, %llu updates, weights version %llu, %llu "
          "evaluations, next evaluation seed %llu",
          used, (unsigned long long)counters[0], (unsigned long long)counters[1],
          (unsigned long long)counters[3], (unsigned long long)L->sh.n_evals,
          (unsigned long long)(L->run.cfg.eval_seed + L->sh.eval_seed_cursor));
  }
  checkpoint_free(&ck);
  return rc;
}
