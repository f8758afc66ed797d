/* Benchmarks the learner's DQN trainer (server/algo/dqn.c): dqn_update on batches sampled from
 * a replay_t of random CartPole-like transitions (obs_dim 4, 2 actions, the cartpole-dqn
 * preset's settings) and asserts two ratios measured in the same run (tests/bench/README.md):
 *
 *   1. the update's matrix FLOP rate as a fraction of the same core's OpenBLAS SGEMM peak
 *      (cblas_sgemm 1024^3, one thread), for 4-256-256-2 (the preset) and 4-64-64-2, batch 64,
 *      replay sampling included;
 *   2. what the denormal flush buys: on one dqn_t aged with FTZ/DAZ off until its Adam moments
 *      hold subnormals, updates/s with nn_flush_denormals() over updates/s without it;
 *
 * each at least its floor (the table below).
 *
 * FLOPs of one update (2 per multiply-add; double DQN as the preset): with layer widths
 * n_0..n_L and M = sum_i n_i n_{i+1} multiply-adds per sample of one forward pass, batch B:
 * forwards of the target net on s', the online net on s' (double DQN) and on s: 3 B M; weight
 * gradients of every layer: B M; input gradients of every layer but the first (dqn asks for
 * no dL/dobs): B (M - n_0 n_1). Total 2 B (5 M - n_0 n_1): 42,795,008 for 4-256-256-2 and
 * 2,834,432 for 4-64-64-2 at B = 64. Biases, activations, the loss, clipping, Adam, the
 * target copy and the sampling are not counted, so the fraction is a lower bound.
 *
 * The machine may be shared: rates are per CPU-second of this thread, the best of several
 * windows, and each row's peak is the best of the products run between its windows, so both
 * sides of a ratio see the same moments of the machine. Options (off by default; they exist to show
 * that the checks fail): --slowdown K runs every counted update K times (the trainer at 1/K of its
 * rate); --no-flush skips nn_flush_denormals() before the FTZ-on windows. Run: ctest -L bench -R
 * bench_trainer -V (or ./tests/bench_trainer). One thread; ~30 s. */
#define _GNU_SOURCE /* bench_machine.h */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

#include "bench_machine.h"
#include "config.h"
#include "dqn.h"
#include "gemm.h"
#include "nn.h"
#include "replay.h"
#include "rng.h"

#define OBS_DIM 4
#define N_ACTIONS 2
#define WARMUP_S 0.3  /* of every row before its windows: caches, Adam's first steps */
#define WINDOW_S 0.25 /* one timed window */
#define REPS 6        /* windows per row; the best counts */
#define PEAK_N 1024   /* the peak product is PEAK_N^3 */
/* Updates with FTZ/DAZ off before the FTZ windows. Adam's m of a weight whose gradient is
 * always 0 (a dead ReLU unit) decays by beta1 = 0.9 per step and is subnormal after ~800
 * steps; 0.9 x the smallest subnormal rounds back to it, so such moments stay subnormal. */
#define AGE_UPDATES 1200
#define FTZ_REPS 3 /* pairs of windows from the aged state, FTZ/DAZ off then on */

/* Floors per OpenBLAS kernel family (openblas_get_corename()): the fraction of peak depends
 * on how well the kernel does on small products against 1024^3, and the FTZ speedup on how
 * fast the rest of the update is. Measured on the build machine (2-core shared VM, Xeon with
 * AVX-512; OpenBLAS 0.3.21 DYNAMIC_ARCH detects it as Prescott, OPENBLAS_CORETYPE=SkylakeX
 * forces the AVX-512 kernels; tests/bench/README.md): Prescott 0.64-0.82 / 0.64-0.66 /
 * 2.7-3.6x, SkylakeX 0.43-0.47 / 0.30-0.35 / 6.9-8.6x. Each floor sits below the worst value seen
 * under load and above half the usual one, so a trainer at half its usual rate fails. Other kernels
 * get the lowest floors of the table. */
typedef struct floors {
  const char *core;
  double preset_of_peak, small_of_peak, ftz_speedup;
} floors_t;

static const floors_t floor_table[] = {
    {"Prescott", 0.50, 0.42, 1.6},
    {"SkylakeX", 0.30, 0.24, 3.5},
    {NULL, 0.30, 0.24, 1.6}, /* any other kernel */
};

static const floors_t *floors_for(const char *core) {
  const floors_t *f = floor_table;
  while (f->core && strcmp(f->core, core) != 0) f++;
  return f;
}

#define MXCSR_FTZ_DAZ 0x8040u /* FTZ (bit 15) | DAZ (bit 6) */

static void die(const char *what) {
  fprintf(stderr, "bench_trainer: %s\n", what);
  exit(1);
}

/* The operands of the 1024^3 peak product. */
typedef struct peak {
  float *a, *b, *c;
} peak_t;

static void peak_init(peak_t *p) {
  const size_t nn = (size_t)PEAK_N * PEAK_N;
  p->a = malloc(nn * sizeof(float));
  p->b = malloc(nn * sizeof(float));
  p->c = malloc(nn * sizeof(float));
  if (!p->a || !p->b || !p->c) die("out of memory for the sgemm peak");
  rng_t r;
  rng_seed(&r, 7);
  for (size_t i = 0; i < nn; i++) {
    p->a[i] = (float)rng_range(&r, -1, 1);
    p->b[i] = (float)rng_range(&r, -1, 1);
  }
}

static void peak_free(peak_t *p) {
  free(p->a);
  free(p->b);
  free(p->c);
}

/* `reps` products C = A B; folds the best GFLOP/s into *best. */
static void sgemm_peak(const peak_t *p, int reps, double *best) {
  const int n = PEAK_N;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = bench_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, p->a, n, p->b, n, 0.0f,
                p->c, n);
    double g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
    if (g > *best) *best = g;
  }
}

/* Matrix FLOPs of one dqn_update (the count in the header comment). */
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

/* A dqn_t on the preset's settings with `hidden`, and its batch buffers. */
typedef struct trainer {
  dqn_t d;
  rng_t r;
  replay_t *rp;
  float *obs, *next, *act, *rew, *term;
} trainer_t;

static void trainer_init(trainer_t *t, const config_t *preset, const char *hidden, replay_t *rp) {
  config_t cfg = *preset;
  char err[256];
  if (config_set(&cfg, "hidden", hidden, err, sizeof err) != 0) die(err);
  rng_seed(&t->r, 11);
  if (dqn_init(&t->d, &cfg, OBS_DIM, N_ACTIONS, &t->r, err, sizeof err) != 0) die(err);
  size_t B = (size_t)t->d.batch;
  t->rp = rp;
  t->obs = malloc(B * OBS_DIM * sizeof(float));
  t->next = malloc(B * OBS_DIM * sizeof(float));
  t->act = malloc(B * sizeof(float));
  t->rew = malloc(B * sizeof(float));
  t->term = malloc(B * sizeof(float));
  if (!t->obs || !t->next || !t->act || !t->rew || !t->term) die("out of memory for a batch");
}

static void trainer_free(trainer_t *t) {
  free(t->obs);
  free(t->next);
  free(t->act);
  free(t->rew);
  free(t->term);
  dqn_free(&t->d);
}

static void sample(trainer_t *t) {
  if (replay_sample_wait(t->rp, &t->r, (size_t)t->d.batch, t->obs, t->act, t->rew, t->next, t->term,
                         1000) != 0)
    die("replay_sample_wait blocked: the rate limit should never bind here");
}

/* Counted updates/s over `n` updates (n > 0) or at least `seconds`. Each counted update
 * samples a batch first if `sampling` (else reuses the last one) and runs dqn_update
 * `slowdown` times. */
static double run_updates(trainer_t *t, int sampling, long n, double seconds, int slowdown) {
  long iters = 0;
  double t0 = bench_now(), t1 = t0;
  while (n > 0 ? iters < n : t1 - t0 < seconds) {
    if (sampling) sample(t);
    for (int k = 0; k < slowdown; k++)
      dqn_update(&t->d, t->obs, t->act, t->rew, t->next, t->term, NULL);
    iters++;
    t1 = bench_now();
  }
  return (double)iters / (t1 - t0);
}

/* The best of `reps` windows; with a 1024^3 product before the first and after every window
 * folded into *peak, so the peak samples the same moments of a shared machine as the row. */
static double best_of(trainer_t *t, int sampling, int reps, int slowdown, const peak_t *p,
                      double *peak) {
  double best = 0;
  sgemm_peak(p, 1, peak);
  for (int i = 0; i < reps; i++) {
    double u = run_updates(t, sampling, 0, WINDOW_S, slowdown);
    if (u > best) best = u;
    sgemm_peak(p, 1, peak);
  }
  return best;
}

/* The aged trainer's state, to start every FTZ window from the same subnormal moments. */
typedef struct snapshot {
  float *online, *target, *m, *v;
  size_t n;
  long t, updates;
} snapshot_t;

static void snapshot_take(snapshot_t *s, const dqn_t *d) {
  s->n = d->layout.n_params;
  s->online = malloc(4 * s->n * sizeof(float));
  if (!s->online) die("out of memory for a snapshot");
  s->target = s->online + s->n;
  s->m = s->target + s->n;
  s->v = s->m + s->n;
  memcpy(s->online, d->online, s->n * sizeof(float));
  memcpy(s->target, d->target, s->n * sizeof(float));
  memcpy(s->m, d->adam.m, s->n * sizeof(float));
  memcpy(s->v, d->adam.v, s->n * sizeof(float));
  s->t = (long)d->adam.t;
  s->updates = d->updates;
}

static void snapshot_restore(const snapshot_t *s, dqn_t *d) {
  memcpy(d->online, s->online, s->n * sizeof(float));
  memcpy(d->target, s->target, s->n * sizeof(float));
  memcpy(d->adam.m, s->m, s->n * sizeof(float));
  memcpy(d->adam.v, s->v, s->n * sizeof(float));
  d->adam.t = s->t;
  d->updates = s->updates;
}

/* Fraction of Adam moments (m and v) that are subnormal floats. */
static double denormal_fraction(const adam_t *a) {
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++)
    n += (fpclassify(a->m[i]) == FP_SUBNORMAL) + (fpclassify(a->v[i]) == FP_SUBNORMAL);
  return (double)n / (2.0 * (double)a->n);
}

typedef struct row {
  const char *hidden;
  int sampling;
  double floor;            /* of the fraction of peak; 0: not checked */
  double ups, flops, peak; /* peak: GFLOP/s, the best SGEMM taken between the row's windows */
  size_t n_params;
} row_t;

int main(int argc, char **argv) {
  int slowdown = 1, flush = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--slowdown") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slowdown = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-flush") == 0) {
      flush = 0;
    } else {
      fprintf(stderr, "usage: %s [--slowdown K] [--no-flush]\n", argv[0]);
      return 2;
    }
  }
  gemm_init();
  openblas_set_num_threads(1);
  bench_print_machine(argc, argv);
  printf("openblas: %s (core %s), threads %d\n", openblas_get_config(), openblas_get_corename(),
         openblas_get_num_threads());
  if (slowdown > 1)
    printf("INJECTED: --slowdown %d (every counted update runs %d times)\n", slowdown, slowdown);
  if (!flush) printf("INJECTED: --no-flush (nn_flush_denormals() is not called)\n");

  const floors_t *fl = floors_for(openblas_get_corename());
  config_t cfg;
  config_init(&cfg);
  char err[256];
  if (config_load_preset(&cfg, "cartpole-dqn", err, sizeof err) != 0) die(err);
  printf(
      "preset:   cartpole-dqn: hidden %s %s, batch %lld, %s loss, double_dqn %s, replay %lld "
      "(filled with random CartPole-like transitions)\n",
      cfg.hidden, cfg.activation, (long long)cfg.batch_size, cfg.loss,
      cfg.double_dqn ? "true" : "false", (long long)cfg.replay_capacity);
  printf(
      "timing:   thread CPU time; per row %.1f s warm-up, then the best of %d windows of %.2f s, "
      "with a %d^3 SGEMM before and after each window (the row's peak: the best of those)\n\n",
      WARMUP_S, REPS, WINDOW_S, PEAK_N);

  peak_t pk;
  peak_init(&pk);
  double discard = 0;
  sgemm_peak(&pk, 1, &discard); /* warms caches and OpenBLAS's buffers */

  /* A huge samples-per-insert and no min_size: the limiter never makes the sampler wait. */
  flow_limits_t lim = {.min_size = 0, .spi = 1e9, .slack = 1};
  replay_t rp;
  if (replay_init(&rp, (size_t)cfg.replay_capacity, OBS_DIM, 1, &lim) != 0)
    die("out of memory for the replay buffer");
  rng_t fill_rng;
  rng_seed(&fill_rng, 3);
  fill_replay(&rp, (size_t)cfg.replay_capacity, &fill_rng);

  /* What FTZ/DAZ buy: one dqn_t aged with them off; then windows alternately off and on, each
   * from the aged state (with FTZ/DAZ on, the first Adam step flushes the subnormal moments). */
  unsigned csr_off = _mm_getcsr() & ~MXCSR_FTZ_DAZ;
  _mm_setcsr(csr_off);
  trainer_t t;
  trainer_init(&t, &cfg, "256,256", &rp);
  double t_age = bench_now();
  run_updates(&t, 1, AGE_UPDATES, 0, 1);
  t_age = bench_now() - t_age;
  snapshot_t snap;
  snapshot_take(&snap, &t.d);
  double frac_aged = denormal_fraction(&t.d.adam), frac_off = 0, frac_on = 0;
  double ups_off = 0, ups_on = 0;
  for (int i = 0; i < FTZ_REPS; i++) {
    _mm_setcsr(csr_off);
    snapshot_restore(&snap, &t.d);
    double u = run_updates(&t, 1, 0, WINDOW_S, 1);
    if (u > ups_off) ups_off = u;
    frac_off = denormal_fraction(&t.d.adam);
    snapshot_restore(&snap, &t.d);
    if (flush) nn_flush_denormals();
    u = run_updates(&t, 1, 0, WINDOW_S, 1);
    if (u > ups_on) ups_on = u;
    frac_on = denormal_fraction(&t.d.adam);
  }
  free(snap.online);
  trainer_free(&t);

  row_t rows[] = {
      {.hidden = "256,256", .sampling = 1, .floor = fl->preset_of_peak},
      {.hidden = "256,256", .sampling = 0},
      {.hidden = "64,64", .sampling = 1, .floor = fl->small_of_peak},
      {.hidden = "64,64", .sampling = 0},
  };
  const int n_rows = (int)(sizeof rows / sizeof *rows);
  double peak = 0;
  for (int i = 0; i < n_rows; i++) {
    row_t *w = &rows[i];
    trainer_init(&t, &cfg, w->hidden, &rp);
    if (!w->sampling) sample(&t); /* the one fixed batch of an update-only row */
    run_updates(&t, w->sampling, 0, WARMUP_S, slowdown);
    w->ups = best_of(&t, w->sampling, REPS, slowdown, &pk, &w->peak);
    w->flops = update_flops(&t.d);
    w->n_params = t.d.layout.n_params;
    trainer_free(&t);
    if (w->peak > peak) peak = w->peak;
  }
  printf(
      "peak:     OpenBLAS cblas_sgemm %dx%dx%d float, 1 thread: best %.1f GFLOP/s over the run\n\n",
      PEAK_N, PEAK_N, PEAK_N, peak);

  printf("%-10s %6s %-14s %10s %9s %10s %8s %10s %8s\n", "hidden", "params", "mode", "updates/s",
         "us/update", "MFLOP/upd", "GFLOP/s", "row peak", "of peak");
  for (int i = 0; i < n_rows; i++) {
    const row_t *w = &rows[i];
    double gf = w->ups * w->flops / 1e9;
    char net[64];
    snprintf(net, sizeof net, "%s%s", w->hidden, strcmp(w->hidden, cfg.hidden) == 0 ? "*" : "");
    printf("%-10s %6zu %-14s %10.0f %9.1f %10.3f %8.2f %10.1f %7.1f%%\n", net, w->n_params,
           w->sampling ? "sample+update" : "update only", w->ups, 1e6 / w->ups, w->flops / 1e6, gf,
           w->peak, 100.0 * gf / w->peak);
  }
  printf(
      "* the preset's width. sample+update = replay_sample_wait (batch from %lld transitions) "
      "then dqn_update; update only = dqn_update on one fixed batch. MFLOP/upd: the count in "
      "bench_trainer.c's header. of peak: GFLOP/s over the row's peak.\n\n",
      (long long)cfg.replay_capacity);
  printf(
      "denormals (256,256, sample+update): aged %d updates with FTZ/DAZ off in %.1f s; subnormal "
      "Adam moments %.1f%% after ageing, %.1f%% after an FTZ-off window, %.1f%% after an "
      "FTZ-on window\n",
      AGE_UPDATES, t_age, 100.0 * frac_aged, 100.0 * frac_off, 100.0 * frac_on);
  printf("          FTZ/DAZ off %.0f updates/s, on %.0f updates/s (best of %d windows each)\n\n",
         ups_off, ups_on, FTZ_REPS);

  printf("floors:   the %s row of bench_trainer.c's floor table\n",
         fl->core ? fl->core : "any-other-kernel");
  int fails = 0;
  char what[160];
  for (int i = 0; i < n_rows; i++) {
    if (rows[i].floor <= 0) continue;
    snprintf(what, sizeof what,
             "4-%s-2 batch %d sample+update: trainer FLOP rate / SGEMM peak (%.0f updates/s)",
             rows[i].hidden, (int)cfg.batch_size, rows[i].ups);
    for (char *p = what; *p; p++)
      if (*p == ',') *p = '-';
    bench_check(&fails, what, rows[i].ups * rows[i].flops / 1e9 / rows[i].peak, rows[i].floor);
  }
  bench_check(&fails, "4-256-256-2 updates/s with FTZ/DAZ / without, aged Adam moments",
              ups_on / ups_off, fl->ftz_speedup);
  replay_free(&rp);
  peak_free(&pk);
  if (fails) fprintf(stderr, "bench_trainer: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
