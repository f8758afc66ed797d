/* learner: the `rlserve learner` command: set-up, the progress timer, the end of a run
 * (solved, budget spent or interrupted), checkpoint and summary. Net thread. */
#include "learner.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "checkpoint.h"
#include "log.h"
#include "plugin.h"
#include "report.h"
#include "rundir.h"
#include "status_render.h"
#include "wire.h"

double learner_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void returns_window_add(returns_window_t *w, float r) {
  w->r[w->pos] = r;
  w->pos = (w->pos + 1) % LEARNER_RETURNS;
  if (w->n < LEARNER_RETURNS) w->n++;
  w->total++;
}

double returns_window_mean(const returns_window_t *w) {
  if (w->n == 0) return NAN;
  double s = 0;
  for (int i = 0; i < w->n; i++) s += w->r[i];
  return s / w->n;
}

static void out_path(const learner_t *L, const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s", L->out_dir, name);
}

/* Writes the evaluated policy (policy.ckpt). Threads are joined. */
static void write_policy(learner_t *L) {
  if (!L->out_dir[0] || !L->have_eval) return;
  char *cfg_text = config_to_text(&L->cfg);
  size_t nb = L->w.n_policy * sizeof(float); /* the acting part: Q-network or actor */
  const float *pol = L->solved ? L->solved_params : L->eval_params;
  const eval_result_t *e = L->solved ? &L->solved_eval : &L->eval;
  char evtext[256], path[1100], err[512];
  snprintf(evtext, sizeof evtext, "mean = %.17g\nstd = %.17g\nenv_steps = %llu\n", e->mean, e->std,
           (unsigned long long)(L->solved ? L->solved_at_steps : L->eval_at_steps));
  checkpoint_section_t p[] = {{"config", cfg_text, cfg_text ? strlen(cfg_text) : 0},
                              {"online", pol, nb},
                              {"eval", evtext, strlen(evtext)}};
  out_path(L, "policy.ckpt", path, sizeof path);
  if (checkpoint_write(path, p, 3, err, sizeof err) != 0) LOG_E("learner", "%s", err);
  free(cfg_text);
}

static void write_summary(learner_t *L, double wall) {
  if (!L->out_dir[0]) return;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "solved", L->solved);
  cJSON_AddNumberToObject(j, "env_steps", (double)(L->solved ? L->solved_at_steps : L->env_steps));
  cJSON_AddNumberToObject(j, "env_steps_total", (double)L->env_steps);
  cJSON_AddNumberToObject(j, "updates", (double)L->updates);
  cJSON_AddNumberToObject(j, "wall_seconds", wall);
  if (L->have_eval) {
    /* Solved: the evaluation that met the threshold; otherwise the latest. */
    const eval_result_t *e = L->solved ? &L->solved_eval : &L->eval;
    cJSON_AddNumberToObject(j, "eval_mean", e->mean);
    cJSON_AddNumberToObject(j, "eval_std", e->std);
    cJSON_AddNumberToObject(j, "eval_episodes", e->episodes);
    cJSON_AddNumberToObject(j, "eval_env_steps",
                            (double)(L->solved ? L->solved_at_steps : L->eval_at_steps));
  } else {
    cJSON_AddNullToObject(j, "eval_mean");
    cJSON_AddNullToObject(j, "eval_std");
  }
  cJSON_AddNumberToObject(j, "threshold", L->threshold);
  cJSON_AddStringToObject(j, "env", L->cfg.env);
  cJSON_AddStringToObject(j, "algo", L->cfg.algo);
  cJSON_AddStringToObject(j, "preset", L->cfg.preset);
  cJSON_AddNumberToObject(j, "seed", (double)L->cfg.seed);
  cJSON_AddNumberToObject(j, "episodes", (double)L->episodes);
  cJSON_AddBoolToObject(j, "interrupted", L->interrupted);
  char err[1300];
  if (rundir_write_summary(L->out_dir, j, RUNDIR_PRETTY, err, sizeof err) != 0)
    LOG_E("learner", "%s", err);
  cJSON_Delete(j);
}

static void progress(learner_t *L, int final);

static void finish(learner_t *L, int code) {
  if (L->finishing) return;
  L->finishing = 1;
  L->exit_code = code;
  trainer_join(L);
  progress(L, 1);
  if (L->out_dir[0]) learner_save_state(L);
  write_policy(L);
  write_summary(L, learner_now() - L->t_start);
  if (L->out_dir[0]) {
    char mpath[1100], spath[1100], rpath[1100], err[1300];
    if (L->metrics) fflush(L->metrics);
    out_path(L, "metrics.jsonl", mpath, sizeof mpath);
    out_path(L, "summary.json", spath, sizeof spath);
    out_path(L, "report.html", rpath, sizeof rpath);
    if (report_write(mpath, spath, rpath, err, sizeof err) != 0)
      LOG_W("learner", "report: %s", err);
    else
      LOG_I("learner", "report: %s", rpath);
  }
  net_close_all(L);
  if (L->status) status_http_close(L->status, NULL, NULL);
  L->status = NULL;
  uv_close((uv_handle_t *)&L->wake, NULL);
  uv_close((uv_handle_t *)&L->progress, NULL);
  uv_close((uv_handle_t *)&L->sweep, NULL);
  uv_close((uv_handle_t *)&L->sigint, NULL);
  uv_close((uv_handle_t *)&L->sigterm, NULL);
}

static void on_sweep(uv_timer_t *t) {
  learner_t *L = t->data;
  if (!L->finishing) net_sweep(L);
}

void learner_check_finish(learner_t *L) {
  if (L->finishing) return;
  pthread_mutex_lock(&L->mu);
  int solved = L->solved;
  int spent = L->env_steps >= (uint64_t)L->cfg.env_steps_budget;
  int final_done = L->final_eval_done;
  if (spent && !solved && !final_done && !L->final_eval_requested) {
    if (L->have_eval && L->eval_at_steps >= L->env_steps && !L->eval_running)
      final_done = 1; /* the latest evaluation already saw the whole budget */
    else
      L->final_eval_requested = 1;
    pthread_cond_broadcast(&L->eval_cv);
  }
  pthread_mutex_unlock(&L->mu);
  if (solved)
    finish(L, 0);
  else if (spent && final_done)
    finish(L, 1);
}

static void on_wake(uv_async_t *h) {
  learner_t *L = h->data;
  if (L->finishing) return;
  net_on_wake(L);
  learner_check_finish(L);
}

static void on_signal(uv_signal_t *h, int signum) {
  learner_t *L = h->data;
  LOG_I("learner", "signal %d: saving and shutting down", signum);
  L->interrupted = 1;
  finish(L, 130);
}

static void fmt_count(char *buf, size_t len, double v) {
  if (v >= 1e6)
    snprintf(buf, len, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    snprintf(buf, len, "%.1fk", v / 1e3);
  else
    snprintf(buf, len, "%.0f", v);
}

static void progress(learner_t *L, int final) {
  double now = learner_now(), dt = now - L->t_last_progress;
  pthread_mutex_lock(&L->mu);
  uint64_t steps = L->env_steps, updates = L->updates;
  double loss = L->loss_ema, q = L->q_ema;
  int have_eval = L->have_eval;
  eval_result_t ev = L->eval;
  uint64_t ev_at = L->eval_at_steps;
  pthread_mutex_unlock(&L->mu);
  replay_counts_t rc = replay_counts(&L->replay);
  double sps = dt > 0 ? (double)(steps - L->steps_at_last_progress) / dt : 0;
  double ups = dt > 0 ? (double)(updates - L->updates_at_last_progress) / dt : 0;
  double ret = returns_window_mean(&L->returns);
  int active = 0;
  for (worker_conn_t *c = L->conns; c; c = c->next) active += c->state == CONN_ACTIVE;
  char a[32], b[32], c1[32], c2[32], evs[96];
  fmt_count(a, sizeof a, (double)steps);
  fmt_count(b, sizeof b, (double)updates);
  fmt_count(c1, sizeof c1, (double)rc.size);
  fmt_count(c2, sizeof c2, (double)rc.capacity);
  if (have_eval) {
    char at[32];
    fmt_count(at, sizeof at, (double)ev_at);
    snprintf(evs, sizeof evs, "%.1f +- %.1f @%s", ev.mean, ev.std, at);
  } else {
    snprintf(evs, sizeof evs, "-");
  }
  /* On a terminal one live line is rewritten in place; otherwise (logs, CI) plain lines. */
  static int tty = -1;
  if (tty < 0) tty = isatty(STDOUT_FILENO);
  printf(
      "%s[%6.1fs] steps %s (%.0f/s) | updates %s (%.0f/s) | replay %s/%s | return(100) %.1f | "
      "eval %s | workers %d%s%s",
      tty ? "\r\033[K" : "", now - L->t_start, a, sps, b, ups, c1, c2, ret, evs, active,
      final ? (L->solved ? " | SOLVED" : " | done") : "", tty && !final ? "" : "\n");
  fflush(stdout);
  if (L->metrics) {
    char lossbuf[32], qbuf[32]; /* JSON has no NaN: a diverged value is written as null */
    if (isfinite(loss))
      snprintf(lossbuf, sizeof lossbuf, "%.6g", loss);
    else
      snprintf(lossbuf, sizeof lossbuf, "null");
    if (isfinite(q))
      snprintf(qbuf, sizeof qbuf, "%.6g", q);
    else
      snprintf(qbuf, sizeof qbuf, "null");
    rundir_metrics_write(
        L->metrics,
        "{\"t\":%.3f,\"env_steps\":%llu,\"env_steps_per_s\":%.1f,\"updates\":%llu,"
        "\"updates_per_s\":%.1f,\"replay_size\":%zu,\"loss\":%s,\"mean_q\":%s,"
        "\"train_return_mean100\":%s,\"eval_mean\":%s,\"eval_std\":%s,\"eval_env_steps\":%llu,"
        "\"workers\":%d,\"episodes\":%llu}",
        now - L->t_start, (unsigned long long)steps, sps, (unsigned long long)updates, ups, rc.size,
        lossbuf, qbuf, isnan(ret) ? "null" : (snprintf(a, sizeof a, "%.3f", ret), a),
        have_eval ? (snprintf(b, sizeof b, "%.3f", ev.mean), b) : "null",
        have_eval ? (snprintf(c1, sizeof c1, "%.3f", ev.std), c1) : "null",
        (unsigned long long)ev_at, active, (unsigned long long)L->episodes);
  }
  L->t_last_progress = now;
  L->steps_at_last_progress = steps;
  L->updates_at_last_progress = updates;
}

static void on_progress(uv_timer_t *t) {
  learner_t *L = t->data;
  if (L->finishing) return;
  progress(L, 0);
  learner_check_finish(L);
}

static void usage(void) {
  fprintf(stderr,
          "usage: rlserve learner [--config FILE] [--preset NAME] [--set key=value ...]\n"
          "                       [--listen HOST:PORT] [--status HOST:PORT|off] [--out DIR]\n"
          "                       [--port-file FILE] [--resume DIR] [--token-file FILE]\n"
          "                       [--log-level LEVEL]\n");
}

int learner_main(int argc, char **argv) {
  static learner_t L; /* one learner per process; large, so not on the stack */
  memset(&L, 0, sizeof L);
  config_init(&L.cfg);
  const char *listen = "127.0.0.1:7878", *status_addr = "127.0.0.1:0";
  char err[2048];
  const char *resume = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--resume")) resume = argv[i + 1];
  if (resume) {
    /* The run's own config first; --config/--set on the command line may change it. */
    if (learner_load_config(resume, &L.cfg, err, sizeof err) != 0) goto bad;
    snprintf(L.out_dir, sizeof L.out_dir, "%s", resume);
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      config_print_help(stderr);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rlserve learner: %s needs a value\n", a);
      return 2;
    }
    i++;
    if (!strcmp(a, "--config")) {
      if (config_load_file(&L.cfg, v, err, sizeof err) != 0) goto bad;
    } else if (!strcmp(a, "--preset")) {
      if (config_load_preset(&L.cfg, v, err, sizeof err) != 0) goto bad;
    } else if (!strcmp(a, "--set")) {
      if (config_set_arg(&L.cfg, v, err, sizeof err) != 0) goto bad;
    } else if (!strcmp(a, "--resume")) {
      /* handled above */
    } else if (!strcmp(a, "--token-file")) {
      if (auth_key_from_file(v, L.auth_key, err, sizeof err) != 0) goto bad;
      L.auth = 1;
    } else if (!strcmp(a, "--listen")) {
      listen = v;
    } else if (!strcmp(a, "--status")) {
      status_addr = strcmp(v, "off") ? v : NULL;
    } else if (!strcmp(a, "--out")) {
      snprintf(L.out_dir, sizeof L.out_dir, "%s", v);
    } else if (!strcmp(a, "--port-file")) {
      snprintf(L.port_file, sizeof L.port_file, "%s", v);
    } else if (!strcmp(a, "--log-level")) {
      int lv = log_parse_level(v);
      if (lv < 0) {
        fprintf(stderr, "rlserve learner: unknown log level '%s'\n", v);
        return 2;
      }
      log_set_level((log_level_t)lv);
    } else {
      fprintf(stderr, "rlserve learner: unknown option '%s'\n", a);
      usage();
      return 2;
    }
  }
  if (config_validate(&L.cfg, err, sizeof err) != 0) goto bad;
  if (L.cfg.env_plugin[0] && env_plugin_load(L.cfg.env_plugin, err, sizeof err) != 0) goto bad;
  L.spec = env_find(L.cfg.env);
  if (!L.spec) {
    snprintf(err, sizeof err, "config: env = '%s' is not a known environment", L.cfg.env);
    goto bad;
  }
  if (algo_validate_config(&L.cfg, L.spec, &L.algo, err, sizeof err) != 0) goto bad;
  if (L.algo->mode != ALGO_ACTOR_LEARNER) {
    char names[128];
    algo_names(names, sizeof names, ALGO_ACTOR_LEARNER);
    snprintf(err, sizeof err,
             "config: algo %s is not served by the learner (%s are; on-policy "
             "methods run in-process with rlserve run)",
             L.cfg.algo, names);
    goto bad;
  }
  L.threshold = isnan(L.cfg.solve_threshold) ? L.spec->reward_threshold : L.cfg.solve_threshold;
  if (L.out_dir[0] && mkdir(L.out_dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, sizeof err, "cannot create the output folder %s: %s", L.out_dir, strerror(errno));
    goto bad;
  }

  rng_seed(&L.trainer_rng, rng_derive((uint64_t)L.cfg.seed, 1));
  rng_t init_rng;
  rng_seed(&init_rng, rng_derive((uint64_t)L.cfg.seed, 2));
  if (L.algo->policy(&L.cfg, L.spec, &L.pol, err, sizeof err) != 0) goto bad;
  L.algo_state = L.algo->create(L.algo, &L.cfg, L.spec, &init_rng, err, sizeof err);
  if (!L.algo_state) goto bad;
  L.algo->weights(L.algo_state, &L.w);
  size_t n = L.w.n;
  replay_limits_t lim = {.min_size = (uint64_t)L.cfg.learning_starts,
                         .spi = L.cfg.samples_per_insert,
                         .slack = (uint64_t)L.cfg.rate_limit_slack};
  L.solved_params = calloc(n, sizeof(float));
  L.eval_params = calloc(n, sizeof(float));
  if (replay_init(&L.replay, (size_t)L.cfg.replay_capacity, (size_t)L.pol.obs_dim,
                  (size_t)L.pol.act_dim, &lim) != 0 ||
      snapshot_init(&L.snap, n) != 0 || !L.solved_params || !L.eval_params) {
    snprintf(err, sizeof err, "out of memory for replay_capacity = %lld",
             (long long)L.cfg.replay_capacity);
    goto bad;
  }
  if (resume && learner_load_state(&L, resume, err, sizeof err) != 0) goto bad;
  snapshot_publish(&L.snap, L.w.online, L.w.target, L.updates);
  pthread_mutex_init(&L.mu, NULL);
  pthread_cond_init(&L.eval_cv, NULL);
  L.next_eval_at = L.env_steps + (uint64_t)L.cfg.eval_interval;
  if (L.out_dir[0]) {
    char path[1100];
    out_path(&L, "config.conf", path, sizeof path);
    char *text = config_to_text(&L.cfg);
    FILE *f = fopen(path, "w");
    if (f) {
      fputs(text, f);
      fclose(f);
    }
    free(text);
    L.metrics = rundir_metrics_open(L.out_dir, resume != NULL, err, sizeof err);
    if (!L.metrics) LOG_E("learner", "%s", err);
  }

  L.loop = uv_default_loop();
  uv_async_init(L.loop, &L.wake, on_wake);
  L.wake.data = &L;
  uv_timer_init(L.loop, &L.progress);
  L.progress.data = &L;
  uv_timer_init(L.loop, &L.sweep);
  L.sweep.data = &L;
  uv_signal_init(L.loop, &L.sigint);
  uv_signal_init(L.loop, &L.sigterm);
  L.sigint.data = L.sigterm.data = &L;
  uv_signal_start(&L.sigint, on_signal, SIGINT);
  uv_signal_start(&L.sigterm, on_signal, SIGTERM);
  if (status_addr) {
    status_http_sources_t src = {&L, status_render_json, status_render_metrics};
    if (status_http_start(L.loop, status_addr, &src, &L.status, err, sizeof err) != 0) {
      LOG_E("learner", "status socket: %s (continuing without it)", err);
      L.status = NULL;
    } else {
      int sp = status_http_port(L.status);
      LOG_I("learner", "status on http://%s/ (port %d)", status_addr, sp);
      if (L.out_dir[0]) {
        char path[1100];
        out_path(&L, "status.port", path, sizeof path);
        FILE *f = fopen(path, "w");
        if (f) {
          fprintf(f, "%d\n", sp);
          fclose(f);
        }
      }
    }
  }
  if (net_start(&L, listen, err, sizeof err) != 0) {
    LOG_E("learner", "%s", err);
    L.finishing = 1;
    if (L.status) status_http_close(L.status, NULL, NULL);
    uv_close((uv_handle_t *)&L.listener, NULL);
    uv_close((uv_handle_t *)&L.wake, NULL);
    uv_close((uv_handle_t *)&L.progress, NULL);
    uv_close((uv_handle_t *)&L.sweep, NULL);
    uv_close((uv_handle_t *)&L.sigint, NULL);
    uv_close((uv_handle_t *)&L.sigterm, NULL);
    uv_run(L.loop, UV_RUN_DEFAULT);
    uv_loop_close(L.loop);
    return 2;
  }
  LOG_I("learner",
        "%s on %s: %zu parameters, batch %lld, replay %lld, %.3g samples/insert, "
        "solve at %.1f, budget %lld env steps",
        L.cfg.algo, L.cfg.env, n, (long long)L.cfg.batch_size, (long long)L.cfg.replay_capacity,
        L.cfg.samples_per_insert, L.threshold, (long long)L.cfg.env_steps_budget);
  L.t_start = L.t_last_progress = L.last_checkpoint_at = learner_now();
  L.steps_at_last_progress = L.env_steps;
  L.updates_at_last_progress = L.updates;
  if (trainer_start(&L, err, sizeof err) != 0) {
    LOG_E("learner", "%s", err);
    finish(&L, 2);
  } else {
    uint64_t ms = (uint64_t)(L.cfg.progress_interval_s * 1000);
    uv_timer_start(&L.progress, on_progress, ms, ms);
    uint64_t sw = (uint64_t)(L.cfg.heartbeat_interval_s * 500);
    uv_timer_start(&L.sweep, on_sweep, sw ? sw : 1, sw ? sw : 1);
  }
  uv_run(L.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(L.loop);
  if (rc != 0) LOG_W("learner", "loop closed with handles open: %s", uv_strerror(rc));
  if (L.metrics) fclose(L.metrics);
  L.algo->destroy(L.algo_state);
  replay_free(&L.replay);
  snapshot_free(&L.snap);
  free(L.solved_params);
  free(L.eval_params);
  return L.exit_code;
bad:
  fprintf(stderr, "rlserve learner: %s\n", err);
  return 2;
}
