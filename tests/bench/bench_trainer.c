/* Benchmarks the learner's trainers (server/algo/dqn.c, ddpg.c): dqn_update on the
 * cartpole-dqn preset's settings (obs_dim 4, 2 actions, batch 64) and ddpg_update on the
 * pendulum-ddpg preset's (obs 3, action 1, 400-300, batch 256), on batches sampled from a
 * replay_t of random transitions, and asserts ratios measured in the same run
 * (tests/bench/README.md):
 *
 *   1. each update's matrix FLOP rate as a fraction of the same core's OpenBLAS SGEMM peak
 *      (cblas_sgemm 1024^3, one thread), for DQN 4-256-256-2 (the preset) and 4-64-64-2 and
 *      DDPG 400-300, replay sampling included, one thread;
 *   2. (printed only) what the denormal flush buys: on one dqn_t aged with FTZ/DAZ off until
 *      its Adam moments hold subnormals, updates/s with nn_flush_denormals() over without it;
 *   3. what a second trainer thread buys (trainer_threads = 2: the update split by units across
 *      a tpool, common/nnpar.h): updates/s with 2 threads / with 1, per CPU second of the busier
 *      thread, for DQN 4-256-256-2 and 4-512-512-2 and DDPG 400-300;
 *
 * each at least its floor (the table below). Printed, not asserted: the fixed cost of an
 * update (microseconds beyond its FLOPs at the row's peak), and 2-thread rows at other widths.
 *
 * FLOPs of one update are counted exactly from the layer widths (2 per multiply-add of the
 * three matrix products of each layer; update_flops below). With M = sum_i n_i n_{i+1}
 * multiply-adds per sample of one forward pass and f_1 = n_0 n_1 (the first layer's), batch B:
 *   DQN (double DQN as the preset): forwards of the target net on s', the online net on s'
 *   and on s: 3 B M; weight gradients of every layer: B M; input gradients of every layer but
 *   the first (dqn asks for no dL/dobs): B (M - f_1). Total 2 B (5 M - f_1): 42,795,008 for
 *   4-256-256-2 and 2,834,432 for 4-64-64-2 at B = 64.
 *   DDPG (actor a, critic c, TD3's twin t = 0 or 1, the actor step every d = 1 or
 *   policy_delay updates): target actor and (1 + t) target critics forward: B (M_a +
 *   (1 + t) M_c); each critic forward, weight and input gradients (not the first layer's):
 *   (1 + t) B (3 M_c - f_1c); per actor step (1/d of the updates): the actor forward, critic 1
 *   forward, critic 1 input gradients of every layer (dL/da), the actor's weight gradients and
 *   input gradients but the first layer's: B (3 M_a - f_1a + 2 M_c). DDPG 3-400-300-1 actor,
 *   4-400-300-1 critic, B = 256: 621,875,200.
 * Biases, activations, the loss, clipping, the optimizer, target updates and the sampling are
 * not counted, so the fraction is a lower bound.
 *
 * The machine may be shared: single-thread rates are per CPU-second of this thread, the best
 * of several windows, and each row's peak is the best of the products run between its windows,
 * so both sides of a ratio see the same moments of the machine. Two-thread rates can only be
 * wall clock: many short windows (a few updates) alternate with the same trainer's one-thread
 * windows, the best of each counts (the moments when the machine gave this process two
 * cores), and the load is printed. Options (off by default; they exist to show that the checks
 * fail): --slowdown K runs every counted update K times (the trainer at 1/K of its rate);
 * --no-flush skips nn_flush_denormals() before the FTZ-on windows; --no-split gives the
 * two-thread trainers a pool of one. --rlserve-kernels runs on the OpenBLAS kernels rlserve
 * would (it re-executes itself with OPENBLAS_CORETYPE as server/cli/main.c does). Run: ctest -L bench -R bench_trainer -V (or
 * ./tests/bench_trainer). ~60 s. */
#define _GNU_SOURCE /* bench_machine.h */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

#include "bench_machine.h"
#include "bench_peak.h"
#include "config.h"
#include "ddpg.h"
#include "dqn.h"
#include "env.h"
#include "gemm.h"
#include "nn.h"
#include "replay.h"
#include "rng.h"
#include "tpool.h"

#define OBS_DIM 4
#define N_ACTIONS 2
#define P_OBS_DIM 3     /* Pendulum-v1: cos, sin, angular velocity */
#define FILL 100000     /* transitions in each replay */
#define THREAD_REPS 24  /* pairs of short wall-clock windows, 1 thread then 2 */
#define WARMUP_S 0.3  /* of every row before its windows: caches, Adam's first steps */
#define WINDOW_S 0.25 /* one timed window */
#define REPS 6        /* windows per row; the best counts */
#define BENCH_PEAK_N 1024   /* the peak product is BENCH_PEAK_N^3 */
/* Updates with FTZ/DAZ off before the FTZ windows. Adam's m of a weight whose gradient is
 * always 0 (a dead ReLU unit) decays by beta1 = 0.9 per step and is subnormal after ~800
 * steps; 0.9 x the smallest subnormal rounds back to it, so such moments stay subnormal. */
#define AGE_UPDATES 1200
#define FTZ_REPS 3 /* pairs of windows from the aged state, FTZ/DAZ off then on */

/* Floors per OpenBLAS kernel family (openblas_get_corename()): the fraction of peak depends
 * on how well the kernel does on small products against 1024^3, and the FTZ speedup on how
 * fast the rest of the update is. Measured on the build machine (2-core shared VM, Xeon with
 * AVX-512; OpenBLAS 0.3.21 DYNAMIC_ARCH detects it as Prescott, OPENBLAS_CORETYPE=SkylakeX
 * forces the AVX-512 kernels; the measured ranges are in tests/bench/README.md). Each floor
 * sits below the worst value seen under load and above half the usual one, so a trainer at
 * half its usual rate fails. Other kernels get the lowest floors of the table. Since gemm's
 * AVX-512 kernels (gemm512.h) run the mid-sized products on either OpenBLAS kernel family, the
 * Prescott and SkylakeX rows differ only in the small products (OpenBLAS's) and in the peak
 * (bench_peak.h: the faster of OpenBLAS and our kernel at 1024^3: OpenBLAS's on SkylakeX, ours
 * on Prescott). Measured (2026-12-01, quiet): DQN 4-256-256-2 0.82-0.83 / 4-64-64-2 0.66-0.71 /
 * DDPG 0.82-0.86 / TD3 0.85 on SkylakeX; 0.93 / 0.35 / 0.995 / 0.997 on Prescott. The
 * two-thread floors: with the update split by units (common/nnpar.h), 2 threads / 1 measured
 * 1.77-1.79x (DQN 4-256-256-2), 1.98-2.04x (4-512-512-2) and 1.87x (DDPG 400-300) on SkylakeX
 * (two independent SGEMMs: ~2x, the run prints this ceiling; before nnpar 1.40-1.50x and
 * 1.31-1.46x), so 1.5 fails a split that lost its cache locality. The FTZ ratio is printed,
 * not asserted: the fused optimizer (common/optim.c) handles subnormal moments ~3x faster than
 * the scalar loop it replaced, so flushing buys 1.0-1.9x now (it bought 3.5x). */
typedef struct floors {
  const char *core;
  double preset_of_peak, small_of_peak, ddpg_of_peak, dqn_2t, ddpg_2t;
} floors_t;

static const floors_t floor_table[] = {
    /* core, DQN 256 / DQN 64 / DDPG 400-300 of peak, 2T/1T DQN 256 / DDPG */
    {"Prescott", 0.60, 0.20, 0.60, 1.50, 1.50},
    {"SkylakeX", 0.60, 0.40, 0.65, 1.50, 1.50},
    {NULL, 0.40, 0.30, 0.55, 1.30, 1.30}, /* any other kernel */
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


static double layout_macs(const nn_layout_t *l) {
  double macs = 0;
  for (int i = 0; i < l->n_layers; i++) macs += (double)l->sizes[i] * l->sizes[i + 1];
  return macs;
}

/* Matrix FLOPs of one dqn_update (the count in the header comment). */
static double dqn_flops(const dqn_t *d) {
  const nn_layout_t *l = &d->layout;
  double macs = layout_macs(l), first = (double)l->sizes[0] * l->sizes[1];
  double forwards = 2.0 + (d->double_dqn ? 1.0 : 0.0);
  return 2.0 * d->batch * (forwards * macs + macs + (macs - first));
}

/* Matrix FLOPs of one ddpg_update, averaged over policy_delay updates (the header's count). */
static double ddpg_flops(const ddpg_t *g) {
  double ma = layout_macs(&g->actor_l), mc = layout_macs(&g->critic_l);
  double fa = (double)g->actor_l.sizes[0] * g->actor_l.sizes[1];
  double fc = (double)g->critic_l.sizes[0] * g->critic_l.sizes[1];
  double k = 1.0 + g->twin;
  double per = ma + k * mc + k * (3 * mc - fc) + (3 * ma - fa + 2 * mc) / (double)g->policy_delay;
  return 2.0 * g->batch * per;
}

/* Random transitions. CartPole-like: states inside the termination box, a small step to s',
 * reward 1, about one terminal in 50. Pendulum-like: (cos, sin, velocity) of a random angle,
 * a torque in [-2, 2], a reward in [-16.3, 0], never terminal. */
static void fill_replay(replay_t *rp, int pendulum, size_t n, rng_t *r) {
  enum { CHUNK = 1024 };
  static float obs[CHUNK * OBS_DIM], next[CHUNK * OBS_DIM], act[CHUNK], rew[CHUNK];
  static uint8_t flags[CHUNK];
  const double lim[OBS_DIM] = {2.4, 2.0, 0.2095, 2.0};
  const int od = pendulum ? P_OBS_DIM : OBS_DIM;
  for (size_t done = 0; done < n; done += CHUNK) {
    size_t k = n - done < CHUNK ? n - done : CHUNK;
    for (size_t i = 0; i < k; i++) {
      float *o = obs + i * od, *x = next + i * od;
      if (pendulum) {
        double th = rng_range(r, -M_PI, M_PI), w = rng_range(r, -8, 8);
        double th2 = th + 0.05 * w;
        o[0] = (float)cos(th), o[1] = (float)sin(th), o[2] = (float)w;
        x[0] = (float)cos(th2), x[1] = (float)sin(th2), x[2] = (float)w;
        act[i] = (float)rng_range(r, -2, 2);
        rew[i] = (float)rng_range(r, -16.2736044, 0);
        flags[i] = 0;
      } else {
        for (int j = 0; j < OBS_DIM; j++) {
          o[j] = (float)rng_range(r, -lim[j], lim[j]);
          x[j] = o[j] + (float)rng_range(r, -0.05, 0.05);
        }
        act[i] = (float)rng_below(r, N_ACTIONS);
        rew[i] = 1.0f;
        flags[i] = rng_below(r, 50) == 0;
      }
    }
    replay_insert(rp, k, obs, act, rew, next, flags);
  }
}

/* A dqn_t on the cartpole-dqn preset's settings or a ddpg_t on pendulum-ddpg's, with
 * `hidden`, its batch buffers and (threads > 1) its pool. */
typedef struct trainer {
  int ddpg;
  dqn_t d;
  ddpg_t g;
  rng_t r;
  replay_t *rp;
  tpool_t *pool;
  int batch;
  replay_sample_t s; /* the sampled batch (its disc, weight and id unused here) */
} trainer_t;

static void trainer_init(trainer_t *t, const config_t *preset, const char *hidden, replay_t *rp,
                         int threads) {
  memset(t, 0, sizeof *t);
  config_t cfg = *preset;
  char err[256];
  if (config_set(&cfg, "hidden", hidden, err, sizeof err) != 0) die(err);
  rng_seed(&t->r, 11);
  t->ddpg = strcmp(cfg.algo, "dqn") != 0;
  int od = OBS_DIM;
  if (t->ddpg) {
    const env_spec_t *pend = env_find("Pendulum-v1");
    if (!pend) die("Pendulum-v1 is not registered");
    od = pend->obs.dim;
    if (ddpg_init(&t->g, &cfg, od, &pend->act, &t->r, err, sizeof err) != 0) die(err);
    t->batch = t->g.batch;
  } else {
    if (dqn_init(&t->d, &cfg, OBS_DIM, N_ACTIONS, &t->r, err, sizeof err) != 0) die(err);
    t->batch = t->d.batch;
  }
  size_t B = (size_t)t->batch;
  t->rp = rp;
  if (replay_sample_alloc(&t->s, B, (size_t)od, 1) != 0) die("out of memory for a batch");
  if (threads > 1 && !(t->pool = tpool_create(threads, nn_flush_denormals)))
    die("cannot start the trainer's thread pool");
}

static void trainer_free(trainer_t *t) {
  replay_sample_free(&t->s);
  if (t->ddpg)
    ddpg_free(&t->g);
  else
    dqn_free(&t->d);
  tpool_destroy(t->pool);
}

static double trainer_flops(const trainer_t *t) {
  return t->ddpg ? ddpg_flops(&t->g) : dqn_flops(&t->d);
}
static size_t trainer_params(const trainer_t *t) {
  return t->ddpg ? t->g.n_online : t->d.layout.n_params;
}

static void sample(trainer_t *t) {
  replay_sample_t *b = &t->s;
  if (replay_sample_wait(t->rp, &t->r, (size_t)t->batch, b->obs, b->act, b->rew, b->next_obs,
                         b->term, 1000) != 0)
    die("replay_sample_wait blocked: the rate limit should never bind here");
}

static void update(trainer_t *t) {
  if (t->ddpg)
    ddpg_update(&t->g, t->s.obs, t->s.act, t->s.rew, t->s.next_obs, t->s.term, NULL);
  else
    dqn_update(&t->d, t->s.obs, t->s.act, t->s.rew, t->s.next_obs, t->s.term, NULL);
}

/* Counted updates/s over `n` updates (n > 0) or at least `seconds` of `clock` (bench_now: this
 * thread's CPU time; bench_wall_now). Each counted update samples a batch first if `sampling` (else
 * reuses the last one) and runs the update `slowdown` times, split across t's pool if any. */
static double run_updates_on(trainer_t *t, int sampling, long n, double seconds, int slowdown,
                             double (*clock)(void)) {
  long iters = 0;
  gemm_set_pool(t->pool);
  double t0 = clock(), t1 = t0;
  while (n > 0 ? iters < n : t1 - t0 < seconds) {
    if (sampling) sample(t);
    for (int k = 0; k < slowdown; k++) update(t);
    iters++;
    t1 = clock();
  }
  gemm_set_pool(NULL);
  return (double)iters / (t1 - t0);
}

static double run_updates(trainer_t *t, int sampling, long n, double seconds, int slowdown) {
  return run_updates_on(t, sampling, n, seconds, slowdown, bench_now);
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
  int ddpg; /* 0 DQN (cartpole-dqn), 1 DDPG (pendulum-ddpg), 2 TD3 (pendulum-td3-zoo) */
  const char *hidden;
  int sampling;
  double floor;            /* of the fraction of peak; 0: not checked */
  double ups, flops, peak; /* peak: GFLOP/s, the best SGEMM taken between the row's windows */
  size_t n_params;
} row_t;

typedef struct trow {
  int ddpg;
  const char *hidden;
  long window;  /* updates per window (~10-50 ms: short, to find the machine's quiet moments) */
  double floor; /* of updates/s 2 threads / 1; 0: not checked */
  double ups1, ups2; /* wall clock */
  double cpu1, cpu2;  /* per CPU second of the busier thread (the caller alone for 1) */
  double flops;
} trow_t;

/* The machine's two-thread ceiling: two independent 512^3 products at once (one per thread of
 * a pool of 2) against one, by the same two clocks as the trainer rows: wall and CPU seconds of
 * the busier thread. Two vCPUs that share one physical core's vector units (SMT siblings on the
 * host) show a CPU-time ratio near 1 with kernels that fill those units. */
#define CEIL_N 512
typedef struct ceil_job {
  const float *a, *b;
  float *c[2];
} ceil_job_t;

static void ceil_part(void *arg, int part, int n) {
  ceil_job_t *j = arg;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, CEIL_N, CEIL_N, CEIL_N, 1.0f, j->a,
              CEIL_N, j->b, CEIL_N, 0.0f, j->c[part], CEIL_N);
}

static void two_thread_ceiling(const peak_t *pk, int reps, double *wall_ratio, double *cpu_ratio) {
  tpool_t *pool = tpool_create(2, nn_flush_denormals);
  if (!pool) die("cannot start a pool of 2");
  ceil_job_t j = {pk->a, pk->b, {pk->c, pk->c + (size_t)CEIL_N * CEIL_N}};
  *wall_ratio = *cpu_ratio = 0;
  for (int r = 0; r < reps; r++) {
    double w0 = bench_wall_now(), c0 = bench_now();
    ceil_part(&j, 0, 1);
    double w1 = bench_wall_now() - w0, c1 = bench_now() - c0;
    double k0 = tpool_thread_cpu(pool, 1);
    w0 = bench_wall_now(), c0 = bench_now();
    tpool_run(pool, ceil_part, &j);
    double w2 = bench_wall_now() - w0, cc = bench_now() - c0, ck = tpool_thread_cpu(pool, 1) - k0;
    double c2 = cc > ck ? cc : ck;
    if (2 * w1 / w2 > *wall_ratio) *wall_ratio = 2 * w1 / w2;
    if (2 * c1 / c2 > *cpu_ratio) *cpu_ratio = 2 * c1 / c2;
  }
  tpool_destroy(pool);
}

/* ddpg: 0 DQN, 1 DDPG, 2 TD3 (the row kinds). */
static const char *row_name(int ddpg, const char *hidden, char *buf, size_t len) {
  snprintf(buf, len, "%s %s-%s-%s", ddpg == 2 ? "td3" : ddpg ? "ddpg" : "dqn", ddpg ? "3" : "4",
           hidden, ddpg ? "1" : "2");
  for (char *p = buf; *p; p++)
    if (*p == ',') *p = '-';
  return buf;
}

int main(int argc, char **argv) {
  int slowdown = 1, flush = 1, split = 1;
  long profile = 0;
  int profile_threads = 1, profile_ddpg = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc && atol(argv[i + 1]) >= 1) {
      profile = atol(argv[++i]);
    } else if (strcmp(argv[i], "--ddpg") == 0) {
      profile_ddpg = 1;
    } else if (strcmp(argv[i], "--simd") == 0 && i + 1 < argc) {
      gemm_set_simd_max(atoi(argv[++i])); /* 512, 256 (an AVX2-only CPU), 0 (OpenBLAS only) */
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      profile_threads = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--slowdown") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slowdown = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-flush") == 0) {
      flush = 0;
    } else if (strcmp(argv[i], "--no-split") == 0) {
      split = 0;
    } else if (strcmp(argv[i], "--rlserve-kernels") == 0) {
      /* The kernels rlserve runs (server/cli/main.c): the same re-exec with OPENBLAS_CORETYPE
       * when OpenBLAS chose a generic kernel for this CPU. */
      const char *better = getenv("OPENBLAS_CORETYPE") ? NULL : gemm_better_coretype();
      if (better) {
        setenv("OPENBLAS_CORETYPE", better, 1);
        execv("/proc/self/exe", argv);
        die("cannot re-execute with OPENBLAS_CORETYPE set");
      }
    } else {
      fprintf(stderr, "usage: %s [--slowdown K] [--no-flush] [--no-split] [--rlserve-kernels] "
                      "[--simd 512|256|0] [--profile N [--threads T] [--ddpg]]\n",
              argv[0]);
      return 2;
    }
  }
  gemm_init();
  openblas_set_num_threads(1);
  bench_print_machine(argc, argv);
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("openblas: %s (core %s), threads %d; OPENBLAS_CORETYPE %s\n", openblas_get_config(),
         openblas_get_corename(), openblas_get_num_threads(), coretype ? coretype : "unset");
  printf("optim:    %s kernels (common/optim.h)\n", optim_isa_name(optim_isa_detected()));
  if (slowdown > 1)
    printf("INJECTED: --slowdown %d (every counted update runs %d times)\n", slowdown, slowdown);
  if (!flush) printf("INJECTED: --no-flush (nn_flush_denormals() is not called)\n");
  if (!split) printf("INJECTED: --no-split (the 2-thread trainers get a pool of 1)\n");

  const floors_t *fl = floors_for(openblas_get_corename());
  config_t cfg, pcfg, tcfg;
  config_init(&cfg);
  config_init(&pcfg);
  config_init(&tcfg);
  char err[256];
  if (config_load_preset(&cfg, "cartpole-dqn", err, sizeof err) != 0) die(err);
  if (config_load_preset(&pcfg, "pendulum-ddpg", err, sizeof err) != 0) die(err);
  if (config_load_preset(&tcfg, "pendulum-td3-zoo", err, sizeof err) != 0) die(err);
  const config_t *kind_cfg[3] = {&cfg, &pcfg, &tcfg}; /* by row_t's ddpg */
  printf(
      "preset:   cartpole-dqn: hidden %s %s, batch %lld, %s loss, double_dqn %s, optimizer %s "
      "(replay of %d random CartPole-like transitions)\n",
      cfg.hidden, cfg.activation, (long long)cfg.batch_size, cfg.loss,
      cfg.double_dqn ? "true" : "false", cfg.optimizer, FILL);
  printf(
      "preset:   pendulum-ddpg: hidden %s, batch %lld, tau %g (replay of %d random "
      "Pendulum-like transitions)\n",
      pcfg.hidden, (long long)pcfg.batch_size, pcfg.tau, FILL);
  printf("preset:   pendulum-td3-zoo: hidden %s, batch %lld, policy_delay %lld, target_noise %g\n",
         tcfg.hidden, (long long)tcfg.batch_size, (long long)tcfg.policy_delay, tcfg.target_noise);
  printf(
      "timing:   thread CPU time; per row %.1f s warm-up, then the best of %d windows of %.2f s, "
      "with a %d^3 SGEMM before and after each window (the row's peak: the best of those)\n\n",
      WARMUP_S, REPS, WINDOW_S, BENCH_PEAK_N);

  peak_t pk;
  peak_init(&pk);
  double discard = 0;
  sgemm_peak(&pk, 1, &discard); /* warms caches and OpenBLAS's buffers */

  /* A huge samples-per-insert and no min_size: the limiter never makes the sampler wait. */
  flow_limits_t lim = {.min_size = 0, .spi = 1e9, .slack = 1};
  replay_t rp, prp;
  if (replay_init(&rp, FILL, OBS_DIM, 1, &lim) != 0 ||
      replay_init(&prp, FILL, P_OBS_DIM, 1, &lim) != 0)
    die("out of memory for the replay buffers");
  rng_t fill_rng;
  rng_seed(&fill_rng, 3);
  fill_replay(&rp, 0, FILL, &fill_rng);
  fill_replay(&prp, 1, FILL, &fill_rng);

  if (profile) { /* --profile N: N updates of the preset's DQN (--ddpg: DDPG 400-300) on T
                  * threads, for perf */
    nn_flush_denormals();
    trainer_t t;
    if (profile_ddpg)
      trainer_init(&t, &pcfg, "400,300", &prp, profile_threads);
    else
      trainer_init(&t, &cfg, cfg.hidden, &rp, profile_threads);
    run_updates(&t, 1, 200, 0, 1);
    double c0 = bench_now(), u = run_updates(&t, 1, profile, 0, 1), c1 = bench_now(), pkb = 0;
    if (profile_threads > 1) /* the caller's CPU time only; say the wall rate too */
      printf("profile:  %d threads: %.0f updates per wall second\n", profile_threads,
             run_updates_on(&t, 1, profile, 0, 1, bench_wall_now));
    sgemm_peak(&pk, 5, &pkb);
    printf("profile:  %ld updates in %.3f s CPU (%.0f updates/s, %.1f%% of %.1f GFLOP/s peak)\n",
           profile, c1 - c0, u, 100.0 * u * trainer_flops(&t) / (pkb * 1e9), pkb);
    trainer_free(&t);
    replay_free(&rp);
    replay_free(&prp);
    peak_free(&pk);
    return 0;
  }

  /* What FTZ/DAZ buy: one dqn_t aged with them off; then windows alternately off and on, each
   * from the aged state (with FTZ/DAZ on, the first Adam step flushes the subnormal moments). */
  unsigned csr_off = _mm_getcsr() & ~MXCSR_FTZ_DAZ;
  _mm_setcsr(csr_off);
  trainer_t t;
  trainer_init(&t, &cfg, "256,256", &rp, 1);
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
  nn_flush_denormals(); /* every later row, as the learner's trainer thread */

  /* One thread: the fraction of peak. */
  row_t rows[] = {
      {.hidden = "256,256", .sampling = 1, .floor = fl->preset_of_peak},
      {.hidden = "256,256", .sampling = 0},
      {.hidden = "64,64", .sampling = 1, .floor = fl->small_of_peak},
      {.hidden = "64,64", .sampling = 0},
      {.hidden = "16,16", .sampling = 0},
      {.ddpg = 1, .hidden = "400,300", .sampling = 1, .floor = fl->ddpg_of_peak},
      {.ddpg = 1, .hidden = "400,300", .sampling = 0},
      {.ddpg = 2, .hidden = "400,300", .sampling = 1, .floor = fl->ddpg_of_peak},
  };
  const int n_rows = (int)(sizeof rows / sizeof *rows);
  double peak = 0;
  for (int i = 0; i < n_rows; i++) {
    row_t *w = &rows[i];
    trainer_init(&t, kind_cfg[w->ddpg], w->hidden, w->ddpg ? &prp : &rp, 1);
    if (!w->sampling) sample(&t); /* the one fixed batch of an update-only row */
    run_updates(&t, w->sampling, 0, WARMUP_S, slowdown);
    w->ups = best_of(&t, w->sampling, REPS, slowdown, &pk, &w->peak);
    w->flops = trainer_flops(&t);
    w->n_params = trainer_params(&t);
    trainer_free(&t);
    if (w->peak > peak) peak = w->peak;
  }

  /* Two threads against one, wall clock, alternating windows on one trainer (the same batches,
   * the same state): the pool is swapped in and out. */
  trow_t trows[] = {
      {.hidden = "256,256", .window = 16, .floor = fl->dqn_2t},
      {.hidden = "64,64", .window = 128},
      {.hidden = "128,128", .window = 64},
      {.hidden = "512,512", .window = 6, .floor = fl->dqn_2t},
      {.hidden = "1024,1024", .window = 2},
      {.ddpg = 1, .hidden = "400,300", .window = 2, .floor = fl->ddpg_2t},
  };
  const int n_trows = (int)(sizeof trows / sizeof *trows);
  char load_before[128] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (fgets(load_before, sizeof load_before, lf)) load_before[strcspn(load_before, "\n")] = 0;
    fclose(lf);
  }
  double ceil_wall, ceil_cpu;
  two_thread_ceiling(&pk, 12, &ceil_wall, &ceil_cpu);
  for (int i = 0; i < n_trows; i++) {
    trow_t *w = &trows[i];
    trainer_init(&t, kind_cfg[w->ddpg], w->hidden, w->ddpg ? &prp : &rp, split ? 2 : 1);
    tpool_t *pool = t.pool;
    w->flops = trainer_flops(&t);
    run_updates_on(&t, 1, 0, WARMUP_S / 2, 1, bench_wall_now);
    for (int r = 0; r < THREAD_REPS; r++) {
      t.pool = NULL;
      double c0 = bench_now();
      double u1 = run_updates_on(&t, 1, w->window, 0, slowdown, bench_wall_now);
      double cpu1 = bench_now() - c0;
      t.pool = pool;
      run_updates_on(&t, 1, 2, 0, 1, bench_wall_now); /* untimed: the pool thread awake */
      double wk0 = tpool_thread_cpu(pool, 1);
      c0 = bench_now();
      double u2 = run_updates_on(&t, 1, w->window, 0, slowdown, bench_wall_now);
      double cpu_caller = bench_now() - c0, cpu_worker = tpool_thread_cpu(pool, 1) - wk0;
      double cpu2 = cpu_worker > cpu_caller ? cpu_worker : cpu_caller;
      if (u1 > w->ups1) w->ups1 = u1;
      if (u2 > w->ups2) w->ups2 = u2;
      if (w->window / cpu1 > w->cpu1) w->cpu1 = w->window / cpu1;
      if (w->window / cpu2 > w->cpu2) w->cpu2 = w->window / cpu2;
    }
    trainer_free(&t);
  }

  printf(
      "peak:     %dx%dx%d float product, 1 thread, the faster of OpenBLAS cblas_sgemm and gemm's "
      "SIMD kernel (%s; bench_peak.h): best %.1f GFLOP/s over the run\n\n",
      BENCH_PEAK_N, BENCH_PEAK_N, BENCH_PEAK_N,
      gemm_simd_width() == 512 ? "AVX-512" : gemm_simd_width() == 256 ? "AVX2" : "none on this CPU",
      peak);

  printf("one thread (thread CPU time)\n");
  printf("%-18s %7s %-14s %10s %9s %10s %8s %9s %8s %9s\n", "update", "params", "mode",
         "updates/s", "us/update", "MFLOP/upd", "GFLOP/s", "row peak", "of peak", "fixed us");
  for (int i = 0; i < n_rows; i++) {
    const row_t *w = &rows[i];
    double gf = w->ups * w->flops / 1e9;
    char net[80], name[64];
    row_name(w->ddpg, w->hidden, name, sizeof name);
    int preset = strcmp(w->hidden, kind_cfg[w->ddpg]->hidden) == 0;
    snprintf(net, sizeof net, "%s%s", name, preset ? "*" : "");
    /* What the update costs beyond its FLOPs at the row's peak rate. */
    double fixed_us = 1e6 / w->ups - 1e6 * w->flops / (w->peak * 1e9);
    printf("%-18s %7zu %-14s %10.0f %9.1f %10.3f %8.2f %9.1f %7.1f%% %9.1f\n", net, w->n_params,
           w->sampling ? "sample+update" : "update only", w->ups, 1e6 / w->ups, w->flops / 1e6, gf,
           w->peak, 100.0 * gf / w->peak, fixed_us);
  }
  printf(
      "* the preset's width. sample+update = replay_sample_wait (batch from %d transitions) "
      "then the update; update only = the update on one fixed batch. MFLOP/upd: the count in "
      "bench_trainer.c's header. of peak: GFLOP/s over the row's peak. fixed us: us/update "
      "minus MFLOP/upd at the row's peak (the cost of everything but ideal matrix products).\n\n",
      FILL);

  printf(
      "two threads vs one (wall clock, sample+update, best of %d alternating short windows; load "
      "%s before)\n",
      THREAD_REPS, load_before);
  printf(
      "ceiling: two independent %d^3 SGEMMs at once / one: wall %.2f, CPU second of the busier "
      "thread %.2f (best of 12)\n",
      CEIL_N, ceil_wall, ceil_cpu);
  printf("%-18s %10s %10s %7s %12s %12s %7s %12s\n", "update", "1T wall/s", "2T wall/s",
         "wall", "1T upd/cpu-s", "2T upd/cpu-s", "cpu", "2T of peak/T");
  for (int i = 0; i < n_trows; i++) {
    const trow_t *w = &trows[i];
    char name[64];
    row_name(w->ddpg, w->hidden, name, sizeof name);
    printf("%-18s %10.0f %10.0f %7.2f %12.0f %12.0f %7.2f %11.1f%%\n", name, w->ups1, w->ups2,
           w->ups2 / w->ups1, w->cpu1, w->cpu2, w->cpu2 / w->cpu1,
           100.0 * w->cpu2 * w->flops / 1e9 / (2.0 * peak));
  }
  printf(
      "scaling rule: trainer_threads = T runs a dense network's whole update as one job of T "
      "threads split by units (common/nnpar.h: each thread owns a slice of every layer of at "
      "least 32 T units, its weights, gradients and Adam moments; only activations cross "
      "cores); conv networks split each product of at least 524,288 multiply-adds (gemm.h); "
      "default T = "
      "cores minus local workers (server/learner/trainer.c). wall: updates per wall second, "
      "2T / 1T. cpu: updates per CPU second of the busier of the two threads (the caller's part, "
      "spin-waits and hand-overs; the pool thread's part and spin-waits), 2T / 1T: the speedup two "
      "cores of their own would give, free of the other processes' load (asserted). 2T of "
      "peak/T: that rate's GFLOP/s over 2 x the run's one-thread peak.\n\n");

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
  char what[320], name[64];
  for (int i = 0; i < n_rows; i++) {
    if (rows[i].floor <= 0) continue;
    snprintf(what, sizeof what,
             "%s batch %d sample+update: trainer FLOP rate / SGEMM peak (%.0f updates/s)",
             row_name(rows[i].ddpg, rows[i].hidden, name, sizeof name),
             (int)kind_cfg[rows[i].ddpg]->batch_size, rows[i].ups);
    bench_check(&fails, what, rows[i].ups * rows[i].flops / 1e9 / rows[i].peak, rows[i].floor);
  }
  for (int i = 0; i < n_trows; i++) {
    if (trows[i].floor <= 0) continue;
    snprintf(what, sizeof what,
             "%s updates per CPU second of the busier thread, 2 trainer threads / 1",
             row_name(trows[i].ddpg, trows[i].hidden, name, sizeof name));
    bench_check(&fails, what, trows[i].cpu2 / trows[i].cpu1, trows[i].floor);
  }
  /* Printed, not asserted: since the fused optimizer the flush buys 1.0-1.9x here, too close
   * to 1 for a floor that --no-flush (1.00) would fail and a healthy run would not. */
  printf("report      dqn 4-256-256-2 updates/s with FTZ/DAZ / without, aged Adam moments: %.3g\n",
         ups_on / ups_off);
  replay_free(&rp);
  replay_free(&prp);
  peak_free(&pk);
  if (fails) fprintf(stderr, "bench_trainer: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
