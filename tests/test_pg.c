/* test_pg: REINFORCE with and without baseline on the short corridor (Figures 13.1, 13.2) and
 * one-step actor-critic on CartPole-v1. Fixed seeds, episode budgets (never wall clock). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algo.h"
#include "check.h"
#include "config.h"
#include "env.h"
#include "linfeat.h"
#include "onpolicy.h"
#include "pg.h"
#include "study.h"

/* The book's corridor policy: theta = (-1.47, 1.47) for (left, right), so pi(right) starts at
 * ~0.95, with every action kept at probability >= 0.05. Runs `runs` seeds of `episodes`
 * episodes; curve[ep] receives the mean return over runs. */
static void corridor(pg_algo_t algo, double alpha, double alpha_w, int runs, int episodes,
                     double *curve) {
  static const double theta0[2] = {-1.47, 1.47};
  env_t e;
  char err[256];
  if (env_init(&e, "ShortCorridor-v0", err, sizeof err)) {
    CHECK(0, "%s", err);
    return;
  }
  pg_opts_t o;
  memset(&o, 0, sizeof o);
  double lo = 0, hi = 1;
  CHECK(linfeat_init(&o.f, LINFEAT_CONSTANT, 1, &lo, &hi, 0, 0, 0, 0, err, sizeof err) == 0, "%s",
        err);
  o.algo = algo;
  o.obs_dim = 1;
  o.n_actions = 2;
  o.alpha = alpha;
  o.alpha_w = alpha_w;
  o.gamma = 1.0;
  o.min_prob = 0.05;
  o.theta_init = theta0;
  o.n_init = 2;
  o.max_len = e.spec->max_episode_steps;
  for (int ep = 0; ep < episodes; ep++) curve[ep] = 0.0;
  for (int r = 0; r < runs; r++) {
    pg_t p;
    o.seed = (uint64_t)r + 1;
    if (pg_init(&p, &o, err, sizeof err)) {
      CHECK(0, "%s", err);
      break;
    }
    for (int ep = 0; ep < episodes; ep++) {
      long len;
      double ret;
      pg_episode(&p, &e, ep == 0 ? o.seed : ENV_SEED_NONE, &len, &ret);
      curve[ep] += ret / runs;
    }
    pg_free(&p);
  }
  env_free(&e);
}

static double window_mean(const double *c, int from, int to) {
  double s = 0.0;
  for (int i = from; i < to; i++) s += c[i];
  return s / (to - from);
}

/* First episode whose 50-episode mean (over runs) is within 1.5 of v*, or -1. */
static int first_near(const double *c, int episodes, double target) {
  for (int i = 50; i <= episodes; i++)
    if (window_mean(c, i - 50, i) >= target) return i;
  return -1;
}

static void test_corridor(void) {
  enum { RUNS = 30, EPISODES = 1000 };
  static double plain[EPISODES], base[EPISODES];
  const double v_star = -11.6;
  corridor(PG_REINFORCE, pow(2, -13), 0, RUNS, EPISODES, plain);
  corridor(PG_REINFORCE_BASELINE, pow(2, -9), pow(2, -6), RUNS, EPISODES, base);
  double p_first = window_mean(plain, 0, 10), p_last = window_mean(plain, 900, 1000);
  double b_first = window_mean(base, 0, 10), b_last = window_mean(base, 900, 1000);
  int p_near = first_near(plain, EPISODES, v_star - 1.5);
  int b_near = first_near(base, EPISODES, v_star - 1.5);
  fprintf(stderr,
          "corridor, %d runs: REINFORCE alpha 2^-13: episodes 1-10 %.1f, 901-1000 %.2f, "
          "within 1.5 of v* by episode %d\n"
          "  with baseline alpha 2^-9, alpha_w 2^-6: episodes 1-10 %.1f, 901-1000 %.2f, "
          "within 1.5 of v* by episode %d\n",
          RUNS, p_first, p_last, p_near, b_first, b_last, b_near);
  CHECK(p_first < -30 && b_first < -30, "start returns %.1f %.1f: the initial policy is poor",
        p_first, b_first);
  CHECK(b_last > v_star - 1.5 && b_last < v_star + 0.5,
        "REINFORCE with baseline: mean return of episodes 901-1000 %.2f not within 1.5 of %.1f",
        b_last, v_star);
  CHECK(p_last > v_star - 2.5 && p_last < v_star + 0.5,
        "REINFORCE: mean return of episodes 901-1000 %.2f not within 2.5 of %.1f", p_last, v_star);
  CHECK(b_near > 0 && (p_near < 0 || b_near < p_near),
        "the baseline version is not faster: within 1.5 of v* by episode %d vs %d", b_near, p_near);
}

/* Mean return of episodes [from, episodes) of one CartPole-v1 run with an MLP (128 relu);
 * *best100: the best mean of 100 consecutive episodes (if non-NULL). */
static double cartpole(pg_algo_t algo, double alpha, double alpha_w, double min_prob, int episodes,
                       int from, uint64_t seed, double *best100) {
  env_t e;
  char err[256];
  if (env_init(&e, "CartPole-v1", err, sizeof err)) {
    CHECK(0, "%s", err);
    return 0;
  }
  pg_opts_t o;
  memset(&o, 0, sizeof o);
  o.algo = algo;
  o.mlp = 1;
  o.obs_dim = 4;
  o.n_actions = 2;
  o.hidden[0] = 128;
  o.n_hidden = 1;
  o.activation = NN_RELU;
  o.alpha = alpha;
  o.alpha_w = alpha_w;
  o.gamma = 0.99;
  o.min_prob = min_prob;
  o.max_len = e.spec->max_episode_steps;
  o.seed = seed;
  pg_t p;
  if (pg_init(&p, &o, err, sizeof err)) {
    CHECK(0, "%s", err);
    env_free(&e);
    return 0;
  }
  double sum = 0.0, window[100], best = 0.0;
  for (int ep = 0; ep < episodes; ep++) {
    long len;
    double ret;
    pg_episode(&p, &e, ep == 0 ? seed : ENV_SEED_NONE, &len, &ret);
    if (ep >= from) sum += ret;
    window[ep % 100] = ret;
    if (ep >= 99) {
      double w = 0.0;
      for (int i = 0; i < 100; i++) w += window[i];
      best = w / 100 > best ? w / 100 : best;
    }
  }
  if (best100) *best100 = best;
  pg_free(&p);
  env_free(&e);
  return sum / (episodes - from);
}

static void test_cartpole(void) {
  /* A uniform random policy lasts ~22 steps. One-step actor-critic updates both nets with Adam
   * every step, and without a floor on the action probabilities a run can reach 500 and then
   * collapse to a one-sided policy (return ~9) it cannot leave. With Adam 1e-3 / 5e-3 and no
   * floor, seed 1 reached 500 by episode 130 and stayed at ~10 from episode 230 (mean of
   * 201-300: 52), and which seeds collapse changes with the rounding of the matrix products
   * (OpenBLAS picks its kernels by CPU): 1 to 3 of seeds 1-5 below 100 by kernel. So this runs
   * the cartpole-actor-critic preset's settings (Adam 3e-4 / 3e-3, every action kept at >= 0.02)
   * on three seeds. Measured with OpenBLAS's Prescott and Haswell kernels and gemm's own:
   * seeds 1-3 give 175-277, seeds 1-20 all more than 130.
   * REINFORCE (Adam 1e-2, standardized returns) solves CartPole and then often slips: which seeds
   * end high is as chaotic as above. Seeds 1-12 with OpenBLAS's Prescott / SkylakeX kernels and
   * with gemm's AVX-512 ones (2026-12-01): the mean of episodes 401-500 ranges 9-500 per seed
   * and kernel (seed 1: 500 on OpenBLAS, 165 and 358 on ours), while the best 100-episode mean
   * within 500 episodes is >= 450 for 4-5 of seeds 1-5 under every kernel set (seed 7 alone
   * never learns: 13.5). So the check is that: at least 4 of seeds 1-5 reach 450. */
  for (uint64_t seed = 1; seed <= 3; seed++) {
    double ac = cartpole(PG_ACTOR_CRITIC, 3e-4, 3e-3, 0.02, 300, 200, seed, NULL);
    fprintf(stderr, "CartPole actor-critic seed %d: mean return of episodes 201-300 %.1f\n",
            (int)seed, ac);
    CHECK(ac > 100, "actor-critic seed %d: mean return of episodes 201-300 is %.1f (random ~22)",
          (int)seed, ac);
  }
  int reached = 0;
  for (uint64_t seed = 1; seed <= 5; seed++) {
    double best, rf = cartpole(PG_REINFORCE, 1e-2, 1e-2, 0, 500, 400, seed, &best);
    fprintf(stderr,
            "CartPole REINFORCE seed %d: best 100-episode mean %.1f, episodes 401-500 %.1f\n",
            (int)seed, best, rf);
    reached += best >= 450;
  }
  CHECK(reached >= 4, "REINFORCE: %d of seeds 1-5 reached a 100-episode mean of 450 (want 4)",
        reached);
}

/* Example 13.1's dynamics: left/right, switched in state 1; -1 per step; obs always 0. */
static void test_corridor_env(void) {
  env_t e;
  char err[256];
  if (env_init(&e, "ShortCorridor-v0", err, sizeof err)) {
    CHECK(0, "%s", err);
    return;
  }
  CHECK(e.spec->act.n == 2 && e.spec->obs.dim == 1 && e.spec->max_episode_steps == 1000,
        "spec: %d actions, obs dim %d, limit %d", e.spec->act.n, e.spec->obs.dim,
        e.spec->max_episode_steps);
  static const struct {
    int from, action, to, term;
  } steps[] = {{0, 0, 0, 0}, {0, 1, 1, 0}, {1, 1, 0, 0}, {1, 0, 2, 0}, {2, 0, 1, 0}, {2, 1, 3, 1}};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    float obs[1], r, a = (float)steps[i].action;
    double s = steps[i].from;
    int term, trunc;
    env_reset(&e, 1, obs);
    env_set_state(&e, &s, obs);
    env_step(&e, &a, obs, &r, &term, &trunc);
    e.spec->get_state(e.state, &s);
    CHECK((int)s == steps[i].to && term == steps[i].term && r == -1.0f && obs[0] == 0.0f,
          "state %d action %d: state %g term %d reward %g obs %g (expected %d, %d)", steps[i].from,
          steps[i].action, s, term, r, obs[0], steps[i].to, steps[i].term);
  }
  env_free(&e);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* onpolicy_run on presets (shortened where slow): exit status, summary.json, metrics.jsonl. */
static void test_runner(void) {
  char dir[] = "/tmp/test_onpolicy_XXXXXX", err[512], path[256];
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  static const struct {
    const char *preset, *set;
    int want_status;
    long lines;
  } cases[] = {
      {"corridor-reinforce-baseline", "", 0, 1000},
      {"mountaincar-sarsa-tiles", "", 0, 500},
      {"randomwalk-td0-tiles", "episodes=1000", 1, 20}, /* too few episodes for the target */
      {"randomwalk-mc-aggregation", "episodes=2000", 1, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    config_t cfg;
    config_init(&cfg);
    if (config_load_preset(&cfg, cases[i].preset, err, sizeof err) ||
        (cases[i].set[0] && config_set_arg(&cfg, cases[i].set, err, sizeof err)) ||
        config_validate(&cfg, err, sizeof err)) {
      CHECK(0, "%s: %s", cases[i].preset, err);
      continue;
    }
    CHECK(algo_find(cfg.algo) && algo_find(cfg.algo)->mode == ALGO_IN_PROCESS,
          "%s: algo %s not served", cases[i].preset, cfg.algo);
    snprintf(path, sizeof path, "%s/%s", dir, cases[i].preset);
    int st = onpolicy_run(&cfg, path, 1, err, sizeof err);
    CHECK(st == cases[i].want_status, "%s: exit %d, expected %d (%s)", cases[i].preset, st,
          cases[i].want_status, st == 2 ? err : "");
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, cases[i].preset);
    const char *sum = slurp(path);
    CHECK(sum != NULL, "%s missing", path);
    static const char *const keys[] = {"\"solved\"",       "\"env_steps\"", "\"updates\"",
                                       "\"wall_seconds\"", "\"eval_mean\"", "\"eval_std\""};
    for (size_t k = 0; sum && k < sizeof keys / sizeof keys[0]; k++)
      CHECK(strstr(sum, keys[k]) != NULL, "%s: summary lacks %s", cases[i].preset, keys[k]);
    int pred = strncmp(cases[i].preset, "randomwalk", 10) == 0;
    CHECK(!sum || (strstr(sum, "\"value_rmse\"") != NULL) == pred, "%s: value_rmse %s",
          cases[i].preset, pred ? "missing" : "present");
    if (sum) fprintf(stderr, "%s: %s", cases[i].preset, sum);
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", dir, cases[i].preset);
    const char *m = slurp(path);
    long lines = 0;
    for (const char *c = m; c && *c; c++) lines += *c == '\n';
    CHECK(lines == cases[i].lines, "%s: %ld metrics lines, expected %ld", cases[i].preset, lines,
          cases[i].lines);
  }
  config_t cfg;
  config_init(&cfg);
  config_set_arg(&cfg, "algo=sarsa", err, sizeof err);
  config_set_arg(&cfg, "env=CartPole-v1", err, sizeof err);
  snprintf(path, sizeof path, "%s/bad", dir);
  CHECK(onpolicy_run(&cfg, path, 1, err, sizeof err) == 2 && strstr(err, "bounds"),
        "tiles over CartPole's infinite bounds: '%s'", err);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0, "%s", cmd);
}

/* --- bench: the "done when" studies (rlserve study in-process) ----------------- */

static char bench_dir[] = "/tmp/bench_study_XXXXXX";

/* Runs `rlserve study --preset preset --runs runs [--set s]...` into bench_dir/tag (runs 0:
 * reuses it) and returns study.json's value of key (NAN if missing). */
static double study(const char *tag, const char *preset, int runs, const char *key, const char *s1,
                    const char *s2, const char *s3) {
  char out[256], nruns[16];
  snprintf(out, sizeof out, "%s/%s", bench_dir, tag);
  snprintf(nruns, sizeof nruns, "%d", runs);
  char *argv[16] = {"study", "--preset", (char *)preset, "--runs", nruns, "--out", out};
  int argc = 7;
  const char *sets[3] = {s1, s2, s3};
  for (int i = 0; i < 3; i++)
    if (sets[i]) argv[argc++] = "--set", argv[argc++] = (char *)sets[i];
  if (runs > 0) { /* runs 0: read the study already made under this tag */
    int st = study_main(argc, argv);
    CHECK(st == 0 || st == 1, "study %s: exit %d", tag, st);
  }
  char path[300];
  snprintf(path, sizeof path, "%s/study.json", out);
  const char *text = slurp(path);
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  const cJSON *v = cJSON_GetObjectItem(j, key);
  double x = cJSON_IsNumber(v) ? cJSON_GetNumberValue(v) : NAN;
  fprintf(stderr, "bench %s: %s = %g\n", tag, key, x);
  cJSON_Delete(j);
  return x;
}

static void bench(const char *name) {
  if (!mkdtemp(bench_dir)) {
    CHECK(0, "mkdtemp");
    return;
  }
  if (!strcmp(name, "randomwalk")) {
    /* Figure 9.1 / 9.2 (30 runs, 100,000 episodes): MC near the best aggregation (0.0544),
     * TD at its own, more biased fixed point (0.117). */
    double mc = study("mc_agg", "randomwalk-mc-aggregation", 30, "value_rmse_mean", 0, 0, 0);
    double td = study("td_agg", "randomwalk-td0-aggregation", 30, "value_rmse_mean", 0, 0, 0);
    CHECK(mc < 0.07, "MC aggregation RMSE %g", mc);
    CHECK(td > mc + 0.03, "TD RMSE %g is not more biased than MC's %g", td, mc);
    /* Figure 9.5: Fourier beats polynomial of the same order (5), 5,000 episodes. */
    double fo = study("fourier", "randomwalk-mc-fourier", 30, "value_rmse_mean", 0, 0, 0);
    double po = study("poly", "randomwalk-mc-fourier", 30, "value_rmse_mean", "features=polynomial",
                      "alpha=1e-4", 0);
    CHECK(fo < po, "Fourier RMSE %g not below polynomial %g", fo, po);
    /* Figure 9.10: 50 tilings (alpha 1e-4/50) beat 10-group aggregation (alpha 1e-4). */
    double ag = study("agg5k", "randomwalk-mc-aggregation", 30, "value_rmse_mean", "episodes=5000",
                      "alpha=1e-4", "metrics_every=50");
    double ti = study("tiles5k", "randomwalk-td0-tiles", 30, "value_rmse_mean", "algo=gmc",
                      "alpha=2e-6", 0);
    CHECK(ti < ag, "tile coding RMSE %g not below aggregation %g", ti, ag);
  } else if (!strcmp(name, "mountaincar")) {
    /* Figure 10.1/10.2: 100 runs; mean length of episodes 401-500 at most 150. */
    double m = study("sarsa", "mountaincar-sarsa-tiles", 100, "train_mean_last100", 0, 0, 0);
    CHECK(m >= -150, "mean return of episodes 401-500 %g (length %g > 150)", m, -m);
  } else if (!strcmp(name, "corridor")) {
    /* Figures 13.1 / 13.2: 100 runs, 1000 episodes. */
    double p = study("reinforce", "corridor-reinforce", 100, "train_mean_last100", 0, 0, 0);
    double b = study("baseline", "corridor-reinforce-baseline", 100, "train_mean_last100", 0, 0, 0);
    CHECK(fabs(b - -11.6) <= 1.5, "with baseline: episodes 901-1000 mean %g, v* -11.6", b);
    /* Two-sided: the README reports -12.3; a policy that learned nothing stays near -80. */
    CHECK(p > -11.6 - 2.5 && p < -11.6 + 1.5, "REINFORCE episodes 901-1000 mean %g, v* -11.6", p);
    double pe = study("reinforce", "corridor-reinforce", 0, "solved_episode_median", 0, 0, 0);
    double be =
        study("baseline", "corridor-reinforce-baseline", 0, "solved_episode_median", 0, 0, 0);
    CHECK(be < pe, "baseline reaches v* - 1.5 by episode %g (median), plain by %g", be, pe);
  } else if (!strcmp(name, "cartpole")) {
    double r = study("reinforce", "cartpole-reinforce", 3, "solved", 0, 0, 0);
    double a = study("ac", "cartpole-actor-critic", 3, "solved", 0, 0, 0);
    CHECK(r >= 2, "REINFORCE reached 475 in %g of seeds 1-3", r);
    CHECK(a >= 2, "actor-critic reached 195 in %g of seeds 1-3", a);
  } else {
    CHECK(0, "unknown bench '%s' (randomwalk, mountaincar, corridor, cartpole)", name);
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", bench_dir);
  CHECK(system(cmd) == 0, "%s", cmd);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--bench")) {
    bench(argv[2]);
    CHECK_DONE();
  }
  test_corridor_env();
  test_runner();
  test_corridor();
  test_cartpole();
  CHECK_DONE();
}
