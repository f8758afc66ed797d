/* onpolicy: the in-process runner of the linear and policy-gradient algorithms (onpolicy.h). */
#include "onpolicy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "algo.h"
#include "env.h"
#include "linear.h"
#include "linfeat.h"
#include "pg.h"

#define WINDOW 100 /* episodes in the training mean that decides "solved" */

typedef enum { KIND_PRED, KIND_CTL, KIND_PG } kind_t;

static int run_row(const algo_t *a, const config_t *c, const char *out_dir, int quiet, char *err,
                   size_t errlen);

/* The rows (algo.h): family = the kind, variant = pred: td; ctl: qlearning; pg: pg_algo_t. */
static const kind_t pred = KIND_PRED, ctl = KIND_CTL, pgk = KIND_PG;
#define ONPOLICY_ROW(id, kind, var, text)            \
  const algo_t algo_##id = {.name = #id,             \
                            .summary = text,         \
                            .mode = ALGO_IN_PROCESS, \
                            .actions = ENV_DISCRETE, \
                            .variant = var,          \
                            .family = &kind,         \
                            .run = run_row}
ONPOLICY_ROW(gmc, pred, 0, "gradient Monte-Carlo prediction, linear features");
ONPOLICY_ROW(td0, pred, 1, "semi-gradient TD(0) prediction, linear features");
ONPOLICY_ROW(sarsa, ctl, 0, "episodic semi-gradient Sarsa, linear action values");
ONPOLICY_ROW(qlearning, ctl, 1, "semi-gradient Q-learning, linear action values");
ONPOLICY_ROW(reinforce, pgk, PG_REINFORCE, "REINFORCE (Monte-Carlo policy gradient)");
ONPOLICY_ROW(reinforce_baseline, pgk, PG_REINFORCE_BASELINE, "REINFORCE with a learned baseline");
ONPOLICY_ROW(actor_critic, pgk, PG_ACTOR_CRITIC, "one-step actor-critic");

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "a,b,c" into at most max doubles; the count, or -1 on a malformed list. */
static int parse_list(const char *s, double *out, int max) {
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

static int mkdir_p(const char *path) {
  char buf[1024];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return -1;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, 0755) && errno != EEXIST) return -1;
      buf[i] = c;
    }
  }
  return 0;
}

static void json_num(FILE *f, const char *key, double v, int last) {
  if (isfinite(v))
    fprintf(f, "\"%s\": %.10g%s", key, v, last ? "" : ", ");
  else
    fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
}

/* Features over the observation, with bounds from feature_low / feature_high or the env. */
static int make_features(const config_t *cfg, const env_spec_t *spec, linfeat_t *f, char *err,
                         size_t errlen) {
  int kind = linfeat_kind_parse(cfg->features);
  if (kind < 0) {
    snprintf(err, errlen,
             "features = '%s'; expected aggregation, polynomial, fourier, tiles or constant%s",
             cfg->features, " (mlp: policy-gradient algorithms only)");
    return -1;
  }
  const int dim = spec->obs.dim;
  double lo[ENV_MAX_DIM], hi[ENV_MAX_DIM];
  for (int j = 0; j < dim; j++) lo[j] = spec->obs.low[j], hi[j] = spec->obs.high[j];
  if (cfg->feature_low[0] && parse_list(cfg->feature_low, lo, ENV_MAX_DIM) != dim) {
    snprintf(err, errlen, "feature_low = '%s': expected %d comma-separated numbers for %s",
             cfg->feature_low, dim, spec->id);
    return -1;
  }
  if (cfg->feature_high[0] && parse_list(cfg->feature_high, hi, ENV_MAX_DIM) != dim) {
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

typedef struct run {
  const config_t *cfg;
  kind_t kind;
  env_t env;
  linear_pred_t pred;
  linear_ctl_t ctl;
  pg_t pg;
  double *v_true, *mu; /* prediction */
} run_t;

static void run_episode(run_t *r, uint64_t seed, long *len, double *ret) {
  switch (r->kind) {
    case KIND_PRED:
      linear_pred_episode(&r->pred, &r->env, seed, len, ret);
      break;
    case KIND_CTL:
      linear_ctl_episode(&r->ctl, &r->env, seed, len, ret);
      break;
    case KIND_PG:
      pg_episode(&r->pg, &r->env, seed, len, ret);
      break;
  }
}

/* One evaluation episode with the learned policy (greedy for Sarsa / Q-learning, the
 * stochastic policy for policy gradient: the corridor's best policy is stochastic). */
static double eval_episode(run_t *r, uint64_t seed) {
  float obs[ENV_MAX_DIM];
  env_reset(&r->env, seed, obs);
  double g = 0.0;
  for (;;) {
    float a = 0.0f, rew;
    int term, trunc;
    if (r->kind == KIND_CTL) a = (float)linear_ctl_act(&r->ctl, obs, 0.0);
    if (r->kind == KIND_PG) a = (float)pg_act(&r->pg, obs, 0);
    env_step(&r->env, &a, obs, &rew, &term, &trunc);
    g += rew;
    if (term || trunc) break;
    if (r->env.spec->max_episode_steps == 0 && r->env.t >= 1000000) break;
  }
  return g;
}

static int setup(run_t *r, const config_t *cfg, int variant, char *err, size_t errlen) {
  char e2[256];
  if (env_init(&r->env, cfg->env, e2, sizeof e2)) {
    snprintf(err, errlen, "%s", e2);
    return -1;
  }
  const env_spec_t *spec = r->env.spec;
  int mlp = strcmp(cfg->features, "mlp") == 0;
  linfeat_t f;
  memset(&f, 0, sizeof f);
  if (mlp && r->kind != KIND_PG) {
    snprintf(err, errlen, "features = mlp: only for reinforce, reinforce_baseline, actor_critic");
    return -1;
  }
  if (!mlp && make_features(cfg, spec, &f, err, errlen)) return -1;
  if (r->kind != KIND_PRED && spec->act.kind != ENV_DISCRETE) {
    snprintf(err, errlen, "algo %s needs discrete actions; %s has a Box action space", cfg->algo,
             spec->id);
    return -1;
  }
  switch (r->kind) {
    case KIND_PRED: {
      if (strcmp(spec->id, "RandomWalk1000-v0") != 0) {
        snprintf(err, errlen,
                 "algo %s: the value error needs DP values; only RandomWalk1000-v0 has "
                 "them (env %s)",
                 cfg->algo, spec->id);
        return -1;
      }
      r->v_true = malloc((ENV_RANDOMWALK_N + 2) * sizeof *r->v_true);
      r->mu = malloc((ENV_RANDOMWALK_N + 2) * sizeof *r->mu);
      if (!r->v_true || !r->mu) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
      env_randomwalk_true_values(r->v_true, ENV_RANDOMWALK_N);
      linear_randomwalk_mu(r->mu, ENV_RANDOMWALK_N);
      return linear_pred_init(&r->pred, &f, variant, cfg->alpha, cfg->gamma, err, errlen);
    }
    case KIND_CTL:
      return linear_ctl_init(&r->ctl, &f, spec->act.n, variant, cfg->alpha, cfg->gamma,
                             cfg->epsilon, rng_derive((uint64_t)cfg->seed, 1), err, errlen);
    case KIND_PG: {
      pg_opts_t o;
      memset(&o, 0, sizeof o);
      double init[64];
      int n_init = 0;
      if (cfg->policy_init[0] && (n_init = parse_list(cfg->policy_init, init, 64)) < 0) {
        snprintf(err, errlen, "policy_init = '%s': not a comma list of at most 64 numbers",
                 cfg->policy_init);
        return -1;
      }
      o.algo = (pg_algo_t)variant;
      o.mlp = mlp;
      o.f = f;
      o.obs_dim = spec->obs.dim;
      o.n_actions = spec->act.n;
      if (mlp) {
        o.n_hidden = config_parse_hidden(cfg->hidden, o.hidden, NN_MAX_LAYERS - 1);
        if (o.n_hidden < 0) {
          snprintf(err, errlen, "hidden = '%s': not a list of sizes", cfg->hidden);
          return -1;
        }
        o.activation = strcmp(cfg->activation, "tanh") == 0 ? NN_TANH : NN_RELU;
      }
      o.alpha = cfg->alpha;
      o.alpha_w = cfg->alpha_w;
      o.gamma = cfg->gamma;
      o.min_prob = cfg->policy_min_prob;
      o.theta_init = n_init > 0 ? init : NULL;
      o.n_init = n_init;
      o.max_len = spec->max_episode_steps > 0 ? spec->max_episode_steps : 100000;
      o.seed = rng_derive((uint64_t)cfg->seed, 1);
      return pg_init(&r->pg, &o, err, errlen);
    }
  }
  return 0;
}

static void teardown(run_t *r) {
  if (r->kind == KIND_PRED && r->pred.w) linear_pred_free(&r->pred);
  if (r->kind == KIND_CTL && r->ctl.w) linear_ctl_free(&r->ctl);
  if (r->kind == KIND_PG && r->pg.obs) pg_free(&r->pg);
  free(r->v_true);
  free(r->mu);
  if (r->env.spec) env_free(&r->env);
}

int onpolicy_run(const config_t *cfg, const char *out_dir, int quiet, char *err, size_t errlen) {
  const algo_t *a = algo_find(cfg->algo);
  if (!a || a->mode != ALGO_IN_PROCESS) {
    snprintf(err, errlen, "algo '%s' is not an on-policy algorithm", cfg->algo);
    return 2;
  }
  return a->run(a, cfg, out_dir, quiet, err, errlen);
}

static int run_row(const algo_t *a, const config_t *cfg, const char *out_dir, int quiet, char *err,
                   size_t errlen) {
  if (mkdir_p(out_dir)) {
    snprintf(err, errlen, "cannot create output folder '%s': %s", out_dir, strerror(errno));
    return 2;
  }
  run_t r;
  memset(&r, 0, sizeof r);
  r.cfg = cfg;
  r.kind = *(const kind_t *)a->family;
  if (setup(&r, cfg, a->variant, err, errlen)) {
    teardown(&r);
    return 2;
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/metrics.jsonl", out_dir);
  FILE *mf = fopen(path, "w");
  if (!mf) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    teardown(&r);
    return 2;
  }
  const double threshold =
      isnan(cfg->solve_threshold) ? r.env.spec->reward_threshold : cfg->solve_threshold;
  const long episodes = (long)cfg->episodes, every = (long)cfg->metrics_every;
  double *window = calloc(WINDOW, sizeof *window);
  if (!window) {
    fclose(mf);
    teardown(&r);
    snprintf(err, errlen, "out of memory");
    return 2;
  }
  const double t0 = now_s();
  double next_progress = t0 + cfg->progress_interval_s, wsum = 0.0, best = -INFINITY;
  double block_ret = 0.0, block_len = 0.0, rmse = NAN, rmse_plain = NAN;
  long env_steps = 0, solved_episode = -1;
  for (long ep = 0; ep < episodes; ep++) {
    long len;
    double ret;
    run_episode(&r, ep == 0 ? (uint64_t)cfg->seed : ENV_SEED_NONE, &len, &ret);
    env_steps += len;
    wsum += ret - window[ep % WINDOW];
    window[ep % WINDOW] = ret;
    long n_win = ep + 1 < WINDOW ? ep + 1 : WINDOW;
    double mean = wsum / (double)n_win;
    if (r.kind != KIND_PRED && (n_win == WINDOW || ep + 1 == episodes)) {
      if (mean > best) best = mean;
      if (mean >= threshold && solved_episode < 0) solved_episode = ep + 1;
    }
    block_ret += ret;
    block_len += (double)len;
    if ((ep + 1) % every == 0 || ep + 1 == episodes) {
      long nb = (ep + 1) % every ? (ep + 1) % every : every;
      fprintf(mf, "{\"episode\": %ld, \"env_steps\": %ld, ", ep + 1, env_steps);
      json_num(mf, "return", block_ret / (double)nb, 0);
      json_num(mf, "length", block_len / (double)nb, r.kind != KIND_PRED);
      if (r.kind == KIND_PRED) {
        linear_value_error(&r.pred, r.v_true, r.mu, ENV_RANDOMWALK_N, &rmse, &rmse_plain);
        json_num(mf, "value_rmse", rmse, 0);
        json_num(mf, "value_rmse_plain", rmse_plain, 1);
      }
      fprintf(mf, "}\n");
      block_ret = block_len = 0.0;
    }
    double t = now_s();
    if (!quiet && (t >= next_progress || ep + 1 == episodes)) {
      next_progress = t + cfg->progress_interval_s;
      printf("[%s %s] episode %ld/%ld  env_steps %ld  mean return (last %ld) %.2f", cfg->algo,
             cfg->env, ep + 1, episodes, env_steps, n_win, mean);
      if (r.kind == KIND_PRED) {
        linear_value_error(&r.pred, r.v_true, r.mu, ENV_RANDOMWALK_N, &rmse, &rmse_plain);
        printf("  value_rmse %.4f (plain %.4f)", rmse, rmse_plain);
      }
      printf("\n");
      fflush(stdout);
    }
  }
  fclose(mf);
  const double final_mean = wsum / (double)(episodes < WINDOW ? episodes : WINDOW);
  const double wall = now_s() - t0;

  /* Evaluation: eval_episodes episodes with reset seeds eval_seed + i. */
  double es = 0.0, es2 = 0.0;
  const long ne = (long)cfg->eval_episodes;
  for (long i = 0; i < ne; i++) {
    double g = eval_episode(&r, (uint64_t)cfg->eval_seed + (uint64_t)i);
    es += g;
    es2 += g * g;
  }
  const double eval_mean = es / (double)ne;
  const double eval_std = sqrt(fmax(0.0, es2 / (double)ne - eval_mean * eval_mean));

  int solved;
  if (r.kind == KIND_PRED) {
    linear_value_error(&r.pred, r.v_true, r.mu, ENV_RANDOMWALK_N, &rmse, &rmse_plain);
    solved = isnan(cfg->target_rmse) || rmse <= cfg->target_rmse;
    snprintf(path, sizeof path, "%s/values.csv", out_dir);
    FILE *vf = fopen(path, "w");
    if (vf) {
      fprintf(vf, "state,true_value,learned_value\n");
      for (int s = 1; s <= ENV_RANDOMWALK_N; s++) {
        float o = (float)s;
        fprintf(vf, "%d,%.8f,%.8f\n", s, r.v_true[s], linear_pred_value(&r.pred, &o));
      }
      fclose(vf);
    }
  } else {
    solved = solved_episode > 0;
  }
  /* updates: weight updates made (one per step, except MLP REINFORCE: one per episode) */
  long updates =
      r.kind == KIND_PG && r.pg.o.mlp && r.pg.o.algo != PG_ACTOR_CRITIC ? episodes : env_steps;
  snprintf(path, sizeof path, "%s/summary.json", out_dir);
  FILE *sf = fopen(path, "w");
  if (!sf) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    free(window);
    teardown(&r);
    return 2;
  }
  fprintf(sf, "{\"solved\": %s, \"algo\": \"%s\", \"env\": \"%s\", \"preset\": \"%s\", ",
          solved ? "true" : "false", cfg->algo, cfg->env, cfg->preset);
  fprintf(sf, "\"seed\": %lld, \"episodes\": %ld, \"env_steps\": %ld, \"updates\": %ld, ",
          (long long)cfg->seed, episodes, env_steps, updates);
  json_num(sf, "wall_seconds", wall, 0);
  json_num(sf, "eval_mean", eval_mean, 0);
  json_num(sf, "eval_std", eval_std, 0);
  json_num(sf, "eval_episodes", (double)ne, 0);
  json_num(sf, "train_mean_last100", final_mean, 0);
  json_num(sf, "train_best_mean100", r.kind == KIND_PRED ? NAN : best, 0);
  json_num(sf, "solve_threshold", r.kind == KIND_PRED ? cfg->target_rmse : threshold, 0);
  json_num(sf, "solved_episode", solved_episode > 0 ? (double)solved_episode : NAN,
           r.kind != KIND_PRED);
  if (r.kind == KIND_PRED) {
    json_num(sf, "value_rmse", rmse, 0);
    json_num(sf, "value_rmse_plain", rmse_plain, 1);
  }
  fprintf(sf, "}\n");
  fclose(sf);
  if (!quiet) {
    printf("[%s %s] %s: %ld episodes, %ld env steps, %.2f s; eval %.2f +- %.2f", cfg->algo,
           cfg->env, solved ? "reached its target" : "did not reach its target", episodes,
           env_steps, wall, eval_mean, eval_std);
    if (r.kind == KIND_PRED) printf("; value_rmse %.4f (plain %.4f)", rmse, rmse_plain);
    printf("\n");
  }
  free(window);
  teardown(&r);
  return solved ? 0 : 1;
}
