/* onpolicy: the in-process runner of the on-policy families (onpolicy.h). Everything that
 * differs between algorithms is behind the row's onpolicy_ops_t. */
#include "onpolicy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rundir.h"

#define WINDOW 100 /* episodes in the training mean that decides "solved" */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int onpolicy_parse_list(const char *s, double *out, int max) {
  int n = 0;
  while (*s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || n >= max) return -1;
    out[n++] = v;
    while (*end == ' ') end++;
    if (*end == 0) break;
    if (*end != ',') return -1;
    s = end + 1;
  }
  return n;
}

int onpolicy_features(const config_t *cfg, const env_spec_t *spec, linfeat_t *f, char *err,
                      size_t errlen) {
  int kind = linfeat_kind_parse(cfg->features);
  if (kind < 0) {
    snprintf(err, errlen,
             "features = '%s'; expected aggregation, polynomial, fourier, tiles or constant%s",
             cfg->features, " (mlp: policy-gradient algorithms only)");
    return -1;
  }
  const int dim = spec->obs.dim;
  if (dim > ENV_MAX_DIM) { /* image observations (MinAtar): no per-dimension bounds here */
    snprintf(err, errlen, "features = '%s': %s has %d observation dims, linear features take at most %d",
             cfg->features, spec->id, dim, ENV_MAX_DIM);
    return -1;
  }
  double lo[ENV_MAX_DIM], hi[ENV_MAX_DIM];
  for (int j = 0; j < dim; j++) lo[j] = spec->obs.low[j], hi[j] = spec->obs.high[j];
  if (cfg->feature_low[0] && onpolicy_parse_list(cfg->feature_low, lo, ENV_MAX_DIM) != dim) {
    snprintf(err, errlen, "feature_low = '%s': expected %d comma-separated numbers for %s",
             cfg->feature_low, dim, spec->id);
    return -1;
  }
  if (cfg->feature_high[0] && onpolicy_parse_list(cfg->feature_high, hi, ENV_MAX_DIM) != dim) {
    snprintf(err, errlen, "feature_high = '%s': expected %d comma-separated numbers for %s",
             cfg->feature_high, dim, spec->id);
    return -1;
  }
  char ferr[256];
  if (linfeat_init(f, (linfeat_kind_t)kind, dim, lo, hi, (int)cfg->feature_order, (int)cfg->tiles,
                   (int)cfg->tilings, (int)cfg->tile_hash, ferr, sizeof ferr)) {
    snprintf(err, errlen, "%s (env %s)", ferr, spec->id);
    return -1;
  }
  return 0;
}

/* One run: the env, the family's state and what the runner tracks over the episodes. */
typedef struct run {
  const config_t *cfg;
  const onpolicy_ops_t *ops;
  void *state;
  env_t env;
  FILE *metrics;
  int quiet;
  double threshold;            /* the training mean that counts as solved (return target) */
  double window[WINDOW], wsum; /* the last WINDOW returns and their sum */
  double best;                 /* best full-window training mean */
  double block_ret, block_len; /* sums since the last metrics line */
  long env_steps, solved_episode;
  double t0, next_progress;
} run_t;

static int run_open(run_t *r, const algo_t *a, const config_t *cfg, const char *out_dir, char *err,
                    size_t errlen) {
  memset(r, 0, sizeof *r);
  r->cfg = cfg;
  r->ops = a->family;
  r->best = -INFINITY;
  r->solved_episode = -1;
  char e2[256];
  if (env_init(&r->env, cfg->env, e2, sizeof e2)) {
    snprintf(err, errlen, "%s", e2);
    return -1;
  }
  r->state = r->ops->create(a, cfg, r->env.spec, err, errlen);
  if (!r->state) return -1;
  r->metrics = rundir_metrics_open(out_dir, 0, err, errlen);
  if (!r->metrics) return -1;
  r->threshold = isnan(cfg->solve_threshold) ? r->env.spec->reward_threshold : cfg->solve_threshold;
  return 0;
}

static void run_close(run_t *r) {
  if (r->metrics) fclose(r->metrics);
  if (r->state) r->ops->destroy(r->state);
  if (r->env.spec) env_free(&r->env);
}

/* The family's metrics after the standard keys of obj. */
static void add_family_metrics(run_t *r, cJSON *obj) {
  onpolicy_metric_t m[ONPOLICY_MAX_METRICS];
  int n = r->ops->metrics ? r->ops->metrics(r->state, m) : 0;
  for (int i = 0; i < n; i++) rundir_add_number(obj, m[i].key, m[i].value);
}

/* One metrics.jsonl line: the mean return and length of the nb episodes since the last one. */
static int write_metrics(run_t *r, long episode, long nb, char *err, size_t errlen) {
  cJSON *j = cJSON_CreateObject();
  char *line = NULL;
  if (j) {
    rundir_add_int(j, "episode", episode);
    rundir_add_int(j, "env_steps", r->env_steps);
    rundir_add_number(j, "return", r->block_ret / (double)nb);
    rundir_add_number(j, "length", r->block_len / (double)nb);
    add_family_metrics(r, j);
    line = rundir_json_line(j);
  }
  cJSON_Delete(j);
  int rc = line ? rundir_metrics_write(r->metrics, "%s", line) : -1;
  if (rc)
    snprintf(err, errlen, "cannot write metrics.jsonl: %s",
             line ? strerror(errno) : "out of memory");
  free(line);
  r->block_ret = r->block_len = 0.0;
  return rc;
}

/* The family's description after a progress or final line (sep: "  " or "; "). */
static void print_describe(run_t *r, const char *sep) {
  if (!r->ops->describe) return;
  char buf[256];
  r->ops->describe(r->state, buf, sizeof buf);
  printf("%s%s", sep, buf);
}

static void progress_line(run_t *r, long episode, long n_win, double mean) {
  const config_t *cfg = r->cfg;
  printf("[%s %s] episode %ld/%ld  env_steps %ld  mean return (last %ld) %.2f", cfg->algo, cfg->env,
         episode, (long)cfg->episodes, r->env_steps, n_win, mean);
  print_describe(r, "  ");
  printf("\n");
  fflush(stdout);
}

/* Episode ep (0-based) and what follows it: the window, the return target, metrics, progress. */
static int train_episode(run_t *r, long ep, char *err, size_t errlen) {
  const config_t *cfg = r->cfg;
  const long episodes = (long)cfg->episodes, every = (long)cfg->metrics_every;
  long len;
  double ret;
  if (r->ops->episode(r->state, &r->env, ep == 0 ? (uint64_t)cfg->seed : ENV_SEED_NONE, &len,
                      &ret)) {
    snprintf(err, errlen, "episode %ld: out of memory", ep + 1);
    return -1;
  }
  r->env_steps += len;
  r->wsum += ret - r->window[ep % WINDOW];
  r->window[ep % WINDOW] = ret;
  long n_win = ep + 1 < WINDOW ? ep + 1 : WINDOW;
  double mean = r->wsum / (double)n_win;
  if (!r->ops->reached && (n_win == WINDOW || ep + 1 == episodes)) {
    if (mean > r->best) r->best = mean;
    if (mean >= r->threshold && r->solved_episode < 0) r->solved_episode = ep + 1;
  }
  r->block_ret += ret;
  r->block_len += (double)len;
  if ((ep + 1) % every == 0 || ep + 1 == episodes) {
    long nb = (ep + 1) % every ? (ep + 1) % every : every;
    if (write_metrics(r, ep + 1, nb, err, errlen)) return -1;
  }
  double t = now_s();
  if (!r->quiet && (t >= r->next_progress || ep + 1 == episodes)) {
    r->next_progress = t + cfg->progress_interval_s;
    progress_line(r, ep + 1, n_win, mean);
  }
  return 0;
}

/* One evaluation episode with the learned policy (the family's evaluation action). */
static double eval_episode(run_t *r, uint64_t seed) {
  float obs[ENV_MAX_DIM], action[ENV_MAX_DIM] = {0};
  env_reset(&r->env, seed, obs);
  double g = 0.0;
  for (;;) {
    float rew;
    int term, trunc;
    r->ops->act(r->state, obs, action);
    env_step(&r->env, action, obs, &rew, &term, &trunc);
    g += rew;
    if (term || trunc) break;
    if (r->env.spec->max_episode_steps == 0 && r->env.t >= 1000000) break;
  }
  return g;
}

typedef struct result {
  int solved;
  double wall, eval_mean, eval_std, final_mean, target;
} result_t;

/* Evaluation (eval_episodes episodes with reset seeds eval_seed + i) and the verdict. */
static void finish(run_t *r, result_t *res) {
  const config_t *cfg = r->cfg;
  const long episodes = (long)cfg->episodes, ne = (long)cfg->eval_episodes;
  res->final_mean = r->wsum / (double)(episodes < WINDOW ? episodes : WINDOW);
  res->wall = now_s() - r->t0;
  double es = 0.0, es2 = 0.0;
  for (long i = 0; i < ne; i++) {
    double g = eval_episode(r, (uint64_t)cfg->eval_seed + (uint64_t)i);
    es += g;
    es2 += g * g;
  }
  res->eval_mean = es / (double)ne;
  res->eval_std = sqrt(fmax(0.0, es2 / (double)ne - res->eval_mean * res->eval_mean));
  if (r->ops->reached) {
    res->solved = r->ops->reached(r->state, cfg, &res->target);
  } else {
    res->solved = r->solved_episode > 0;
    res->target = r->threshold;
  }
}

static int write_summary(run_t *r, const result_t *res, const char *out_dir, char *err,
                         size_t errlen) {
  const config_t *cfg = r->cfg;
  const long episodes = (long)cfg->episodes;
  cJSON *j = cJSON_CreateObject();
  if (!j) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  cJSON_AddBoolToObject(j, "solved", res->solved);
  cJSON_AddStringToObject(j, "algo", cfg->algo);
  cJSON_AddStringToObject(j, "env", cfg->env);
  cJSON_AddStringToObject(j, "preset", cfg->preset);
  rundir_add_int(j, "seed", (long long)cfg->seed);
  rundir_add_int(j, "episodes", episodes);
  rundir_add_int(j, "env_steps", r->env_steps);
  rundir_add_int(
      j, "updates",
      r->ops->updates ? r->ops->updates(r->state, episodes, r->env_steps) : r->env_steps);
  rundir_add_number(j, "wall_seconds", res->wall);
  rundir_add_number(j, "eval_mean", res->eval_mean);
  rundir_add_number(j, "eval_std", res->eval_std);
  rundir_add_number(j, "eval_episodes", (double)cfg->eval_episodes);
  rundir_add_number(j, "train_mean_last100", res->final_mean);
  rundir_add_number(j, "train_best_mean100", r->ops->reached ? NAN : r->best);
  rundir_add_number(j, "solve_threshold", res->target);
  rundir_add_number(j, "solved_episode", r->solved_episode > 0 ? (double)r->solved_episode : NAN);
  add_family_metrics(r, j);
  int rc = rundir_write_summary(out_dir, j, RUNDIR_LINE, err, errlen);
  cJSON_Delete(j);
  return rc;
}

int onpolicy_run_row(const algo_t *a, const config_t *cfg, const char *out_dir, int quiet,
                     char *err, size_t errlen) {
  if (rundir_mkdir(out_dir, err, errlen)) return 2;
  run_t r;
  int rc = run_open(&r, a, cfg, out_dir, err, errlen);
  r.quiet = quiet;
  r.t0 = now_s();
  r.next_progress = r.t0 + cfg->progress_interval_s;
  for (long ep = 0; rc == 0 && ep < (long)cfg->episodes; ep++)
    rc = train_episode(&r, ep, err, errlen);
  result_t res;
  if (rc == 0) {
    fclose(r.metrics);
    r.metrics = NULL;
    finish(&r, &res);
    char ferr[512]; /* the run's result stands without the family's files */
    if (r.ops->write_files && r.ops->write_files(r.state, out_dir, ferr, sizeof ferr))
      LOG_W("onpolicy", "%s", ferr);
    rc = write_summary(&r, &res, out_dir, err, errlen);
  }
  if (rc == 0 && !quiet) {
    printf("[%s %s] %s: %ld episodes, %ld env steps, %.2f s; eval %.2f +- %.2f", cfg->algo,
           cfg->env, res.solved ? "reached its target" : "did not reach its target",
           (long)cfg->episodes, r.env_steps, res.wall, res.eval_mean, res.eval_std);
    print_describe(&r, "; ");
    printf("\n");
  }
  run_close(&r);
  if (rc) return 2;
  return res.solved ? 0 : 1;
}

int onpolicy_run(const config_t *cfg, const char *out_dir, int quiet, char *err, size_t errlen) {
  const algo_t *a = algo_find(cfg->algo);
  if (!a || a->mode != ALGO_IN_PROCESS) {
    snprintf(err, errlen, "algo '%s' is not an on-policy algorithm", cfg->algo);
    return 2;
  }
  return a->run(a, cfg, out_dir, quiet, err, errlen);
}
