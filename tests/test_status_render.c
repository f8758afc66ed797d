/* test_status_render: the /status JSON and /metrics text rendered from a status snapshot
 * built in memory (config, replay counts, counters, an eval result, two active workers):
 * every field's value and null handling, the Prometheus families, and `promtool check
 * metrics` on the text when promtool is installed. What the learner puts in a snapshot (rates,
 * lags, which connections are rows) is tests/test_status_fill.c's. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "promtool.h"
#include "status_render.h"
#include "status_snapshot.h"

/* ---- JSON helpers: each fails with the key and what it found ---- */

static const cJSON *field(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  CHECK(v != NULL, "field \"%s\" missing", k);
  return v;
}
#define EXPECT_NUM(o, k, want)                                                \
  do {                                                                        \
    const cJSON *v_ = field(o, k);                                            \
    CHECK(cJSON_IsNumber(v_), "field \"%s\" is not a number", k);             \
    if (cJSON_IsNumber(v_))                                                   \
      CHECK_NEAR(v_->valuedouble, (want), 1e-9 * (1 + fabs((double)(want)))); \
  } while (0)
#define EXPECT_NULL(o, k) CHECK(cJSON_IsNull(field(o, k)), "field \"%s\" is not null", k)
#define EXPECT_BOOL(o, k, want)                                                            \
  do {                                                                                     \
    const cJSON *v_ = field(o, k);                                                         \
    CHECK(cJSON_IsBool(v_) && !!cJSON_IsTrue(v_) == !!(want), "field \"%s\" is not %s", k, \
          (want) ? "true" : "false");                                                      \
  } while (0)
#define EXPECT_STR(o, k, want)                                              \
  do {                                                                      \
    const cJSON *v_ = field(o, k);                                          \
    CHECK(cJSON_IsString(v_) && strcmp(v_->valuestring, (want)) == 0,       \
          "field \"%s\" = %s, expected \"%s\"", k,                          \
          cJSON_IsString(v_) ? v_->valuestring : "(not a string)", (want)); \
  } while (0)

static int count_items(const cJSON *o) {
  int n = 0;
  for (const cJSON *c = o ? o->child : NULL; c; c = c->next) n++;
  return n;
}

/* An ISO-8601 UTC time within 2 s of `want` (Unix seconds). */
static void expect_iso(const cJSON *o, const char *k, double want) {
  const cJSON *v = field(o, k);
  CHECK(cJSON_IsString(v), "field \"%s\" is not a string", k);
  if (!cJSON_IsString(v)) return;
  struct tm tm = {0};
  char z = 0;
  int n = sscanf(v->valuestring, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z);
  CHECK(n == 7 && z == 'Z' && strlen(v->valuestring) == 20, "field \"%s\" = \"%s\" is not ISO UTC",
        k, v->valuestring);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double got = (double)timegm(&tm);
  CHECK(fabs(got - want) <= 2, "field \"%s\" = \"%s\" is %.0f s from the expected time", k,
        v->valuestring, got - want);
}

/* ---- metrics helpers ---- */

static void expect_line(const char *text, const char *line) {
  char want[512];
  snprintf(want, sizeof want, "\n%s\n", line);
  /* the text starts with "# HELP", so every line of interest follows a newline */
  CHECK(strstr(text, want) != NULL, "metrics lack the line \"%s\"", line);
}
static void expect_absent(const char *text, const char *s) {
  CHECK(strstr(text, s) == NULL, "metrics contain \"%s\", which should be absent", s);
}

/* Every sample's family was declared by # HELP then # TYPE just before its samples; counter
 * families end in _total; every name starts with rlserve_. */
static void check_families(const char *text) {
  char help[128] = "", type[128] = "", cur[128] = "";
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    CHECK(nl != NULL, "metrics text does not end in a newline");
    if (!nl) return;
    char line[1024];
    size_t len = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    char name[128], kind[32];
    if (sscanf(line, "# HELP %127s", name) == 1) {
      snprintf(help, sizeof help, "%s", name);
    } else if (sscanf(line, "# TYPE %127s %31s", name, kind) == 2) {
      CHECK(strcmp(help, name) == 0, "# TYPE %s without a # HELP before it", name);
      CHECK(strncmp(name, "rlserve_", 8) == 0, "family %s lacks the rlserve_ prefix", name);
      size_t n = strlen(name);
      if (strcmp(kind, "counter") == 0)
        CHECK(n > 6 && strcmp(name + n - 6, "_total") == 0, "counter %s lacks _total", name);
      snprintf(type, sizeof type, "%s", name);
      snprintf(cur, sizeof cur, "%s", name);
    } else {
      size_t n = strcspn(line, "{ ");
      snprintf(name, sizeof name, "%.*s", (int)n, line);
      CHECK(strcmp(name, cur) == 0, "sample \"%s\" outside its family (current %s)", line, cur);
      CHECK(strstr(line, "NaN") == NULL, "sample \"%s\" is NaN (no-value samples are omitted)",
            line);
    }
    p = nl + 1;
  }
}

/* ---- the snapshot ---- */

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double t0; /* wall clock when the snapshot was taken */
static status_worker_t rows[2];

static void snapshot_fake(status_snapshot_t *s) {
  memset(s, 0, sizeof *s);
  config_init(&s->cfg);
  char err[256];
  CHECK(config_set(&s->cfg, "preset", "cartpole", err, sizeof err) == 0, "%s", err);
  s->cfg.learning_starts = 1000;
  s->cfg.samples_per_insert = 8;
  s->threshold = 475;

  /* replay: capacity 1000, 1500 inserted, 4000 sampled -> 4000 / (1500 - 1000) = 8 */
  s->replay_size = 1000;
  s->replay_capacity = 1000;
  s->replay_inserted = 1500;
  s->replay_sampled = 4000;
  s->samples_per_insert_actual = 8;

  t0 = wall_now();
  s->started = t0 - 100; /* uptime 100 s */
  s->uptime_s = 100;
  s->env_steps = 1500;
  s->env_steps_per_s = 500;
  s->updates = 3000;
  s->updates_skipped = 7;
  s->updates_per_s = 300;
  s->loss = 0.125;
  s->mean_q = 12.5;
  s->n_algo = 2; /* the algorithm's own numbers (a row's status_fields) */
  s->algo[0] = (status_field_t){"grad_norm", "Global gradient norm of the last update.", 0.75};
  s->algo[1] = (status_field_t){"actor_loss", "Actor loss of the last actor step.", -3.5};
  s->weights_version = 40;
  s->train_return_mean100 = 20;     /* of 10, 20, 30 */
  s->episode_length_mean100 = 25.5; /* of 20, 26.5, 30 */
  s->episodes = 3;
  s->bytes_in = 123456;
  s->bytes_out = 654321;
  s->ingest_paused = 1;
  s->have_eval = 1;
  s->eval_mean = 480.5;
  s->eval_std = 3.25;
  s->eval_episodes = 100;
  s->eval_env_steps = 1200;
  s->solved = 1;

  status_worker_t *a = &rows[0];
  memset(rows, 0, sizeof rows);
  a->id = 1;
  a->index = 0;
  snprintf(a->name, sizeof a->name, "host-a pid 11");
  snprintf(a->addr, sizeof a->addr, "127.0.0.1:40001");
  snprintf(a->host, sizeof a->host, "host-a");
  a->pid = 11;
  a->connected_since = t0 - 50;
  a->envs = 4;
  a->env_steps = 800;
  a->worker_steps = 900;
  a->steps_per_s = 250.5;
  a->episodes = 2;
  a->return_mean100 = 20;         /* of 10, 30 */
  a->episode_length_mean100 = 25; /* of 20, 30 */
  a->epsilon = 0.4;
  a->version_lag = 3;
  a->dropped = 5;
  a->bytes_in = 1000;
  a->bytes_out = 2000;

  status_worker_t *b = &rows[1]; /* ids 2 and 4 were not active: not rows */
  b->id = 3;
  b->index = 1;
  snprintf(b->name, sizeof b->name, "quote\"and\\slash");
  snprintf(b->addr, sizeof b->addr, "[::1]:40003");
  /* A host name from the network with JSON's special characters and non-ASCII text; a worker
   * that sent no pid. */
  snprintf(b->host, sizeof b->host, "n\"\\\xc3\xa9</td>");
  b->pid = 0;
  b->connected_since = t0 - 10;
  b->envs = 2;
  b->epsilon = 0.05;
  b->return_mean100 = NAN; /* no episodes yet: null */
  b->episode_length_mean100 = NAN;
  b->version_lag = 0; /* not reported yet */

  s->workers = rows;
  s->n_workers = 2;
}

/* ---- the checks ---- */

static void test_json_full(status_snapshot_t *s) {
  snprintf(s->last_checkpoint, sizeof s->last_checkpoint, "/runs/x/checkpoint.ckpt");
  char *text = status_render_json(s);
  CHECK(text != NULL, "status_render_json returned NULL");
  if (!text) return;
  cJSON *st = cJSON_Parse(text);
  CHECK(st != NULL, "not JSON: %s", text);
  if (!st) {
    free(text);
    return;
  }
  CHECK(count_items(st) == 4, "top level has %d fields, expected 4", count_items(st));

  const cJSON *run = field(st, "run");
  CHECK(count_items(run) == 6, "run has %d fields, expected 6", count_items(run));
  EXPECT_STR(run, "algo", "dqn");
  EXPECT_STR(run, "env", "CartPole-v1");
  EXPECT_STR(run, "preset", "cartpole");
  expect_iso(run, "started", t0 - 100);
  EXPECT_NUM(run, "uptime_s", 100.0);
  const cJSON *cfg = field(run, "config");
  CHECK(count_items(cfg) == (int)config_field_count(), "config has %d fields, expected %zu",
        count_items(cfg), config_field_count());
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *fd = config_field_at(i);
    char want[CONFIG_STR_MAX + 64];
    config_format(&s->cfg, fd, want, sizeof want);
    EXPECT_STR(cfg, fd->name, want);
  }
  EXPECT_STR(cfg, "samples_per_insert", "8");
  EXPECT_STR(cfg, "learning_starts", "1000");

  const cJSON *l = field(st, "learner");
  CHECK(count_items(l) == 20, "learner has %d fields, expected 20 (19 + algo)", count_items(l));
  EXPECT_NUM(l, "updates", 3000);
  EXPECT_NUM(l, "updates_skipped", 7);
  EXPECT_NUM(l, "updates_per_s", 300);
  EXPECT_NUM(l, "env_steps", 1500);
  EXPECT_NUM(l, "env_steps_per_s", 500);
  EXPECT_NUM(l, "replay_size", 1000);
  EXPECT_NUM(l, "replay_capacity", 1000);
  EXPECT_NUM(l, "samples_per_insert", 8);
  EXPECT_NUM(l, "samples_per_insert_actual", 8);
  EXPECT_NUM(l, "loss", 0.125);
  EXPECT_NUM(l, "mean_q", 12.5);
  const cJSON *algo = field(l, "algo");
  CHECK(cJSON_IsObject(algo) && cJSON_GetArraySize(algo) == 2, "learner.algo: want 2 fields");
  EXPECT_NUM(algo, "grad_norm", 0.75);
  EXPECT_NUM(algo, "actor_loss", -3.5);
  EXPECT_NUM(l, "weights_version", 40);
  EXPECT_NUM(l, "train_return_mean100", 20);
  EXPECT_NUM(l, "episode_length_mean100", 25.5);
  EXPECT_NUM(l, "episodes", 3);
  EXPECT_NUM(l, "bytes_in", 123456);
  EXPECT_NUM(l, "bytes_out", 654321);
  EXPECT_BOOL(l, "ingest_paused", 1);
  EXPECT_STR(l, "last_checkpoint", "/runs/x/checkpoint.ckpt");

  const cJSON *ev = field(st, "eval");
  CHECK(count_items(ev) == 6, "eval has %d fields, expected 6", count_items(ev));
  EXPECT_NUM(ev, "mean", 480.5);
  EXPECT_NUM(ev, "std", 3.25);
  EXPECT_NUM(ev, "episodes", 100);
  EXPECT_NUM(ev, "env_steps", 1200);
  EXPECT_BOOL(ev, "solved", 1);
  EXPECT_NUM(ev, "threshold", 475);

  const cJSON *ws = field(st, "workers");
  CHECK(cJSON_IsArray(ws) && cJSON_GetArraySize(ws) == 2,
        "workers: expected the 2 active connections, got %d", cJSON_GetArraySize(ws));
  if (cJSON_IsArray(ws) && cJSON_GetArraySize(ws) == 2) {
    const cJSON *a = cJSON_GetArrayItem(ws, 0), *b = cJSON_GetArrayItem(ws, 1);
    CHECK(count_items(a) == 19, "worker has %d fields, expected 19", count_items(a));
    EXPECT_NUM(a, "id", 1);
    EXPECT_NUM(a, "index", 0);
    EXPECT_STR(a, "name", "host-a pid 11");
    EXPECT_STR(a, "addr", "127.0.0.1:40001");
    EXPECT_STR(a, "host", "host-a");
    EXPECT_NUM(a, "pid", 11);
    expect_iso(a, "connected_since", t0 - 50);
    EXPECT_NUM(a, "envs", 4);
    EXPECT_NUM(a, "env_steps", 800);
    EXPECT_NUM(a, "worker_steps", 900);
    EXPECT_NUM(a, "steps_per_s", 250.5);
    EXPECT_NUM(a, "episodes", 2);
    EXPECT_NUM(a, "return_mean100", 20);
    EXPECT_NUM(a, "episode_length_mean100", 25);
    EXPECT_NUM(a, "epsilon", 0.4);
    EXPECT_NUM(a, "version_lag", 3);
    EXPECT_NUM(a, "dropped", 5);
    EXPECT_NUM(a, "bytes_in", 1000);
    EXPECT_NUM(a, "bytes_out", 2000);

    CHECK(count_items(b) == 19, "worker has %d fields, expected 19", count_items(b));
    EXPECT_NUM(b, "id", 3);
    EXPECT_NUM(b, "index", 1);
    EXPECT_STR(b, "name", "quote\"and\\slash");
    EXPECT_STR(b, "addr", "[::1]:40003");
    EXPECT_STR(b, "host", "n\"\\\xc3\xa9</td>");
    EXPECT_NULL(b, "pid");
    expect_iso(b, "connected_since", t0 - 10);
    EXPECT_NUM(b, "envs", 2);
    EXPECT_NUM(b, "env_steps", 0);
    EXPECT_NULL(b, "return_mean100");
    EXPECT_NULL(b, "episode_length_mean100");
    EXPECT_NUM(b, "version_lag", 0);
    EXPECT_NUM(b, "epsilon", 0.05);
  }
  cJSON_Delete(st);
  free(text);
}

static void test_metrics_full(const status_snapshot_t *s) {
  char *text = status_render_metrics(s);
  CHECK(text != NULL, "status_render_metrics returned NULL");
  if (!text) return;
  check_families(text);
  expect_line(text, "# TYPE rlserve_env_steps_total counter");
  expect_line(text, "rlserve_env_steps_total 1500");
  expect_line(text, "rlserve_updates_total 3000");
  expect_line(text, "# TYPE rlserve_updates_skipped_total counter");
  expect_line(text, "rlserve_updates_skipped_total 7");
  expect_line(text, "rlserve_episodes_total 3");
  expect_line(text, "rlserve_bytes_received_total 123456");
  expect_line(text, "rlserve_bytes_sent_total 654321");
  expect_line(text, "# TYPE rlserve_replay_size gauge");
  expect_line(text, "rlserve_replay_size 1000");
  expect_line(text, "rlserve_replay_capacity 1000");
  expect_line(text, "rlserve_samples_per_insert 8");
  expect_line(text, "rlserve_samples_per_insert_actual 8");
  expect_line(text, "rlserve_loss 0.125");
  expect_line(text, "rlserve_mean_q 12.5");
  expect_line(text, "rlserve_algo_grad_norm 0.75");
  expect_line(text, "rlserve_algo_actor_loss -3.5");
  expect_line(text, "# TYPE rlserve_algo_grad_norm gauge");
  expect_line(text, "rlserve_weights_version 40");
  expect_line(text, "rlserve_train_return_mean100 20");
  expect_line(text, "# TYPE rlserve_episode_length_mean100 gauge");
  expect_line(text, "rlserve_episode_length_mean100 25.5");
  expect_line(text, "rlserve_eval_return_mean 480.5");
  expect_line(text, "rlserve_eval_return_std 3.25");
  expect_line(text, "rlserve_solved 1");
  expect_line(text, "rlserve_uptime_seconds 100");
  expect_line(text, "rlserve_workers 2");
  expect_line(text, "# TYPE rlserve_worker_env_steps_total counter");
  expect_line(text, "rlserve_worker_env_steps_total{worker=\"1\",addr=\"127.0.0.1:40001\"} 800");
  expect_line(text, "rlserve_worker_env_steps_total{worker=\"3\",addr=\"[::1]:40003\"} 0");
  expect_line(text, "rlserve_worker_steps_per_second{worker=\"1\",addr=\"127.0.0.1:40001\"} 250.5");
  expect_line(text, "rlserve_worker_episodes_total{worker=\"1\",addr=\"127.0.0.1:40001\"} 2");
  expect_line(text, "rlserve_worker_return_mean100{worker=\"1\",addr=\"127.0.0.1:40001\"} 20");
  expect_line(text, "# TYPE rlserve_worker_episode_length_mean100 gauge");
  expect_line(text,
              "rlserve_worker_episode_length_mean100{worker=\"1\",addr=\"127.0.0.1:40001\"} 25");
  expect_absent(text, "rlserve_worker_episode_length_mean100{worker=\"3\"");
  expect_absent(text, "rlserve_worker_return_mean100{worker=\"3\"");
  expect_line(text, "rlserve_worker_epsilon{worker=\"1\",addr=\"127.0.0.1:40001\"} 0.4");
  expect_line(text, "rlserve_worker_version_lag{worker=\"1\",addr=\"127.0.0.1:40001\"} 3");
  expect_line(text, "rlserve_worker_version_lag{worker=\"3\",addr=\"[::1]:40003\"} 0");
  expect_line(text, "rlserve_worker_dropped_total{worker=\"1\",addr=\"127.0.0.1:40001\"} 5");
  expect_line(text,
              "rlserve_worker_bytes_received_total{worker=\"1\",addr=\"127.0.0.1:40001\"} 1000");
  expect_line(text, "rlserve_worker_bytes_sent_total{worker=\"1\",addr=\"127.0.0.1:40001\"} 2000");
  expect_absent(text, "worker=\"2\""); /* HELLO */
  expect_absent(text, "worker=\"4\""); /* FAILING */
  promtool_check(text, "full");
  free(text);
}

/* Before learning, before any eval or episode, between two progress ticks, no workers: what
 * status_fill puts in a snapshot then (NAN for no value yet). */
static void test_empty(status_snapshot_t *s) {
  s->cfg.preset[0] = '\0';
  s->cfg.learning_starts = 2000; /* inserted 1500: learning has not started */
  s->samples_per_insert_actual = NAN;
  s->env_steps_per_s = s->updates_per_s = NAN; /* 0.01 s after a progress tick */
  s->loss = NAN;
  s->n_algo = 0; /* before the first update */
  s->have_eval = 0;
  s->solved = 0;
  s->ingest_paused = 0;
  s->train_return_mean100 = NAN;
  s->episode_length_mean100 = NAN;
  s->n_workers = 0;

  char *text = status_render_json(s);
  CHECK(text != NULL, "status_render_json returned NULL");
  cJSON *st = text ? cJSON_Parse(text) : NULL;
  CHECK(st != NULL, "not JSON: %s", text ? text : "(null)");
  if (st) {
    const cJSON *run = field(st, "run"), *l = field(st, "learner");
    EXPECT_NULL(run, "preset");
    EXPECT_NULL(l, "updates_per_s");
    EXPECT_NULL(l, "env_steps_per_s");
    EXPECT_NULL(l, "samples_per_insert_actual");
    EXPECT_NULL(l, "loss");
    EXPECT_NULL(l, "train_return_mean100");
    EXPECT_NULL(l, "episode_length_mean100");
    EXPECT_BOOL(l, "ingest_paused", 0);
    EXPECT_NUM(l, "samples_per_insert", 8);
    EXPECT_NULL(st, "eval");
    const cJSON *ws = field(st, "workers");
    CHECK(cJSON_IsArray(ws) && cJSON_GetArraySize(ws) == 0, "workers: expected []");
    cJSON_Delete(st);
  }
  free(text);

  /* one worker whose lag status_fill found to be 0 (its acting version is ahead of the
   * broadcast: a restarted learner) */
  s->n_workers = 1;
  s->workers[0].version_lag = 0;
  text = status_render_json(s);
  st = text ? cJSON_Parse(text) : NULL;
  CHECK(st != NULL, "not JSON");
  if (st) {
    const cJSON *ws = field(st, "workers");
    CHECK(cJSON_GetArraySize(ws) == 1, "workers: expected 1");
    if (cJSON_GetArraySize(ws) == 1) EXPECT_NUM(cJSON_GetArrayItem(ws, 0), "version_lag", 0);
    cJSON_Delete(st);
  }
  free(text);
  s->n_workers = 0;

  text = status_render_metrics(s);
  CHECK(text != NULL, "status_render_metrics returned NULL");
  if (!text) return;
  check_families(text);
  expect_line(text, "rlserve_workers 0");
  expect_line(text, "rlserve_solved 0");
  expect_line(text, "rlserve_env_steps_total 1500");
  expect_absent(text, "rlserve_loss");
  expect_absent(text, "rlserve_algo_");
  expect_absent(text, "rlserve_train_return_mean100");
  expect_absent(text, "rlserve_episode_length_mean100");
  expect_absent(text, "rlserve_eval_return_mean");
  expect_absent(text, "rlserve_eval_return_std");
  expect_absent(text, "rlserve_samples_per_insert_actual");
  expect_absent(text, "rlserve_worker_");
  promtool_check(text, "empty");
  free(text);
}

int main(void) {
  static status_snapshot_t s; /* a few kilobytes of config: keep it off the stack */
  snapshot_fake(&s);
  test_json_full(&s);
  test_metrics_full(&s);
  test_empty(&s);
  if (!check_failures) printf("test_status_render: ok\n");
  CHECK_DONE();
}
