/* test_status_fill: what the learner puts in a status snapshot, from a learner_t built in
 * memory (config, replay, counters, an eval result, workers in every connection state): the
 * copied counters, the rates over the time since the last progress tick (none right after
 * one), the actual samples-per-insert ratio (none before learning starts), version lags
 * (none unreported or ahead), return means, and that only active connections are rows, in
 * join order. Then the status_http callbacks end to end (fill, render, free). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "learner.h"
#include "status_fill.h"

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void window_set(returns_window_t *w, const float *r, int n) {
  memset(w, 0, sizeof *w);
  for (int i = 0; i < n; i++) w->r[i] = r[i];
  w->n = w->pos = n;
  w->total = (uint64_t)n;
}

static worker_conn_t *add_conn(learner_t *L, int state, uint32_t id) {
  worker_conn_t *c = calloc(1, sizeof *c);
  c->state = state;
  c->id = id;
  c->L = L;
  /* append, keeping the list in join order */
  worker_conn_t **pp = &L->net.conns;
  while (*pp) pp = &(*pp)->next;
  *pp = c;
  L->net.n_conns++;
  return c;
}

/* The state of a learner 100 s into a run, 2 s after a progress tick; now = learner_now(). */
static void learner_fake(learner_t *L, double now) {
  memset(L, 0, sizeof *L);
  config_init(&L->run.cfg);
  char err[256];
  CHECK(config_set(&L->run.cfg, "preset", "cartpole", err, sizeof err) == 0, "%s", err);
  L->run.cfg.learning_starts = 1000;
  L->run.cfg.samples_per_insert = 8;
  L->run.threshold = 475;
  pthread_mutex_init(&L->sh.mu, NULL);

  /* replay: capacity 1000, 1500 inserted, 4000 sampled -> 4000 / (1500 - 1000) = 8 */
  flow_limits_t lim = {.min_size = 1000, .spi = 8, .slack = 1000};
  CHECK(replay_init(&L->replay, 1000, 4, 1, &lim) == 0, "replay_init failed");
  enum { N = 500 };
  static float obs[N * 4], act[N], rew[N], next_obs[N * 4];
  static uint8_t flags[N];
  for (int i = 0; i < 3; i++) replay_insert(&L->replay, N, obs, act, rew, next_obs, flags);
  pthread_mutex_lock(&L->replay.mu);
  L->replay.sampled = 4000;
  pthread_mutex_unlock(&L->replay.mu);

  L->net.t_start = now - 100;       /* uptime 100 s */
  L->net.t_last_progress = now - 2; /* rates over 2 s */
  L->sh.env_steps = 1500;
  L->net.steps_at_last_progress = 500; /* 500 steps/s */
  L->sh.updates = 3000;
  L->sh.updates_skipped = 5;
  L->net.updates_at_last_progress = 2400; /* 300 updates/s */
  L->sh.loss_ema = 0.125;
  L->sh.algo_fields[0] = (algo_field_t){"grad_norm", "Gradient norm.", 0.75};
  L->sh.n_algo_fields = 1;
  L->sh.q_ema = 12.5;
  L->net.weights_frame_version = 40;
  float ret[] = {10, 20, 30};
  window_set(&L->net.returns, ret, 3);
  float len[] = {20, 26.5f, 30};
  window_set(&L->net.lengths, len, 3);
  L->sh.episodes = 3;
  L->net.bytes_in = 123456;
  L->net.bytes_out = 654321;
  L->net.ingest_paused = 1;
  L->sh.have_eval = 1;
  L->sh.eval = (eval_result_t){.mean = 480.5, .std = 3.25, .min = 470, .max = 500, .episodes = 100};
  L->sh.eval_at_steps = 1200;
  L->sh.solved = 1;
  snprintf(L->sh.last_checkpoint, sizeof L->sh.last_checkpoint, "/runs/x/checkpoint.ckpt");

  worker_conn_t *a = add_conn(L, CONN_ACTIVE, 1);
  a->index = 0;
  snprintf(a->name, sizeof a->name, "host-a pid 11");
  snprintf(a->addr, sizeof a->addr, "127.0.0.1:40001");
  snprintf(a->host, sizeof a->host, "host-a");
  a->pid = 11;
  a->connected_at = now - 50;
  a->num_envs = 4;
  a->transitions = 800;
  a->worker_steps = 900;
  a->steps_per_s = 250.5;
  a->episodes = 2;
  float ra[] = {10, 30};
  window_set(&a->returns, ra, 2);
  float la[] = {20, 30};
  window_set(&a->lengths, la, 2);
  a->epsilon = 0.4;
  a->acting_version = 37; /* 3 behind */
  a->dropped = 5;
  a->bytes_in = 1000;
  a->bytes_out = 2000;

  worker_conn_t *h = add_conn(L, CONN_HELLO, 2); /* not a worker yet: not reported */
  snprintf(h->addr, sizeof h->addr, "127.0.0.1:40002");
  h->transitions = 77;

  worker_conn_t *b = add_conn(L, CONN_ACTIVE, 3);
  b->index = 1;
  snprintf(b->name, sizeof b->name, "quote\"and\\slash");
  snprintf(b->addr, sizeof b->addr, "[::1]:40003");
  memset(b->host, 'h', sizeof b->host - 1); /* the longest host a Hello may carry */
  b->host[sizeof b->host - 1] = '\0';
  b->connected_at = now - 10;
  b->num_envs = 2;
  b->epsilon = 0.05;
  b->acting_version = 0; /* not reported yet: lag 0; no episodes: return NAN */

  worker_conn_t *f = add_conn(L, CONN_FAILING, 4);
  snprintf(f->addr, sizeof f->addr, "127.0.0.1:40004");
}

static void learner_fake_free(learner_t *L) {
  while (L->net.conns) {
    worker_conn_t *c = L->net.conns;
    L->net.conns = c->next;
    free(c);
  }
  replay_free(&L->replay);
  pthread_mutex_destroy(&L->sh.mu);
}

/* A rate over "2 s" that were 2 s plus the time the test took to get to status_fill. */
#define CHECK_RATE(got, want) \
  CHECK(fabs((got) - (want)) <= 0.05 * (want), "%s = %g, expected about %g", #got, got, want)
#define CHECK_EQ_U(got, want)                                                         \
  CHECK((got) == (want), "%s = %llu, expected %llu", #got, (unsigned long long)(got), \
        (unsigned long long)(want))

static void test_full(learner_t *L) {
  static status_snapshot_t s;
  double wall = wall_now();
  CHECK(status_fill(L, &s) == 0, "status_fill failed");
  CHECK(memcmp(&s.cfg, &L->run.cfg, sizeof s.cfg) == 0, "the config was not copied");
  CHECK(fabs(s.uptime_s - 100) < 1, "uptime_s = %g, expected 100", s.uptime_s);
  CHECK(fabs(s.started - (wall - 100)) < 1, "started %.3f s from the expected time",
        s.started - (wall - 100));
  CHECK_EQ_U(s.env_steps, 1500);
  CHECK_EQ_U(s.updates, 3000);
  CHECK_EQ_U(s.updates_skipped, 5);
  CHECK_RATE(s.env_steps_per_s, 500.0);
  CHECK_RATE(s.updates_per_s, 300.0);
  CHECK_EQ_U(s.replay_size, 1000);
  CHECK_EQ_U(s.replay_capacity, 1000);
  CHECK_EQ_U(s.replay_inserted, 1500);
  CHECK_EQ_U(s.replay_sampled, 4000);
  CHECK_NEAR(s.samples_per_insert_actual, 8, 1e-12);
  CHECK_NEAR(s.loss, 0.125, 0);
  CHECK(s.n_algo == 1 && strcmp(s.algo[0].name, "grad_norm") == 0 &&
            strcmp(s.algo[0].help, "Gradient norm.") == 0 && s.algo[0].value == 0.75,
        "algo fields: %d, '%s' = %g", s.n_algo, s.n_algo ? s.algo[0].name : "", s.algo[0].value);
  CHECK_NEAR(s.mean_q, 12.5, 0);
  CHECK_EQ_U(s.weights_version, 40);
  CHECK_NEAR(s.train_return_mean100, 20, 1e-12);
  CHECK_NEAR(s.episode_length_mean100, 25.5, 1e-6);
  CHECK_EQ_U(s.episodes, 3);
  CHECK_EQ_U(s.bytes_in, 123456);
  CHECK_EQ_U(s.bytes_out, 654321);
  CHECK(s.ingest_paused == 1, "ingest_paused %d", s.ingest_paused);
  CHECK(strcmp(s.last_checkpoint, "/runs/x/checkpoint.ckpt") == 0, "last_checkpoint '%s'",
        s.last_checkpoint);
  CHECK(s.have_eval == 1 && s.solved == 1, "have_eval %d solved %d", s.have_eval, s.solved);
  CHECK_NEAR(s.eval_mean, 480.5, 0);
  CHECK_NEAR(s.eval_std, 3.25, 0);
  CHECK(s.eval_episodes == 100, "eval_episodes %d", s.eval_episodes);
  CHECK_EQ_U(s.eval_env_steps, 1200);
  CHECK_NEAR(s.threshold, 475, 0);

  CHECK(s.n_workers == 2, "%zu rows, expected the 2 active connections", s.n_workers);
  if (s.n_workers == 2) {
    const status_worker_t *a = &s.workers[0], *b = &s.workers[1];
    CHECK(a->id == 1 && b->id == 3, "rows are workers %u and %u, expected 1 and 3", a->id, b->id);
    CHECK(a->index == 0 && strcmp(a->name, "host-a pid 11") == 0 &&
              strcmp(a->addr, "127.0.0.1:40001") == 0,
          "worker 1: index %d name '%s' addr '%s'", a->index, a->name, a->addr);
    CHECK(fabs(a->connected_since - (wall - 50)) < 1, "worker 1 connected %.3f s off",
          a->connected_since - (wall - 50));
    CHECK(a->envs == 4, "worker 1 envs %u", a->envs);
    CHECK_EQ_U(a->env_steps, 800);
    CHECK_EQ_U(a->worker_steps, 900);
    CHECK_EQ_U(a->episodes, 2);
    CHECK_EQ_U(a->dropped, 5);
    CHECK_EQ_U(a->bytes_in, 1000);
    CHECK_EQ_U(a->bytes_out, 2000);
    CHECK_NEAR(a->steps_per_s, 250.5, 0);
    CHECK_NEAR(a->epsilon, 0.4, 0);
    CHECK_NEAR(a->return_mean100, 20, 1e-12);
    CHECK_NEAR(a->episode_length_mean100, 25, 1e-12);
    CHECK(strcmp(a->host, "host-a") == 0 && a->pid == 11, "worker 1: host '%s' pid %u", a->host,
          a->pid);
    CHECK_EQ_U(a->version_lag, 3);

    CHECK(strcmp(b->name, "quote\"and\\slash") == 0 && strcmp(b->addr, "[::1]:40003") == 0,
          "worker 3: name '%s' addr '%s'", b->name, b->addr);
    CHECK(fabs(b->connected_since - (wall - 10)) < 1, "worker 3 connected %.3f s off",
          b->connected_since - (wall - 10));
    CHECK(isnan(b->return_mean100), "worker 3 return %g, expected NAN", b->return_mean100);
    CHECK(isnan(b->episode_length_mean100), "worker 3 length %g, expected NAN",
          b->episode_length_mean100);
    CHECK(strlen(b->host) == 256 && b->pid == 0, "worker 3: host of %zu bytes (want 256), pid %u",
          strlen(b->host), b->pid);
    CHECK_EQ_U(b->version_lag, 0);
    CHECK_EQ_U(b->env_steps, 0);
  }
  status_fill_free(&s);
  CHECK(s.workers == NULL && s.n_workers == 0, "status_fill_free left rows");
}

/* Before learning, before any eval or episode, just after a progress tick, no workers. */
static void test_empty(learner_t *L) {
  L->run.cfg.learning_starts = 2000; /* inserted 1500: learning has not started */
  L->net.t_last_progress = learner_now() - 0.01;
  L->sh.loss_ema = NAN;
  L->sh.have_eval = 0;
  L->sh.solved = 0;
  memset(&L->net.returns, 0, sizeof L->net.returns);
  memset(&L->net.lengths, 0, sizeof L->net.lengths);
  for (worker_conn_t *c = L->net.conns; c; c = c->next)
    if (c->state == CONN_ACTIVE) c->state = CONN_CLOSING;
  static status_snapshot_t s;
  CHECK(status_fill(L, &s) == 0, "status_fill failed");
  CHECK(isnan(s.env_steps_per_s) && isnan(s.updates_per_s),
        "rates %g, %g 0.01 s after a tick, expected NAN", s.env_steps_per_s, s.updates_per_s);
  CHECK(isnan(s.samples_per_insert_actual), "samples_per_insert_actual %g before learning",
        s.samples_per_insert_actual);
  CHECK(isnan(s.loss), "loss %g", s.loss);
  CHECK(isnan(s.train_return_mean100), "train_return_mean100 %g", s.train_return_mean100);
  CHECK(isnan(s.episode_length_mean100), "episode_length_mean100 %g", s.episode_length_mean100);
  CHECK(s.have_eval == 0 && s.solved == 0, "have_eval %d solved %d", s.have_eval, s.solved);
  CHECK(s.n_workers == 0 && s.workers == NULL, "%zu rows, expected none", s.n_workers);
  status_fill_free(&s);

  /* a worker whose acting version is ahead of the broadcast (a restarted learner) */
  L->net.conns->state = CONN_ACTIVE;
  L->net.conns->acting_version = 50;
  CHECK(status_fill(L, &s) == 0, "status_fill failed");
  CHECK(s.n_workers == 1, "%zu rows, expected 1", s.n_workers);
  if (s.n_workers == 1) CHECK_EQ_U(s.workers[0].version_lag, 0);
  status_fill_free(&s);
  L->net.conns->state = CONN_CLOSING;
}

/* The status_http_sources_t callbacks: fill, render, free. */
static void test_callbacks(learner_t *L) {
  char *json = status_fill_json(L);
  CHECK(json != NULL, "status_fill_json returned NULL");
  cJSON *st = json ? cJSON_Parse(json) : NULL;
  CHECK(st != NULL, "not JSON: %s", json ? json : "(null)");
  if (st) {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(st, "learner");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(l, "env_steps");
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(st, "workers");
    CHECK(cJSON_IsNumber(steps) && steps->valuedouble == 1500, "learner.env_steps");
    CHECK(cJSON_GetArraySize(ws) == 2, "workers: %d, expected 2", cJSON_GetArraySize(ws));
    cJSON_Delete(st);
  }
  free(json);
  char *metrics = status_fill_metrics(L);
  CHECK(metrics && strstr(metrics, "\nrlserve_workers 2\n") &&
            strstr(metrics, "\nrlserve_env_steps_total 1500\n"),
        "metrics: %s", metrics ? metrics : "(null)");
  free(metrics);
}

int main(void) {
  static learner_t L; /* large: keep it off the stack */
  learner_fake(&L, learner_now());
  test_full(&L);
  test_callbacks(&L);
  test_empty(&L);
  learner_fake_free(&L);
  if (!check_failures) printf("test_status_fill: ok\n");
  CHECK_DONE();
}
