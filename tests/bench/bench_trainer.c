/* Benchmarks the learner's DQN trainer (server/algo/dqn.c) on this machine: dqn_update on batches
 * sampled from a replay_t of random CartPole-like transitions (obs_dim 4, 2 actions), with
 * and without the sampling, for the cartpole-dqn preset and two comparison widths, in
 * updates/s and as a fraction of the single-core OpenBLAS SGEMM peak measured in the same
 * run. One row runs without nn_flush_denormals() to show what denormal Adam moments cost.
 * Run: ctest -L bench -V (or ./tests/bench_trainer). Single-threaded; about 25 s. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <cblas.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_machine.h"
#include "config.h"
#include "dqn.h"
#include "gemm.h"
#include "nn.h"
#include "replay.h"
#include "rng.h"

#define OBS_DIM 4
#define N_ACTIONS 2
#define WARMUP_S 0.5  /* before every measurement: caches, and Adam moments settle */
#define MEASURE_S 2.0 /* each row is timed over at least this long */
#define PEAK_REPS 15  /* best of this many 1024^3 products */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "bench_trainer: %s\n", what);
  exit(1);
}

static void print_machine(int argc, char **argv) {
  char model[256];
  bench_cpu_model(model, sizeof model);
  cpu_set_t set;
  int allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
  char load[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fgets(load, sizeof load, f)) load[strcspn(load, "\n")] = 0;
    fclose(f);
  }
  printf("machine:  %s, %ld online cores (%d in this process's affinity mask)\n", model,
         sysconf(_SC_NPROCESSORS_ONLN), allowed);
  printf("load:     %s (/proc/loadavg at start; the figures are single-core)\n", load);
  char cwd[512];
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
  printf("command:  (cd %s &&", cwd);
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf(")\n");
  printf("openblas: %s (core %s), threads %d\n", openblas_get_config(), openblas_get_corename(),
         openblas_get_num_threads());
}

/* Single-core OpenBLAS SGEMM peak, GFLOP/s: C = A B at 1024^3, best of PEAK_REPS. */
static double sgemm_peak(void) {
  const int n = 1024;
  size_t nn = (size_t)n * n;
  float *A = malloc(nn * sizeof(float)), *B = malloc(nn * sizeof(float));
  float *C = malloc(nn * sizeof(float));
  if (!A || !B || !C) die("out of memory for the sgemm peak");
  rng_t r;
  rng_seed(&r, 7);
  for (size_t i = 0; i < nn; i++) {
    A[i] = (float)rng_range(&r, -1, 1);
    B[i] = (float)rng_range(&r, -1, 1);
  }
  double best = 0;
  for (int rep = 0; rep <= PEAK_REPS; rep++) { /* rep 0 warms caches and OpenBLAS buffers */
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    double g = 2.0 * n * n * n / (now() - t0) / 1e9;
    if (rep > 0 && g > best) best = g;
  }
  free(A);
  free(B);
  free(C);
  return best;
}

/* Matrix FLOPs of one dqn_update (2 per multiply-add): forward of online on s, of target on
 * s', of online on s' when double_dqn; backward on s: a weight-gradient product per layer
 * and an input-gradient product per layer but the first (dqn asks for no dL/dobs). */
static double update_flops(const dqn_t *d) {
  const nn_layout_t *l = &d->layout;
  double macs = 0, first = (double)l->sizes[0] * l->sizes[1];
  for (int i = 0; i < l->n_layers; i++) macs += (double)l->sizes[i] * l->sizes[i + 1];
  double forwards = 2.0 + (d->double_dqn ? 1.0 : 0.0);
  return 2.0 * d->batch * (forwards * macs + macs + (macs - first));
}

/* Random CartPole-like transitions: states inside the termination box, a small step to s',
 * reward 1, about one terminal in 50 (an episode of 50 steps). */
static void fill_replay(replay_t *rp, size_t n, rng_t *r) {
  enum { CHUNK = 1024 };
  static float obs[CHUNK * OBS_DIM], next[CHUNK * OBS_DIM], act[CHUNK], rew[CHUNK];
  static uint8_t flags[CHUNK];
  const double lim[OBS_DIM] = {2.4, 2.0, 0.2095, 2.0};
  for (size_t done = 0; done < n; done += CHUNK) {
    size_t k = n - done < CHUNK ? n - done : CHUNK;
    for (size_t i = 0; i < k; i++) {
      for (int j = 0; j < OBS_DIM; j++) {
        obs[i * OBS_DIM + j] = (float)rng_range(r, -lim[j], lim[j]);
        next[i * OBS_DIM + j] = obs[i * OBS_DIM + j] + (float)rng_range(r, -0.05, 0.05);
      }
      act[i] = (float)rng_below(r, N_ACTIONS);
      rew[i] = 1.0f;
      flags[i] = rng_below(r, 50) == 0;
    }
    replay_insert(rp, k, obs, act, rew, next, flags);
  }
}

typedef struct row {
  const char *hidden;
  int sample; /* 1: replay_sample_wait before each update */
  int ftz;    /* 1: nn_flush_denormals() was in effect */
  double ups, flops, denormal_frac;
  int batch;
  size_t n_params;
} row_t;

/* Fraction of Adam moments (m and v) that are subnormal floats. */
static double denormal_fraction(const adam_t *a) {
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++)
    n += (fpclassify(a->m[i]) == FP_SUBNORMAL) + (fpclassify(a->v[i]) == FP_SUBNORMAL);
  return (double)n / (2.0 * (double)a->n);
}

/* Times dqn_update (after replay sampling if row->sample) for WARMUP_S + MEASURE_S. */
static void measure(row_t *row, const config_t *preset, replay_t *rp) {
  config_t cfg = *preset;
  char err[256];
  if (config_set(&cfg, "hidden", row->hidden, err, sizeof err) != 0) die(err);
  rng_t r;
  rng_seed(&r, 11);
  dqn_t d;
  if (dqn_init(&d, &cfg, OBS_DIM, N_ACTIONS, &r, err, sizeof err) != 0) die(err);
  size_t B = (size_t)d.batch;
  float *obs = malloc(B * OBS_DIM * sizeof(float)), *next = malloc(B * OBS_DIM * sizeof(float));
  float *act = malloc(B * sizeof(float)), *rew = malloc(B * sizeof(float));
  float *term = malloc(B * sizeof(float));
  if (!obs || !next || !act || !rew || !term) die("out of memory for a batch");
  /* The fixed batch of the update-only rows is one sample like any other. */
  if (replay_sample_wait(rp, &r, B, obs, act, rew, next, term, 1000) != 0)
    die("replay_sample_wait blocked: the rate limit should never bind here");
  long iters = 0;
  double t0 = now(), t_start = 0, t = 0;
  int timing = 0;
  for (;;) {
    if (row->sample && replay_sample_wait(rp, &r, B, obs, act, rew, next, term, 1000) != 0)
      die("replay_sample_wait blocked: the rate limit should never bind here");
    dqn_update(&d, obs, act, rew, next, term, NULL);
    iters++;
    t = now();
    if (!timing && t - t0 >= WARMUP_S) {
      timing = 1;
      t_start = t;
      iters = 0;
    } else if (timing && t - t_start >= MEASURE_S) {
      break;
    }
  }
  row->ups = (double)iters / (t - t_start);
  row->flops = update_flops(&d);
  row->denormal_frac = denormal_fraction(&d.adam);
  row->batch = d.batch;
  row->n_params = d.layout.n_params;
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
  dqn_free(&d);
}

int main(int argc, char **argv) {
  gemm_init();
  openblas_set_num_threads(1);
  print_machine(argc, argv);

  config_t cfg;
  config_init(&cfg);
  char err[256];
  if (config_load_preset(&cfg, "cartpole-dqn", err, sizeof err) != 0) die(err);

  double peak = sgemm_peak();
  printf(
      "peak:     OpenBLAS cblas_sgemm 1024x1024x1024 float, 1 thread, best of %d: %.1f GFLOP/s\n",
      PEAK_REPS, peak);

  /* A huge samples-per-insert and no min_size: the limiter never makes the sampler wait. */
  flow_limits_t lim = {.min_size = 0, .spi = 1e9, .slack = 1};
  replay_t rp;
  if (replay_init(&rp, (size_t)cfg.replay_capacity, OBS_DIM, 1, &lim) != 0)
    die("out of memory for the replay buffer");
  rng_t fill_rng;
  rng_seed(&fill_rng, 3);
  fill_replay(&rp, (size_t)cfg.replay_capacity, &fill_rng);

  printf(
      "preset:   cartpole-dqn: hidden %s %s, batch %lld, %s loss, double_dqn %s, replay %lld "
      "(filled with random CartPole-like transitions)\n",
      cfg.hidden, cfg.activation, (long long)cfg.batch_size, cfg.loss,
      cfg.double_dqn ? "true" : "false", (long long)cfg.replay_capacity);
  printf("timing:   %.1f s warm-up then >= %.1f s per row, one thread, fresh dqn_t per row\n\n",
         WARMUP_S, MEASURE_S);

  /* The row without flush-to-zero runs first: FTZ/DAZ stay on for the thread once set. */
  row_t rows[] = {
      {.hidden = cfg.hidden, .sample = 1, .ftz = 0}, {.hidden = cfg.hidden, .sample = 1, .ftz = 1},
      {.hidden = cfg.hidden, .sample = 0, .ftz = 1}, {.hidden = "256,256", .sample = 1, .ftz = 1},
      {.hidden = "256,256", .sample = 0, .ftz = 1},  {.hidden = "64,64", .sample = 1, .ftz = 1},
      {.hidden = "64,64", .sample = 0, .ftz = 1},
  };
  const int n_rows = (int)(sizeof rows / sizeof *rows);
  double t_all = now();
  for (int i = 0; i < n_rows; i++) {
    if (rows[i].ftz) nn_flush_denormals();
    measure(&rows[i], &cfg, &rp);
  }
  t_all = now() - t_all;

  printf("%-10s %6s %5s %-14s %-4s %10s %9s %10s %8s %8s %9s\n", "hidden", "params", "batch",
         "mode", "ftz", "updates/s", "us/update", "MFLOP/upd", "GFLOP/s", "of peak", "denormal");
  for (int i = 0; i < n_rows; i++) {
    const row_t *w = &rows[i];
    double gf = w->ups * w->flops / 1e9;
    char net[64];
    snprintf(net, sizeof net, "%s%s", w->hidden, strcmp(w->hidden, cfg.hidden) == 0 ? "*" : "");
    printf("%-10s %6zu %5d %-14s %-4s %10.0f %9.1f %10.3f %8.2f %7.1f%% %8.2f%%\n", net,
           w->n_params, w->batch, w->sample ? "sample+update" : "update only",
           w->ftz ? "on" : "off", w->ups, 1e6 / w->ups, w->flops / 1e6, gf, 100.0 * gf / peak,
           100.0 * w->denormal_frac);
  }
  printf(
      "\n* the cartpole-dqn preset. mode: sample+update = replay_sample_wait (batch from %lld "
      "transitions) then dqn_update; update only = dqn_update on one fixed batch.\n"
      "MFLOP/upd: matrix FLOPs of one update (2 per multiply-add): forwards of online on s, "
      "target on s' (and online on s' with double DQN), weight grads of every layer, input grads "
      "of "
      "every layer but the first. denormal: subnormal Adam moments (m and v) after the row.\n"
      "rows took %.1f s\n",
      (long long)cfg.replay_capacity, t_all);
  replay_free(&rp);
  return 0;
}
