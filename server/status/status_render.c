/* status_render: /status JSON and /metrics text from the learner's state. Net thread: reads
 * net-thread fields of learner_t and worker_conn_t directly, copies the shared counters
 * under L->mu (held only for the copy) and the replay counts under the replay's own lock. */
#include "status_render.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "learner.h"
#include "log.h"
#include "promtext.h"

/* Rates over less time than this since the last progress tick are too noisy to report. */
#define STATUS_MIN_RATE_DT 0.05

/* One consistent copy of everything both renderers read. NAN marks "no value yet". */
typedef struct status_view {
  double now;      /* learner_now() */
  double wall_off; /* wall clock (Unix seconds) minus learner_now() */
  double uptime_s;
  uint64_t env_steps, updates;
  double loss, mean_q;
  eval_result_t eval;
  uint64_t eval_at_steps;
  int have_eval, solved;
  replay_counts_t rc;
  double env_steps_per_s, updates_per_s, spi_actual;
  int n_active;
  char last_checkpoint[1100]; /* "" until the first save */
} status_view_t;

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void view_take(learner_t *L, status_view_t *v) {
  memset(v, 0, sizeof *v);
  v->now = learner_now();
  v->wall_off = wall_now() - v->now;
  v->uptime_s = v->now - L->t_start;
  pthread_mutex_lock(&L->mu);
  v->env_steps = L->env_steps;
  v->updates = L->updates;
  v->loss = L->loss_ema;
  v->mean_q = L->q_ema;
  v->eval = L->eval;
  v->eval_at_steps = L->eval_at_steps;
  v->have_eval = L->have_eval;
  v->solved = L->solved;
  snprintf(v->last_checkpoint, sizeof v->last_checkpoint, "%s", L->last_checkpoint);
  pthread_mutex_unlock(&L->mu);
  v->rc = replay_counts(&L->replay);

  /* The progress timer (net thread, like us) resets these every progress_interval_s. */
  double dt = v->now - L->t_last_progress;
  if (dt >= STATUS_MIN_RATE_DT) {
    uint64_t ds =
        v->env_steps >= L->steps_at_last_progress ? v->env_steps - L->steps_at_last_progress : 0;
    uint64_t du =
        v->updates >= L->updates_at_last_progress ? v->updates - L->updates_at_last_progress : 0;
    v->env_steps_per_s = (double)ds / dt;
    v->updates_per_s = (double)du / dt;
  } else {
    v->env_steps_per_s = v->updates_per_s = NAN;
  }

  uint64_t starts = L->cfg.learning_starts > 0 ? (uint64_t)L->cfg.learning_starts : 0;
  v->spi_actual =
      v->rc.inserted > starts ? (double)v->rc.sampled / (double)(v->rc.inserted - starts) : NAN;
  for (const worker_conn_t *c = L->conns; c; c = c->next) v->n_active += c->state == CONN_ACTIVE;
}

/* Weights versions the worker's acting policy is behind the newest broadcast; 0 when the
 * worker has not reported one yet or is not behind. */
static uint64_t version_lag(const learner_t *L, const worker_conn_t *c) {
  if (c->acting_version == 0 || c->acting_version >= L->weights_frame_version) return 0;
  return L->weights_frame_version - c->acting_version;
}

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

static void json_run(const learner_t *L, const status_view_t *v, cJSON *root, int *oom) {
  cJSON *run = j_obj(root, "run", oom);
  char buf[CONFIG_STR_MAX + 64];
  j_str(run, "algo", L->cfg.algo, oom);
  j_str(run, "env", L->cfg.env, oom);
  j_str(run, "preset", L->cfg.preset[0] ? L->cfg.preset : NULL, oom);
  iso_utc(v->wall_off + L->t_start, buf, sizeof buf);
  j_str(run, "started", buf[0] ? buf : NULL, oom);
  j_num(run, "uptime_s", v->uptime_s, oom);
  cJSON *cfg = j_obj(run, "config", oom);
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *f = config_field_at(i);
    config_format(&L->cfg, f, buf, sizeof buf);
    j_str(cfg, f->name, buf, oom);
  }
}

static void json_learner(const learner_t *L, const status_view_t *v, cJSON *root, int *oom) {
  cJSON *l = j_obj(root, "learner", oom);
  j_num(l, "updates", (double)v->updates, oom);
  j_num(l, "updates_per_s", v->updates_per_s, oom);
  j_num(l, "env_steps", (double)v->env_steps, oom);
  j_num(l, "env_steps_per_s", v->env_steps_per_s, oom);
  j_num(l, "replay_size", (double)v->rc.size, oom);
  j_num(l, "replay_capacity", (double)v->rc.capacity, oom);
  j_num(l, "samples_per_insert", L->cfg.samples_per_insert, oom);
  j_num(l, "samples_per_insert_actual", v->spi_actual, oom);
  j_num(l, "loss", v->loss, oom);
  j_num(l, "mean_q", v->mean_q, oom);
  j_num(l, "weights_version", (double)L->weights_frame_version, oom);
  j_num(l, "train_return_mean100", returns_window_mean(&L->returns), oom);
  j_num(l, "episodes", (double)L->episodes, oom);
  j_num(l, "bytes_in", (double)L->bytes_in, oom);
  j_num(l, "bytes_out", (double)L->bytes_out, oom);
  j_bool(l, "ingest_paused", L->ingest_paused, oom);
  j_str(l, "last_checkpoint", v->last_checkpoint[0] ? v->last_checkpoint : NULL, oom);
}

static void json_eval(const learner_t *L, const status_view_t *v, cJSON *root, int *oom) {
  if (!v->have_eval) {
    j_null(root, "eval", oom);
    return;
  }
  cJSON *e = j_obj(root, "eval", oom);
  j_num(e, "mean", v->eval.mean, oom);
  j_num(e, "std", v->eval.std, oom);
  j_num(e, "episodes", (double)v->eval.episodes, oom);
  j_num(e, "env_steps", (double)v->eval_at_steps, oom);
  j_bool(e, "solved", v->solved, oom);
  j_num(e, "threshold", L->threshold, oom);
}

static void json_workers(const learner_t *L, const status_view_t *v, cJSON *root, int *oom) {
  cJSON *arr = cJSON_AddArrayToObject(root, "workers");
  if (!arr) {
    *oom = 1;
    return;
  }
  for (const worker_conn_t *c = L->conns; c; c = c->next) {
    if (c->state != CONN_ACTIVE) continue;
    cJSON *w = cJSON_CreateObject();
    if (!w || !cJSON_AddItemToArray(arr, w)) {
      cJSON_Delete(w);
      *oom = 1;
      return;
    }
    char since[32];
    iso_utc(v->wall_off + c->connected_at, since, sizeof since);
    j_num(w, "id", (double)c->id, oom);
    j_num(w, "index", (double)c->index, oom);
    j_str(w, "name", c->name, oom);
    j_str(w, "addr", c->addr, oom);
    j_str(w, "connected_since", since[0] ? since : NULL, oom);
    j_num(w, "envs", (double)c->num_envs, oom);
    j_num(w, "env_steps", (double)c->transitions, oom);
    j_num(w, "worker_steps", (double)c->worker_steps, oom);
    j_num(w, "steps_per_s", c->steps_per_s, oom);
    j_num(w, "episodes", (double)c->episodes, oom);
    j_num(w, "return_mean100", returns_window_mean(&c->returns), oom);
    j_num(w, "epsilon", c->epsilon, oom);
    j_num(w, "version_lag", (double)version_lag(L, c), oom);
    j_num(w, "dropped", (double)c->dropped, oom);
    j_num(w, "bytes_in", (double)c->bytes_in, oom);
    j_num(w, "bytes_out", (double)c->bytes_out, oom);
  }
}

char *status_render_json(void *learner) {
  learner_t *L = learner;
  status_view_t v;
  view_take(L, &v);
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  int oom = 0;
  json_run(L, &v, root, &oom);
  json_learner(L, &v, root, &oom);
  json_eval(L, &v, root, &oom);
  json_workers(L, &v, root, &oom);
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

typedef double (*worker_value_fn)(const learner_t *L, const worker_conn_t *c);

static double w_env_steps(const learner_t *L, const worker_conn_t *c) {
  return (double)c->transitions;
}
static double w_steps_per_s(const learner_t *L, const worker_conn_t *c) { return c->steps_per_s; }
static double w_episodes(const learner_t *L, const worker_conn_t *c) { return (double)c->episodes; }
static double w_return(const learner_t *L, const worker_conn_t *c) {
  return returns_window_mean(&c->returns);
}
static double w_epsilon(const learner_t *L, const worker_conn_t *c) { return c->epsilon; }
static double w_lag(const learner_t *L, const worker_conn_t *c) {
  return (double)version_lag(L, c);
}
static double w_dropped(const learner_t *L, const worker_conn_t *c) { return (double)c->dropped; }
static double w_bytes_in(const learner_t *L, const worker_conn_t *c) { return (double)c->bytes_in; }
static double w_bytes_out(const learner_t *L, const worker_conn_t *c) {
  return (double)c->bytes_out;
}

/* A per-worker family: one sample per active worker labelled {worker="<id>", addr="<addr>"},
 * NaN values left out, and the family left out when no worker has a value. */
static void m_workers(promtext_t *p, const learner_t *L, const char *name, promtext_type_t type,
                      const char *help, worker_value_fn get) {
  int started = 0;
  for (const worker_conn_t *c = L->conns; c; c = c->next) {
    if (c->state != CONN_ACTIVE) continue;
    double v = get(L, c);
    if (isnan(v)) continue;
    if (!started) promtext_family(p, name, type, help);
    started = 1;
    char id[16];
    snprintf(id, sizeof id, "%u", (unsigned)c->id);
    promtext_label_t labels[] = {{"worker", id}, {"addr", c->addr}};
    promtext_sample(p, labels, 2, v);
  }
}

char *status_render_metrics(void *learner) {
  learner_t *L = learner;
  status_view_t v;
  view_take(L, &v);
  const promtext_type_t C = PROMTEXT_COUNTER, G = PROMTEXT_GAUGE;
  promtext_t p;
  promtext_init(&p);

  m_value(&p, "rlserve_uptime_seconds", G, "Seconds since the learner started.", v.uptime_s);
  m_value(&p, "rlserve_env_steps_total", C, "Env steps (transitions) ingested from workers.",
          (double)v.env_steps);
  m_value(&p, "rlserve_updates_total", C, "Gradient updates done by the trainer.",
          (double)v.updates);
  m_value(&p, "rlserve_episodes_total", C, "Training episodes finished on the workers.",
          (double)L->episodes);
  m_value(&p, "rlserve_bytes_received_total", C, "Bytes received from workers.",
          (double)L->bytes_in);
  m_value(&p, "rlserve_bytes_sent_total", C, "Bytes sent to workers.", (double)L->bytes_out);
  m_value(&p, "rlserve_replay_size", G, "Transitions held in the replay buffer.",
          (double)v.rc.size);
  m_value(&p, "rlserve_replay_capacity", G, "Replay buffer capacity in transitions.",
          (double)v.rc.capacity);
  m_value(&p, "rlserve_replay_inserted_total", C, "Transitions inserted into replay.",
          (double)v.rc.inserted);
  m_value(&p, "rlserve_replay_sampled_total", C, "Transitions sampled from replay.",
          (double)v.rc.sampled);
  m_value(&p, "rlserve_samples_per_insert", G,
          "Configured ratio of sampled to inserted transitions.", L->cfg.samples_per_insert);
  m_value(&p, "rlserve_samples_per_insert_actual", G,
          "Sampled / (inserted - learning_starts); absent before learning starts.", v.spi_actual);
  m_value(&p, "rlserve_ingest_paused", G, "1 while ingest is paused by the rate limiter.",
          L->ingest_paused ? 1 : 0);
  m_value(&p, "rlserve_loss", G, "TD loss, exponential moving average.", v.loss);
  m_value(&p, "rlserve_mean_q", G, "Mean Q of the sampled actions, exponential moving average.",
          v.mean_q);
  m_value(&p, "rlserve_weights_version", G, "Version of the newest weights broadcast.",
          (double)L->weights_frame_version);
  m_value(&p, "rlserve_train_return_mean100", G,
          "Mean return of the last 100 training episodes; absent before the first.",
          returns_window_mean(&L->returns));
  m_value(&p, "rlserve_eval_return_mean", G,
          "Mean return of the latest greedy evaluation; absent before the first.",
          v.have_eval ? v.eval.mean : NAN);
  m_value(&p, "rlserve_eval_return_std", G,
          "Standard deviation of the latest greedy evaluation's returns; absent before the first.",
          v.have_eval ? v.eval.std : NAN);
  m_value(&p, "rlserve_eval_env_steps", G,
          "Env steps at the latest greedy evaluation; absent before the first.",
          v.have_eval ? (double)v.eval_at_steps : NAN);
  m_value(&p, "rlserve_solve_threshold", G, "Greedy eval mean that counts as solved.",
          L->threshold);
  m_value(&p, "rlserve_solved", G, "1 once a greedy evaluation met the threshold.",
          v.solved ? 1 : 0);
  m_value(&p, "rlserve_workers", G, "Connected (active) workers.", (double)v.n_active);

  m_workers(&p, L, "rlserve_worker_env_steps_total", C, "Env steps ingested from the worker.",
            w_env_steps);
  m_workers(&p, L, "rlserve_worker_steps_per_second", G, "Env steps per second the worker reports.",
            w_steps_per_s);
  m_workers(&p, L, "rlserve_worker_episodes_total", C, "Episodes the worker finished.", w_episodes);
  m_workers(&p, L, "rlserve_worker_return_mean100", G,
            "Mean return of the worker's last 100 episodes; absent before the first.", w_return);
  m_workers(&p, L, "rlserve_worker_epsilon", G, "The worker's exploration epsilon.", w_epsilon);
  m_workers(&p, L, "rlserve_worker_version_lag", G,
            "Weights versions the worker's acting policy is behind the newest broadcast.", w_lag);
  m_workers(&p, L, "rlserve_worker_dropped_total", C,
            "Transitions the worker dropped from its outbox.", w_dropped);
  m_workers(&p, L, "rlserve_worker_bytes_received_total", C, "Bytes received from the worker.",
            w_bytes_in);
  m_workers(&p, L, "rlserve_worker_bytes_sent_total", C, "Bytes sent to the worker.", w_bytes_out);

  int err = 0;
  char *text = promtext_take(&p, &err);
  if (!text) LOG_E("status", "/metrics text: %s", promtext_strerror(err));
  return text;
}
