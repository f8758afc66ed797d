/* status_render: /status JSON and /metrics text from a status snapshot. Pure: no clocks, no
 * locks, no learner; every number printed is one the snapshot holds. */
#include "status_render.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "promtext.h"

/* "2024-05-01T12:34:56Z" for a wall-clock time in Unix seconds. */
static void iso_utc(double wall, char *buf, size_t len) {
  time_t t = (time_t)floor(wall);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) buf[0] = '\0';
}

/* ---- JSON ---- */

/* cJSON_Add* return NULL when out of memory; the first failure is remembered in *oom. */
static void j_num(cJSON *o, const char *k, double v, int *oom) {
  if (!(isfinite(v) ? cJSON_AddNumberToObject(o, k, v) : cJSON_AddNullToObject(o, k))) *oom = 1;
}
static void j_str(cJSON *o, const char *k, const char *s, int *oom) {
  if (!(s ? cJSON_AddStringToObject(o, k, s) : cJSON_AddNullToObject(o, k))) *oom = 1;
}
static void j_bool(cJSON *o, const char *k, int b, int *oom) {
  if (!cJSON_AddBoolToObject(o, k, b ? 1 : 0)) *oom = 1;
}
static void j_null(cJSON *o, const char *k, int *oom) {
  if (!cJSON_AddNullToObject(o, k)) *oom = 1;
}
static cJSON *j_obj(cJSON *o, const char *k, int *oom) {
  cJSON *c = cJSON_AddObjectToObject(o, k);
  if (!c) *oom = 1;
  return c ? c : o; /* keep going into the parent; the result is thrown away anyway */
}

static void json_run(const status_snapshot_t *s, cJSON *root, int *oom) {
  cJSON *run = j_obj(root, "run", oom);
  char buf[CONFIG_STR_MAX + 64];
  j_str(run, "algo", s->cfg.algo, oom);
  j_str(run, "env", s->cfg.env, oom);
  j_str(run, "preset", s->cfg.preset[0] ? s->cfg.preset : NULL, oom);
  iso_utc(s->started, buf, sizeof buf);
  j_str(run, "started", buf[0] ? buf : NULL, oom);
  j_num(run, "uptime_s", s->uptime_s, oom);
  cJSON *cfg = j_obj(run, "config", oom);
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *f = config_field_at(i);
    config_format(&s->cfg, f, buf, sizeof buf);
    j_str(cfg, f->name, buf, oom);
  }
}

static void json_learner(const status_snapshot_t *s, cJSON *root, int *oom) {
  cJSON *l = j_obj(root, "learner", oom);
  j_num(l, "updates", (double)s->updates, oom);
  j_num(l, "updates_skipped", (double)s->updates_skipped, oom);
  j_num(l, "updates_per_s", s->updates_per_s, oom);
  j_num(l, "env_steps", (double)s->env_steps, oom);
  j_num(l, "env_steps_per_s", s->env_steps_per_s, oom);
  j_num(l, "replay_size", (double)s->replay_size, oom);
  j_num(l, "replay_capacity", (double)s->replay_capacity, oom);
  j_num(l, "samples_per_insert", s->cfg.samples_per_insert, oom);
  j_num(l, "samples_per_insert_actual", s->samples_per_insert_actual, oom);
  j_num(l, "loss", s->loss, oom);
  j_num(l, "mean_q", s->mean_q, oom);
  cJSON *a = j_obj(l, "algo", oom);
  for (int i = 0; i < s->n_algo; i++) j_num(a, s->algo[i].name, s->algo[i].value, oom);
  j_num(l, "weights_version", (double)s->weights_version, oom);
  j_num(l, "train_return_mean100", s->train_return_mean100, oom);
  j_num(l, "episode_length_mean100", s->episode_length_mean100, oom);
  j_num(l, "episodes", (double)s->episodes, oom);
  j_num(l, "bytes_in", (double)s->bytes_in, oom);
  j_num(l, "bytes_out", (double)s->bytes_out, oom);
  j_bool(l, "ingest_paused", s->ingest_paused, oom);
  j_str(l, "last_checkpoint", s->last_checkpoint[0] ? s->last_checkpoint : NULL, oom);
}

static void json_eval(const status_snapshot_t *s, cJSON *root, int *oom) {
  if (!s->have_eval) {
    j_null(root, "eval", oom);
    return;
  }
  cJSON *e = j_obj(root, "eval", oom);
  j_num(e, "mean", s->eval_mean, oom);
  j_num(e, "std", s->eval_std, oom);
  j_num(e, "episodes", (double)s->eval_episodes, oom);
  j_num(e, "env_steps", (double)s->eval_env_steps, oom);
  j_bool(e, "solved", s->solved, oom);
  j_num(e, "threshold", s->threshold, oom);
}

static void json_workers(const status_snapshot_t *s, cJSON *root, int *oom) {
  cJSON *arr = cJSON_AddArrayToObject(root, "workers");
  if (!arr) {
    *oom = 1;
    return;
  }
  for (size_t i = 0; i < s->n_workers; i++) {
    const status_worker_t *c = &s->workers[i];
    cJSON *w = cJSON_CreateObject();
    if (!w || !cJSON_AddItemToArray(arr, w)) {
      cJSON_Delete(w);
      *oom = 1;
      return;
    }
    char since[32];
    iso_utc(c->connected_since, since, sizeof since);
    j_num(w, "id", (double)c->id, oom);
    j_num(w, "index", (double)c->index, oom);
    j_str(w, "name", c->name, oom);
    j_str(w, "addr", c->addr, oom);
    j_str(w, "host", c->host[0] ? c->host : NULL, oom);
    j_num(w, "pid", c->pid ? (double)c->pid : NAN, oom);
    j_str(w, "connected_since", since[0] ? since : NULL, oom);
    j_num(w, "envs", (double)c->envs, oom);
    j_num(w, "env_steps", (double)c->env_steps, oom);
    j_num(w, "worker_steps", (double)c->worker_steps, oom);
    j_num(w, "steps_per_s", c->steps_per_s, oom);
    j_num(w, "episodes", (double)c->episodes, oom);
    j_num(w, "return_mean100", c->return_mean100, oom);
    j_num(w, "episode_length_mean100", c->episode_length_mean100, oom);
    j_num(w, "epsilon", c->epsilon, oom);
    j_num(w, "version_lag", (double)c->version_lag, oom);
    j_num(w, "dropped", (double)c->dropped, oom);
    j_num(w, "bytes_in", (double)c->bytes_in, oom);
    j_num(w, "bytes_out", (double)c->bytes_out, oom);
  }
}

char *status_render_json(const status_snapshot_t *s) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  int oom = 0;
  json_run(s, root, &oom);
  json_learner(s, root, &oom);
  json_eval(s, root, &oom);
  json_workers(s, root, &oom);
  char *text = oom ? NULL : cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return text;
}

/* ---- Prometheus text ---- */

/* A family with one sample, left out when the value is NaN (no value yet). */
static void m_value(promtext_t *p, const char *name, promtext_type_t type, const char *help,
                    double v) {
  if (!isnan(v)) promtext_value(p, name, type, help, v);
}

typedef double (*worker_value_fn)(const status_worker_t *w);

static double w_env_steps(const status_worker_t *w) { return (double)w->env_steps; }
static double w_steps_per_s(const status_worker_t *w) { return w->steps_per_s; }
static double w_episodes(const status_worker_t *w) { return (double)w->episodes; }
static double w_return(const status_worker_t *w) { return w->return_mean100; }
static double w_length(const status_worker_t *w) { return w->episode_length_mean100; }
static double w_epsilon(const status_worker_t *w) { return w->epsilon; }
static double w_lag(const status_worker_t *w) { return (double)w->version_lag; }
static double w_dropped(const status_worker_t *w) { return (double)w->dropped; }
static double w_bytes_in(const status_worker_t *w) { return (double)w->bytes_in; }
static double w_bytes_out(const status_worker_t *w) { return (double)w->bytes_out; }

/* A per-worker family: one sample per active worker labelled {worker="<id>", addr="<addr>"},
 * NaN values left out, and the family left out when no worker has a value. */
static void m_workers(promtext_t *p, const status_snapshot_t *s, const char *name,
                      promtext_type_t type, const char *help, worker_value_fn get) {
  int started = 0;
  for (size_t i = 0; i < s->n_workers; i++) {
    const status_worker_t *c = &s->workers[i];
    double v = get(c);
    if (isnan(v)) continue;
    if (!started) promtext_family(p, name, type, help);
    started = 1;
    char id[16];
    snprintf(id, sizeof id, "%u", (unsigned)c->id);
    promtext_label_t labels[] = {{"worker", id}, {"addr", c->addr}};
    promtext_sample(p, labels, 2, v);
  }
}

char *status_render_metrics(const status_snapshot_t *s) {
  const promtext_type_t C = PROMTEXT_COUNTER, G = PROMTEXT_GAUGE;
  promtext_t p;
  promtext_init(&p);

  m_value(&p, "rlserve_uptime_seconds", G, "Seconds since the learner started.", s->uptime_s);
  m_value(&p, "rlserve_env_steps_total", C, "Env steps (transitions) ingested from workers.",
          (double)s->env_steps);
  m_value(&p, "rlserve_updates_total", C, "Gradient updates done by the trainer.",
          (double)s->updates);
  m_value(&p, "rlserve_updates_skipped_total", C,
          "Updates undone because the batch made the loss or the state non-finite.",
          (double)s->updates_skipped);
  m_value(&p, "rlserve_episodes_total", C, "Training episodes finished on the workers.",
          (double)s->episodes);
  m_value(&p, "rlserve_bytes_received_total", C, "Bytes received from workers.",
          (double)s->bytes_in);
  m_value(&p, "rlserve_bytes_sent_total", C, "Bytes sent to workers.", (double)s->bytes_out);
  m_value(&p, "rlserve_replay_size", G, "Transitions held in the replay buffer.",
          (double)s->replay_size);
  m_value(&p, "rlserve_replay_capacity", G, "Replay buffer capacity in transitions.",
          (double)s->replay_capacity);
  m_value(&p, "rlserve_replay_inserted_total", C, "Transitions inserted into replay.",
          (double)s->replay_inserted);
  m_value(&p, "rlserve_replay_sampled_total", C, "Transitions sampled from replay.",
          (double)s->replay_sampled);
  m_value(&p, "rlserve_samples_per_insert", G,
          "Configured ratio of sampled to inserted transitions.", s->cfg.samples_per_insert);
  m_value(&p, "rlserve_samples_per_insert_actual", G,
          "Sampled / (inserted - learning_starts); absent before learning starts.",
          s->samples_per_insert_actual);
  m_value(&p, "rlserve_ingest_paused", G,
          "1 while a credit top-up waits because replay is ahead of the rate limiter.",
          s->ingest_paused ? 1 : 0);
  m_value(&p, "rlserve_loss", G, "TD loss, exponential moving average.", s->loss);
  m_value(&p, "rlserve_mean_q", G, "Mean Q of the sampled actions, exponential moving average.",
          s->mean_q);
  for (int i = 0; i < s->n_algo; i++) {
    char name[80];
    snprintf(name, sizeof name, "rlserve_algo_%s", s->algo[i].name);
    m_value(&p, name, G, s->algo[i].help, s->algo[i].value);
  }
  m_value(&p, "rlserve_weights_version", G, "Version of the newest weights broadcast.",
          (double)s->weights_version);
  m_value(&p, "rlserve_train_return_mean100", G,
          "Mean return of the last 100 training episodes; absent before the first.",
          s->train_return_mean100);
  m_value(&p, "rlserve_episode_length_mean100", G,
          "Mean length in env steps of the last 100 training episodes; absent before the first.",
          s->episode_length_mean100);
  m_value(&p, "rlserve_eval_return_mean", G,
          "Mean return of the latest greedy evaluation; absent before the first.",
          s->have_eval ? s->eval_mean : NAN);
  m_value(&p, "rlserve_eval_return_std", G,
          "Standard deviation of the latest greedy evaluation's returns; absent before the first.",
          s->have_eval ? s->eval_std : NAN);
  m_value(&p, "rlserve_eval_env_steps", G,
          "Env steps at the latest greedy evaluation; absent before the first.",
          s->have_eval ? (double)s->eval_env_steps : NAN);
  m_value(&p, "rlserve_solve_threshold", G, "Greedy eval mean that counts as solved.",
          s->threshold);
  m_value(&p, "rlserve_solved", G, "1 once a greedy evaluation met the threshold.",
          s->solved ? 1 : 0);
  m_value(&p, "rlserve_workers", G, "Connected (active) workers.", (double)s->n_workers);

  m_workers(&p, s, "rlserve_worker_env_steps_total", C, "Env steps ingested from the worker.",
            w_env_steps);
  m_workers(&p, s, "rlserve_worker_steps_per_second", G, "Env steps per second the worker reports.",
            w_steps_per_s);
  m_workers(&p, s, "rlserve_worker_episodes_total", C, "Episodes the worker finished.", w_episodes);
  m_workers(&p, s, "rlserve_worker_return_mean100", G,
            "Mean return of the worker's last 100 episodes; absent before the first.", w_return);
  m_workers(&p, s, "rlserve_worker_episode_length_mean100", G,
            "Mean length in env steps of the worker's last 100 episodes; absent before the first.",
            w_length);
  m_workers(&p, s, "rlserve_worker_epsilon", G, "The worker's exploration epsilon.", w_epsilon);
  m_workers(&p, s, "rlserve_worker_version_lag", G,
            "Weights versions the worker's acting policy is behind the newest broadcast.", w_lag);
  m_workers(&p, s, "rlserve_worker_dropped_total", C,
            "Transitions the worker dropped from its outbox.", w_dropped);
  m_workers(&p, s, "rlserve_worker_bytes_received_total", C, "Bytes received from the worker.",
            w_bytes_in);
  m_workers(&p, s, "rlserve_worker_bytes_sent_total", C, "Bytes sent to the worker.", w_bytes_out);

  int err = 0;
  char *text = promtext_take(&p, &err);
  if (!text) LOG_E("status", "/metrics text: %s", promtext_strerror(err));
  return text;
}
