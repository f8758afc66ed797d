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

#include "addr.h"
#include "auth.h"
#include "checkpoint.h"
#include "extenv.h"
#include "log.h"
#include "plugin.h"
#include "report.h"
#include "rundir.h"
#include "spaces_ckpt.h"
#include "status_fill.h"
#include "wire.h"

static void out_path(const learner_t *L, const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s", L->run.out_dir, name);
}

/* The evaluation a run reports: when solved, the one that nominated the confirmed weights;
 * otherwise the latest. */
static const eval_result_t *reported_eval(const learner_t *L, solve_seeds_t *seeds, uint64_t *at) {
  *seeds = L->sh.solved ? L->sh.solved_seeds : L->sh.eval_seeds;
  *at = L->sh.solved ? L->sh.solved_at_steps : L->sh.eval_at_steps;
  return L->sh.solved ? &L->sh.solved_eval : &L->sh.eval;
}

/* Writes the evaluated policy (policy.ckpt): the confirmed weights when solved, else the latest
 * evaluated ones. Threads are joined. */
static void write_policy(learner_t *L) {
  if (!L->run.out_dir[0] || !L->sh.have_eval) return;
  char *cfg_text = config_to_text(&L->run.cfg);
  size_t nb = L->tr.w.n_policy * sizeof(float); /* the acting part: Q-network or actor */
  const float *pol = L->sh.solved ? L->sh.solved_params : L->sh.eval_params;
  solve_seeds_t seeds;
  uint64_t at;
  const eval_result_t *e = reported_eval(L, &seeds, &at);
  char evtext[512], path[1100], err[512];
  int n = snprintf(evtext, sizeof evtext,
                   "mean = %.17g\nstd = %.17g\nenv_steps = %llu\nseed_first = %llu\n"
                   "seed_count = %llu\nsolved = %s\n",
                   e->mean, e->std, (unsigned long long)at, (unsigned long long)seeds.first,
                   (unsigned long long)seeds.count, L->sh.solved ? "true" : "false");
  if (L->sh.have_confirm && L->sh.confirm_at_steps == at)
    snprintf(evtext + n, sizeof evtext - (size_t)n,
             "confirm_mean = %.17g\nconfirm_std = %.17g\nconfirm_seed_first = %llu\n"
             "confirm_seed_count = %llu\n",
             L->sh.confirm.mean, L->sh.confirm.std, (unsigned long long)L->sh.confirm_seeds.first,
             (unsigned long long)L->sh.confirm_seeds.count);
  char layout[512];
  nn_layout_describe(&L->run.pol.layout, layout, sizeof layout);
  checkpoint_section_t p[] = {{"config", cfg_text, cfg_text ? strlen(cfg_text) : 0},
                              {"online", pol, nb},
                              {"eval", evtext, strlen(evtext)},
                              {"layout", layout, strlen(layout)},
                              {SPACES_CKPT_SECTION, NULL, 0}};
  /* env = worker:ID: the declared spaces, so `rlserve export` can rebuild the policy. */
  uint8_t spaces[SPACES_CKPT_MAX_BYTES];
  size_t sl = L->run.worker_env ? spaces_ckpt_encode(L->run.spec, spaces) : 0;
  p[4].data = spaces;
  p[4].len = sl;
  out_path(L, "policy.ckpt", path, sizeof path);
  if (checkpoint_write_keyed(path, p, sl ? 5 : 4, L->run.auth ? L->run.ckpt_key : NULL, err,
                             sizeof err) != 0)
    LOG_E("learner", "%s", err);
  free(cfg_text);
}

/* summary.json's confirmation fields: the one that confirmed (solved), else the latest one;
 * null when no evaluation met the threshold. */
static void summary_confirm(cJSON *j, const learner_t *L) {
  if (!L->sh.have_confirm) {
    cJSON_AddNullToObject(j, "confirm_mean");
    cJSON_AddNullToObject(j, "confirm_std");
    return;
  }
  cJSON_AddNumberToObject(j, "confirm_mean", L->sh.confirm.mean);
  cJSON_AddNumberToObject(j, "confirm_std", L->sh.confirm.std);
  cJSON_AddNumberToObject(j, "confirm_episodes", L->sh.confirm.episodes);
  cJSON_AddNumberToObject(j, "confirm_env_steps", (double)L->sh.confirm_at_steps);
  cJSON_AddNumberToObject(j, "confirm_seed_first", (double)L->sh.confirm_seeds.first);
  cJSON_AddNumberToObject(j, "confirm_seed_count", (double)L->sh.confirm_seeds.count);
}

static void write_summary(learner_t *L, double wall) {
  if (!L->run.out_dir[0]) return;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "solved", L->sh.solved); /* an evaluation and its confirmation */
  cJSON_AddNumberToObject(j, "env_steps",
                          (double)(L->sh.solved ? L->sh.solved_at_steps : L->sh.env_steps));
  cJSON_AddNumberToObject(j, "env_steps_total", (double)L->sh.env_steps);
  cJSON_AddNumberToObject(j, "updates", (double)L->sh.updates);
  cJSON_AddNumberToObject(j, "wall_seconds", wall);
  if (L->sh.have_eval) {
    /* Solved: the evaluation that met the threshold and was confirmed; otherwise the latest. */
    solve_seeds_t seeds;
    uint64_t at;
    const eval_result_t *e = reported_eval(L, &seeds, &at);
    cJSON_AddNumberToObject(j, "eval_mean", e->mean);
    cJSON_AddNumberToObject(j, "eval_std", e->std);
    cJSON_AddNumberToObject(j, "eval_episodes", e->episodes);
    cJSON_AddNumberToObject(j, "eval_env_steps", (double)at);
    cJSON_AddNumberToObject(j, "eval_seed_first", (double)seeds.first);
    cJSON_AddNumberToObject(j, "eval_seed_count", (double)seeds.count);
  } else {
    cJSON_AddNullToObject(j, "eval_mean");
    cJSON_AddNullToObject(j, "eval_std");
  }
  summary_confirm(j, L);
  cJSON_AddNumberToObject(j, "evaluations", (double)L->sh.n_evals);
  cJSON_AddNumberToObject(j, "confirmations", (double)L->sh.n_confirms);
  cJSON_AddNumberToObject(j, "threshold", L->run.threshold);
  cJSON_AddStringToObject(j, "env", L->run.cfg.env);
  cJSON_AddStringToObject(j, "algo", L->run.cfg.algo);
  cJSON_AddStringToObject(j, "preset", L->run.cfg.preset);
  cJSON_AddNumberToObject(j, "seed", (double)L->run.cfg.seed);
  cJSON_AddNumberToObject(j, "episodes", (double)L->sh.episodes);
  cJSON_AddBoolToObject(j, "interrupted", L->net.interrupted);
  if (L->sh.checkpoint_failures) /* threads are joined: no lock needed */
    cJSON_AddStringToObject(j, "checkpoint_error", L->sh.checkpoint_error);
  else
    cJSON_AddNullToObject(j, "checkpoint_error");
  cJSON_AddNumberToObject(j, "checkpoint_failures", (double)L->sh.checkpoint_failures);
  char err[1300];
  if (rundir_write_summary(L->run.out_dir, j, RUNDIR_PRETTY, err, sizeof err) != 0)
    LOG_E("learner", "%s", err);
  cJSON_Delete(j);
}

static void progress(learner_t *L, int final);

static void finish(learner_t *L, int code) {
  if (L->net.finishing) return;
  L->net.finishing = 1;
  L->net.exit_code = code;
  net_stop_ingest(L); /* nothing is inserted while the run is saved */
  trainer_join(L);
  progress(L, 1);
  if (L->run.out_dir[0] && learner_built(L)) learner_save_state(L); /* built (extenv.h) */
  if (L->sh.checkpoint_failures) { /* a run that cannot be resumed as it stood is an error */
    LOG_E("learner", "%llu checkpoint write(s) failed, the last: %s",
          (unsigned long long)L->sh.checkpoint_failures, L->sh.checkpoint_error);
    L->net.exit_code = 2;
  }
  write_policy(L);
  write_summary(L, learner_now() - L->net.t_start);
  if (L->run.out_dir[0]) {
    char mpath[1100], spath[1100], rpath[1100], err[1300];
    if (L->net.metrics) fflush(L->net.metrics);
    out_path(L, "metrics.jsonl", mpath, sizeof mpath);
    out_path(L, "summary.json", spath, sizeof spath);
    out_path(L, "report.html", rpath, sizeof rpath);
    if (report_write(mpath, spath, rpath, err, sizeof err) != 0)
      LOG_W("learner", "report: %s", err);
    else
      LOG_I("learner", "report: %s", rpath);
  }
  net_close_all(L);
  if (L->net.status) status_http_close(L->net.status, NULL, NULL);
  L->net.status = NULL;
  uv_close((uv_handle_t *)&L->net.wake, NULL);
  uv_close((uv_handle_t *)&L->net.progress, NULL);
  uv_close((uv_handle_t *)&L->net.sweep, NULL);
  uv_close((uv_handle_t *)&L->net.sigint, NULL);
  uv_close((uv_handle_t *)&L->net.sigterm, NULL);
}

static void on_sweep(uv_timer_t *t) {
  learner_t *L = t->data;
  if (!L->net.finishing) net_sweep(L);
  if (!L->net.finishing) reval_poll(L); /* evaluation shares that timed out (reval.h) */
}

/* Ends the run when it is solved, spent or interrupted. Net thread. */
static void learner_check_finish(learner_t *L) {
  if (L->net.finishing) return;
  if (L->net.build_failed) {
    finish(L, 2);
    return;
  }
  pthread_mutex_lock(&L->sh.mu);
  int solved = L->sh.solved;
  int spent = L->sh.env_steps >= (uint64_t)L->run.cfg.env_steps_budget;
  int final_done = L->sh.final_eval_done;
  if (spent && !solved && !final_done && !L->sh.final_eval_requested) {
    if (L->sh.have_eval && L->sh.eval_at_steps >= L->sh.env_steps && !L->sh.eval_running)
      final_done = 1; /* the latest evaluation already saw the whole budget */
    else
      L->sh.final_eval_requested = 1;
    pthread_cond_broadcast(&L->sh.eval_cv);
  }
  pthread_mutex_unlock(&L->sh.mu);
  if (solved)
    finish(L, 0);
  else if (spent && final_done)
    finish(L, 1);
}

static void on_wake(uv_async_t *h) {
  learner_t *L = h->data;
  if (L->net.finishing) return;
  if (learner_built(L)) net_on_wake(L); /* a worker-env run has nothing to send before */
  reval_poll(L);
  learner_check_finish(L);
}

static void on_signal(uv_signal_t *h, int signum) {
  learner_t *L = h->data;
  LOG_I("learner", "signal %d: saving and shutting down", signum);
  L->net.interrupted = 1;
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
  double now = learner_now(), dt = now - L->net.t_last_progress;
  pthread_mutex_lock(&L->sh.mu);
  uint64_t steps = L->sh.env_steps, updates = L->sh.updates;
  double loss = L->sh.loss_ema, q = L->sh.q_ema;
  int have_eval = L->sh.have_eval;
  eval_result_t ev = L->sh.eval;
  uint64_t ev_at = L->sh.eval_at_steps;
  int have_confirm = L->sh.have_confirm;
  double confirm_mean = L->sh.confirm.mean;
  uint64_t confirm_at = L->sh.confirm_at_steps;
  pthread_mutex_unlock(&L->sh.mu);
  replay_counts_t rc = {0};
  if (learner_built(L)) rc = replay_counts(&L->replay); /* a worker-env run is built late */
  double sps = dt > 0 ? (double)(steps - L->net.steps_at_last_progress) / dt : 0;
  double ups = dt > 0 ? (double)(updates - L->net.updates_at_last_progress) / dt : 0;
  double ret = returns_window_mean(&L->net.returns);
  int active = 0;
  for (worker_conn_t *c = L->net.conns; c; c = c->next) active += c->state == CONN_ACTIVE;
  char a[32], b[32], c1[32], c2[32], evs[128], cm[32];
  fmt_count(a, sizeof a, (double)steps);
  fmt_count(b, sizeof b, (double)updates);
  fmt_count(c1, sizeof c1, (double)rc.size);
  fmt_count(c2, sizeof c2, (double)rc.capacity);
  if (have_eval) {
    char at[32];
    fmt_count(at, sizeof at, (double)ev_at);
    int n = snprintf(evs, sizeof evs, "%.1f +- %.1f @%s", ev.mean, ev.std, at);
    if (have_confirm && confirm_at == ev_at) /* this evaluation met the threshold */
      snprintf(evs + n, sizeof evs - (size_t)n, ", confirm %.1f", confirm_mean);
  } else {
    snprintf(evs, sizeof evs, "-");
  }
  /* On a terminal one live line is rewritten in place; otherwise (logs, CI) plain lines. */
  static int tty = -1;
  if (tty < 0) tty = isatty(STDOUT_FILENO);
  printf(
      "%s[%6.1fs] steps %s (%.0f/s) | updates %s (%.0f/s) | replay %s/%s | return(100) %.1f | "
      "eval %s | workers %d%s%s",
      tty ? "\r\033[K" : "", now - L->net.t_start, a, sps, b, ups, c1, c2, ret, evs, active,
      final ? (L->sh.solved ? " | SOLVED" : " | done") : "", tty && !final ? "" : "\n");
  fflush(stdout);
  {
    char lossbuf[32], qbuf[32], row[1024]; /* JSON has no NaN: a diverged value is null */
    if (isfinite(loss))
      snprintf(lossbuf, sizeof lossbuf, "%.6g", loss);
    else
      snprintf(lossbuf, sizeof lossbuf, "null");
    if (isfinite(q))
      snprintf(qbuf, sizeof qbuf, "%.6g", q);
    else
      snprintf(qbuf, sizeof qbuf, "null");
    int rn = snprintf(
        row, sizeof row,
        "{\"t\":%.3f,\"env_steps\":%llu,\"env_steps_per_s\":%.1f,\"updates\":%llu,"
        "\"updates_per_s\":%.1f,\"replay_size\":%zu,\"loss\":%s,\"mean_q\":%s,"
        "\"train_return_mean100\":%s,\"eval_mean\":%s,\"eval_std\":%s,\"eval_env_steps\":%llu,"
        "\"confirm_mean\":%s,\"confirm_env_steps\":%llu,\"workers\":%d,\"episodes\":%llu}",
        now - L->net.t_start, (unsigned long long)steps, sps, (unsigned long long)updates, ups,
        rc.size, lossbuf, qbuf, isnan(ret) ? "null" : (snprintf(a, sizeof a, "%.3f", ret), a),
        have_eval ? (snprintf(b, sizeof b, "%.3f", ev.mean), b) : "null",
        have_eval ? (snprintf(c1, sizeof c1, "%.3f", ev.std), c1) : "null",
        (unsigned long long)ev_at,
        have_confirm ? (snprintf(cm, sizeof cm, "%.3f", confirm_mean), cm) : "null",
        (unsigned long long)(have_confirm ? confirm_at : 0), active,
        (unsigned long long)L->sh.episodes);
    if (rn > 0 && (size_t)rn < sizeof row) {
      /* The same row for metrics.jsonl and GET /history (a run without a folder has only the
       * latter). */
      if (L->net.metrics) rundir_metrics_write(L->net.metrics, "%s", row);
      history_add(&L->net.history, row, (size_t)rn);
    }
  }
  L->net.t_last_progress = now;
  L->net.steps_at_last_progress = steps;
  L->net.updates_at_last_progress = updates;
}

static void on_progress(uv_timer_t *t) {
  learner_t *L = t->data;
  if (L->net.finishing) return;
  progress(L, 0);
  learner_check_finish(L);
}

/* setup_run for env = worker:ID (extenv.h): the env's spaces come with the first worker, so
 * only what does not need them is checked here; learner_setup_declared does the rest. */
static int setup_worker_env(learner_t *L, int dry, char *err, size_t errlen) {
  config_t *c = &L->run.cfg;
  const char *id = extenv_id(c->env);
  if (!id[0] || strlen(id) >= sizeof L->run.declared_id || strchr(id, ':')) {
    snprintf(err, errlen,
             "config: env = '%s': expected " EXTENV_PREFIX
             "ID with the env id the workers declare "
             "(at most %zu bytes, no options)",
             c->env, sizeof L->run.declared_id - 1);
    return -1;
  }
  if (c->env_plugin[0]) {
    snprintf(err, errlen,
             "config: env = '%s' lives in the workers; env_plugin = '%s' cannot be used with it",
             c->env, c->env_plugin);
    return -1;
  }
  if (isnan(c->solve_threshold)) {
    snprintf(err, errlen,
             "config: env = '%s' lives in the workers, so the learner does not know its reward "
             "threshold: set solve_threshold (e.g. --set solve_threshold=-6)",
             c->env);
    return -1;
  }
  if (algo_validate_config(c, NULL, &L->run.algo, err, errlen) != 0) return -1;
  if (L->run.algo->mode != ALGO_ACTOR_LEARNER) {
    snprintf(err, errlen, "config: algo %s is not served by the learner", c->algo);
    return -1;
  }
  snprintf(L->run.declared_id, sizeof L->run.declared_id, "%s", id);
  L->run.worker_env = 1;
  L->run.threshold = c->solve_threshold;
  if (!dry && L->run.out_dir[0] && rundir_mkdir(L->run.out_dir, err, errlen) != 0) return -1;
  return 0;
}

/* Config, env and algorithm checks, and the run folder (not when dry: --check-args); before
 * anything is built. */
static int setup_run(learner_t *L, const learner_opts_t *o, int dry, char *err, size_t errlen) {
  L->run.cfg = o->cfg;
  snprintf(L->run.out_dir, sizeof L->run.out_dir, "%s", o->out_dir);
  snprintf(L->run.port_file, sizeof L->run.port_file, "%s", o->port_file);
  L->run.auth = o->auth;
  memcpy(L->run.auth_key, o->auth_key, sizeof L->run.auth_key);
  if (L->run.auth) checkpoint_key_derive(L->run.auth_key, L->run.ckpt_key);
  config_t *c = &L->run.cfg;
  if (config_validate(c, err, errlen) != 0) return -1;
  /* A bad --listen is a usage error: refuse it before anything is built or written. */
  addr_t listen_addr;
  char aerr[1024];
  if (addr_resolve(o->listen, &listen_addr, aerr, sizeof aerr) != 0) {
    snprintf(err, errlen, "--listen %s", aerr);
    return -1;
  }
  /* An open door by accident: anyone who can connect could feed the run and read its weights. */
  if (!o->auth && !o->insecure && !addr_is_loopback(&listen_addr.sa)) {
    snprintf(err, errlen,
             "--listen %s is reachable from other machines and no --token-file was given, so "
             "anyone who can connect could feed this run. Make a token and give it to the learner "
             "and every worker:\n  head -c 32 /dev/urandom | base64 > token; chmod 600 token\n"
             "  rlserve learner --token-file token ...; rlserve worker --token-file token ...\n"
             "or pass --insecure to listen without one (a trusted network only)",
             o->listen);
    return -1;
  }
  if (!o->auth && o->insecure && !addr_is_loopback(&listen_addr.sa))
    LOG_W("learner",
          "--insecure: listening on %s without a token; anyone who can connect can "
          "feed this run",
          o->listen);
  if (extenv_id(c->env)) return setup_worker_env(L, dry, err, errlen);
  if (c->env_plugin[0] &&
      env_plugin_load_info(c->env_plugin, &L->run.plugin_info, err, errlen) != 0)
    return -1;
  L->run.plugin = c->env_plugin[0] && !strcmp(c->env, L->run.plugin_info.id);
  L->run.spec = env_find(c->env);
  if (!L->run.spec) {
    snprintf(err, errlen, "config: env = '%s' is not a known environment", c->env);
    return -1;
  }
  char env_err[384];
  if (env_check_id(c->env, env_err, sizeof env_err) != 0) { /* options in the id (envs/README.md) */
    snprintf(err, errlen, "config: env = '%s': %s", c->env, env_err);
    return -1;
  }
  if (algo_validate_config(c, L->run.spec, &L->run.algo, err, errlen) != 0) return -1;
  if (L->run.algo->mode != ALGO_ACTOR_LEARNER) {
    char names[128];
    algo_names(names, sizeof names, ALGO_ACTOR_LEARNER);
    snprintf(err, errlen,
             "config: algo %s is not served by the learner (%s are; on-policy "
             "methods run in-process with rlserve run)",
             c->algo, names);
    return -1;
  }
  L->run.threshold = isnan(c->solve_threshold) ? L->run.spec->reward_threshold : c->solve_threshold;
  if (!dry && L->run.out_dir[0] && rundir_mkdir(L->run.out_dir, err, errlen) != 0) return -1;
  return L->run.algo->policy(c, L->run.spec, &L->run.pol, err, errlen);
}

/* The algorithm's state, replay, the snapshot and the shared counters (resumed from the run
 * folder's checkpoint when resume is set). */
static int setup_state(learner_t *L, const char *resume, char *err, size_t errlen) {
  const config_t *c = &L->run.cfg;
  rng_seed(&L->tr.rng, rng_derive((uint64_t)c->seed, 1));
  rng_t init_rng;
  rng_seed(&init_rng, rng_derive((uint64_t)c->seed, 2));
  L->tr.algo_state = L->run.algo->create(L->run.algo, c, L->run.spec, &init_rng, err, errlen);
  if (!L->tr.algo_state) return -1;
  L->run.algo->weights(L->tr.algo_state, &L->tr.w);
  size_t n = L->tr.w.n;
  flow_limits_t lim = {.min_size = (uint64_t)c->learning_starts,
                       .spi = c->samples_per_insert,
                       .slack = (uint64_t)c->rate_limit_slack};
  L->sh.solved_params = calloc(n, sizeof(float));
  L->sh.eval_params = calloc(n, sizeof(float));
  if (replay_init(&L->replay, (size_t)c->replay_capacity, (size_t)L->run.pol.obs_dim,
                  (size_t)L->run.pol.act_dim, &lim) != 0 ||
      snapshot_init(&L->snap, n) != 0 || !L->sh.solved_params || !L->sh.eval_params) {
    snprintf(err, errlen, "out of memory for replay_capacity = %lld",
             (long long)c->replay_capacity);
    return -1;
  }
  if (c->actor_priorities && (!L->tr.w.target || snapshot_keep_target(&L->snap) != 0)) {
    snprintf(err, errlen,
             L->tr.w.target ? "out of memory for the target network snapshot"
                            : "actor_priorities: algo %s does not publish a target network",
             c->algo);
    return -1;
  }
  if (L->run.spec->obs.binary && replay_set_obs_bits(&L->replay) != 0) {
    snprintf(err, errlen, "out of memory for replay_capacity = %lld (bits)",
             (long long)c->replay_capacity);
    return -1;
  }
  replay_set_gamma(&L->replay, (float)c->gamma);
  if (!strcmp(c->replay, "prioritized")) {
    replay_per_t per = {.alpha = c->per_alpha,
                        .eps = c->per_eps,
                        .beta0 = c->per_beta0,
                        .beta_steps = (uint64_t)c->env_steps_budget};
    if (replay_set_prioritized(&L->replay, &per) != 0) {
      snprintf(err, errlen, "out of memory for the priority tree of replay_capacity = %lld",
               (long long)c->replay_capacity);
      return -1;
    }
  }
  if (resume && learner_load_state(L, resume, err, errlen) != 0) return -1;
  if (resume && c->checkpoint_replay && learner_load_replay(L, resume, err, errlen) != 0)
    return -1;
  snapshot_publish_pair(&L->snap, L->tr.w.online, L->tr.w.target);
  L->sh.next_eval_at = L->sh.env_steps + (uint64_t)c->eval_interval;
  return 0;
}

int learner_setup_declared(learner_t *L, char *err, size_t errlen) {
  const config_t *c = &L->run.cfg;
  if (algo_validate_config(c, L->run.spec, &L->run.algo, err, errlen) != 0 ||
      L->run.algo->policy(c, L->run.spec, &L->run.pol, err, errlen) != 0 ||
      setup_state(L, L->run.resume[0] ? L->run.resume : NULL, err, errlen) != 0)
    return -1;
  LOG_I("learner", "%s on %s (declared by the workers): %zu parameters, solve at %.1f", c->algo,
        L->run.spec->id, L->tr.w.n, L->run.threshold);
  return trainer_start(L, err, errlen);
}

static void free_state(learner_t *L) {
  if (L->net.metrics) fclose(L->net.metrics);
  history_free(&L->net.history);
  if (L->tr.algo_state) L->run.algo->destroy(L->tr.algo_state);
  learner_replay_join(L);
  replay_free(&L->replay);
  snapshot_free(&L->snap);
  free(L->sh.solved_params);
  free(L->sh.eval_params);
}

/* config.conf (what this learner runs) and metrics.jsonl (appended to on resume). */
static void open_run_files(learner_t *L, int resume) {
  if (!L->run.out_dir[0]) return;
  char path[1100];
  out_path(L, "config.conf", path, sizeof path);
  char *text = config_to_text(&L->run.cfg);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  free(text);
  char err[1300];
  /* A resumed run's history starts with the rows it wrote before. */
  out_path(L, "metrics.jsonl", path, sizeof path);
  if (resume) history_follow(&L->net.history, path);
  L->net.metrics = rundir_metrics_open(L->run.out_dir, resume, err, sizeof err);
  if (!L->net.metrics) LOG_E("learner", "%s", err);
}

/* The loop's own handles: the trainer's wake-up, the timers and the signals. */
static void start_loop(learner_t *L) {
  learner_net_t *n = &L->net;
  n->loop = uv_default_loop();
  uv_async_init(n->loop, &n->wake, on_wake);
  uv_timer_init(n->loop, &n->progress);
  uv_timer_init(n->loop, &n->sweep);
  uv_signal_init(n->loop, &n->sigint);
  uv_signal_init(n->loop, &n->sigterm);
  n->wake.data = n->progress.data = n->sweep.data = L;
  n->sigint.data = n->sigterm.data = L;
  uv_signal_start(&n->sigint, on_signal, SIGINT);
  uv_signal_start(&n->sigterm, on_signal, SIGTERM);
}

/* GET /history[?since=N]: the run's metrics rows from row N on. Net thread. */
static int serve_history(void *ctx, const char *query, size_t qlen, char **out) {
  learner_t *L = ctx;
  uint64_t since = 0;
  if (history_query_u64(query, qlen, "since", &since) < 0) {
    *out = strdup("/history: since must be a row number (a non-negative integer)\n");
    return 400;
  }
  *out = history_json(&L->net.history, since);
  return 200;
}

/* The status socket (a failure to start it is logged; the run goes on without it). */
static void start_status(learner_t *L, const char *status_addr) {
  char err[1024];
  status_http_sources_t src = {.ctx = L,
                               .status_json = status_fill_json,
                               .metrics_text = status_fill_metrics,
                               .history_json = serve_history};
  if (status_http_start(L->net.loop, status_addr, &src, &L->net.status, err, sizeof err) != 0) {
    LOG_E("learner", "status socket: %s (continuing without it)", err);
    L->net.status = NULL;
    return;
  }
  int sp = status_http_port(L->net.status);
  LOG_I("learner", "status on http://%s/ (port %d)", status_addr, sp);
  if (L->run.out_dir[0]) {
    char path[1100];
    out_path(L, "status.port", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (f) {
      fprintf(f, "%d\n", sp);
      fclose(f);
    }
  }
}

/* net_start failed (it closed the listener): close the rest and let the loop end. */
static void close_early(learner_t *L) {
  learner_net_t *n = &L->net;
  n->finishing = 1;
  if (n->status) status_http_close(n->status, NULL, NULL);
  uv_close((uv_handle_t *)&n->wake, NULL);
  uv_close((uv_handle_t *)&n->progress, NULL);
  uv_close((uv_handle_t *)&n->sweep, NULL);
  uv_close((uv_handle_t *)&n->sigint, NULL);
  uv_close((uv_handle_t *)&n->sigterm, NULL);
  uv_run(n->loop, UV_RUN_DEFAULT);
  uv_loop_close(n->loop);
}

/* The threads and the timers; the loop runs until finish() has closed every handle. */
static void serve(learner_t *L) {
  const config_t *c = &L->run.cfg;
  char err[512];
  if (L->run.worker_env)
    LOG_I("learner",
          "%s on %s: waiting for the first worker to declare the env's spaces (python3 -m "
          "rlserve_worker --env-id %s ...); solve at %.1f, budget %lld env steps",
          c->algo, c->env, L->run.declared_id, L->run.threshold, (long long)c->env_steps_budget);
  else
    LOG_I("learner",
          "%s on %s: %zu parameters, batch %lld, replay %lld, %.3g samples/insert, "
          "solve at %.1f, budget %lld env steps",
          c->algo, c->env, L->tr.w.n, (long long)c->batch_size, (long long)c->replay_capacity,
          c->samples_per_insert, L->run.threshold, (long long)c->env_steps_budget);
  L->net.t_start = L->net.t_last_progress = L->tr.last_checkpoint_at = learner_now();
  L->net.steps_at_last_progress = L->sh.env_steps;
  L->net.updates_at_last_progress = L->sh.updates;
  if (!L->run.worker_env && trainer_start(L, err, sizeof err) != 0) {
    LOG_E("learner", "%s", err);
    finish(L, 2);
  } else {
    uint64_t ms = (uint64_t)(c->progress_interval_s * 1000);
    uv_timer_start(&L->net.progress, on_progress, ms, ms);
    uint64_t sw = (uint64_t)(c->heartbeat_interval_s * 500);
    uv_timer_start(&L->net.sweep, on_sweep, sw ? sw : 1, sw ? sw : 1);
  }
  uv_run(L->net.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(L->net.loop);
  if (rc != 0) LOG_W("learner", "loop closed with handles open: %s", uv_strerror(rc));
}

int learner_run(const learner_opts_t *o) {
  static learner_t L; /* one learner per process; large, so not on the stack */
  memset(&L, 0, sizeof L);
  char err[2048];
  pthread_mutex_init(&L.sh.mu, NULL);
  pthread_cond_init(&L.sh.eval_cv, NULL);
  if (reval_init(&L.reval) != 0) {
    fprintf(stderr, "rlserve learner: cannot set up evaluations\n");
    return 2;
  }
  if (o->resume) snprintf(L.run.resume, sizeof L.run.resume, "%s", o->resume);
  /* A worker-env run is built when its first worker declares the env (extenv.h). */
  if (setup_run(&L, o, 0, err, sizeof err) != 0 ||
      (!L.run.worker_env && setup_state(&L, o->resume, err, sizeof err) != 0)) {
    fprintf(stderr, "rlserve learner: %s\n", err);
    free_state(&L);
    return 2;
  }
  if (history_init(&L.net.history, (size_t)L.run.cfg.history_limit) != 0) {
    fprintf(stderr, "rlserve learner: out of memory for history_limit = %lld\n",
            (long long)L.run.cfg.history_limit);
    free_state(&L);
    return 2;
  }
  open_run_files(&L, o->resume != NULL);
  start_loop(&L);
  if (o->status_addr) start_status(&L, o->status_addr);
  if (net_start(&L, o->listen, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve learner: %s\n", err);
    close_early(&L);
    free_state(&L);
    return 2;
  }
  serve(&L);
  free_state(&L);
  reval_free(&L.reval);
  return L.net.exit_code;
}

int learner_check(const learner_opts_t *o, char *err, size_t errlen) {
  static learner_t L; /* large, so not on the stack; only L.run is filled */
  memset(&L, 0, sizeof L);
  if (setup_run(&L, o, 1, err, errlen) != 0) return -1;
  /* A real start goes on without a status socket it cannot open; a deployment whose probes
   * read it would never become ready, so here a bad address is an error. */
  addr_t sa;
  char aerr[1024];
  if (o->status_addr && addr_resolve(o->status_addr, &sa, aerr, sizeof aerr) != 0) {
    snprintf(err, errlen, "--status %s", aerr);
    return -1;
  }
  return 0;
}
