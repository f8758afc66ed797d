/* status_fill: learner_t -> status_snapshot_t (see status_fill.h). The derived values (rates,
 * the actual samples-per-insert ratio, version lags, return means) are computed here, so the
 * renderer only prints. */
#include "status_fill.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "status_render.h"

/* Rates over less time than this since the last progress tick are too noisy to report. */
#define STATUS_MIN_RATE_DT 0.05

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Weights versions the worker's acting policy is behind the newest broadcast; 0 when the
 * worker has not reported one yet or is not behind (a restarted learner). */
static uint64_t version_lag(const learner_t *L, const worker_conn_t *c) {
  if (c->acting_version == 0 || c->acting_version >= L->net.weights_frame_version) return 0;
  return L->net.weights_frame_version - c->acting_version;
}

_Static_assert(STATUS_HOST_MAX >= LEARNER_HOST_MAX, "a worker's host must fit the snapshot");

static void fill_worker(const learner_t *L, const worker_conn_t *c, double wall_off,
                        status_worker_t *w) {
  w->id = c->id;
  w->index = c->index;
  snprintf(w->name, sizeof w->name, "%s", c->name);
  snprintf(w->addr, sizeof w->addr, "%s", c->addr);
  snprintf(w->host, sizeof w->host, "%s", c->host);
  w->pid = c->pid;
  w->connected_since = wall_off + c->connected_at;
  w->envs = c->num_envs;
  w->env_steps = c->transitions;
  w->worker_steps = c->worker_steps;
  w->episodes = c->episodes;
  w->dropped = c->dropped;
  w->steps_per_s = c->steps_per_s;
  w->epsilon = c->epsilon;
  w->return_mean100 = returns_window_mean(&c->returns);
  w->episode_length_mean100 = returns_window_mean(&c->lengths);
  w->version_lag = version_lag(L, c);
  w->bytes_in = c->bytes_in;
  w->bytes_out = c->bytes_out;
}

int status_fill(learner_t *L, status_snapshot_t *s) {
  memset(s, 0, sizeof *s);
  double now = learner_now();
  double wall_off = wall_now() - now; /* wall clock minus the monotonic clock */
  s->cfg = L->run.cfg;
  s->started = wall_off + L->net.t_start;
  s->uptime_s = now - L->net.t_start;

  pthread_mutex_lock(&L->sh.mu);
  s->env_steps = L->sh.env_steps;
  s->updates = L->sh.updates;
  s->updates_skipped = L->sh.updates_skipped;
  s->loss = L->sh.loss_ema;
  s->mean_q = L->sh.q_ema;
  s->n_algo = L->sh.n_algo_fields < STATUS_ALGO_FIELDS ? L->sh.n_algo_fields : STATUS_ALGO_FIELDS;
  for (int i = 0; i < s->n_algo; i++) {
    snprintf(s->algo[i].name, sizeof s->algo[i].name, "%s", L->sh.algo_fields[i].name);
    snprintf(s->algo[i].help, sizeof s->algo[i].help, "%s", L->sh.algo_fields[i].help);
    s->algo[i].value = L->sh.algo_fields[i].value;
  }
  s->have_eval = L->sh.have_eval;
  s->solved = L->sh.solved;
  s->eval_mean = L->sh.eval.mean;
  s->eval_std = L->sh.eval.std;
  s->eval_episodes = L->sh.eval.episodes;
  s->eval_env_steps = L->sh.eval_at_steps;
  snprintf(s->last_checkpoint, sizeof s->last_checkpoint, "%s", L->sh.last_checkpoint);
  pthread_mutex_unlock(&L->sh.mu);
  replay_counts_t rc = {0};
  if (learner_built(L)) rc = replay_counts(&L->replay); /* a worker-env run is built late */
  s->replay_size = rc.size;
  s->replay_capacity = rc.capacity;
  s->replay_inserted = rc.inserted;
  s->replay_sampled = rc.sampled;

  /* The progress timer (net thread, like us) resets these every progress_interval_s. */
  double dt = now - L->net.t_last_progress;
  if (dt >= STATUS_MIN_RATE_DT) {
    uint64_t ds = s->env_steps >= L->net.steps_at_last_progress
                      ? s->env_steps - L->net.steps_at_last_progress
                      : 0;
    uint64_t du = s->updates >= L->net.updates_at_last_progress
                      ? s->updates - L->net.updates_at_last_progress
                      : 0;
    s->env_steps_per_s = (double)ds / dt;
    s->updates_per_s = (double)du / dt;
  } else {
    s->env_steps_per_s = s->updates_per_s = NAN;
  }
  uint64_t starts = L->run.cfg.learning_starts > 0 ? (uint64_t)L->run.cfg.learning_starts : 0;
  s->samples_per_insert_actual =
      rc.inserted > starts ? (double)rc.sampled / (double)(rc.inserted - starts) : NAN;

  s->weights_version = L->net.weights_frame_version;
  s->train_return_mean100 = returns_window_mean(&L->net.returns);
  s->episode_length_mean100 = returns_window_mean(&L->net.lengths);
  s->episodes = L->sh.episodes;
  s->bytes_in = L->net.bytes_in;
  s->bytes_out = L->net.bytes_out;
  s->ingest_paused = L->net.ingest_paused;
  s->threshold = L->run.threshold;

  size_t n = 0;
  for (const worker_conn_t *c = L->net.conns; c; c = c->next) n += c->state == CONN_ACTIVE;
  if (n == 0) return 0;
  s->workers = calloc(n, sizeof *s->workers);
  if (!s->workers) return -1;
  for (const worker_conn_t *c = L->net.conns; c; c = c->next)
    if (c->state == CONN_ACTIVE) fill_worker(L, c, wall_off, &s->workers[s->n_workers++]);
  return 0;
}

void status_fill_free(status_snapshot_t *s) {
  free(s->workers);
  s->workers = NULL;
  s->n_workers = 0;
}

/* A snapshot is a few kilobytes (the config echo); it is filled per request, off the stack. */
static char *fill_render(learner_t *L, char *(*render)(const status_snapshot_t *)) {
  status_snapshot_t *s = malloc(sizeof *s);
  char *text = NULL;
  if (s && status_fill(L, s) == 0)
    text = render(s);
  else
    LOG_E("status", "out of memory copying the learner's state");
  if (s) status_fill_free(s);
  free(s);
  return text;
}

char *status_fill_json(void *learner) { return fill_render(learner, status_render_json); }
char *status_fill_metrics(void *learner) { return fill_render(learner, status_render_metrics); }
