/* Benchmarks the learner's DQN update on the minatar-breakout-dqn preset (server/algo/dqn.c):
 * conv:16x3x3 over 10x10x4 -> fc 128 -> 6 actions, batch 32, centered RMSprop, Huber, plain
 * DQN, batches sampled from a 100,000-transition bits replay (common/replay.h, packed
 * observations unpacked per batch) of random sparse MinAtar-like frames. Asserts ratios
 * measured in the same run (tests/bench/README.md):
 *
 *   1. the update's matrix FLOP rate (sampling included, one thread, thread CPU time) over
 *      the same core's OpenBLAS SGEMM peak (1024^3, one thread, run between the windows);
 *   2. updates per CPU second of the busier thread with 2 trainer threads / 1 (the target
 *      forward on the pool thread while the caller runs the online forward, and every
 *      product large enough split, common/gemm.h).
 *
 * Printed, not asserted: the time of each phase of an update (thread CPU time, one thread):
 * sampling + unpacking, the target forward, the online forward, the loss, the backward, the
 * optimizer step; the conv forward through common/nn.c against im2col + one OpenBLAS SGEMM.
 *
 * FLOPs per update, exactly, 2 per multiply-add: with M = sum over layers of its
 * multiply-adds per sample (conv: positions x filters x kh kw C; dense in x out) and f_1 the
 * first layer's, batch B, forwards of the target net on s' and of the online net on s (and on
 * s' for double DQN), the weight gradients of every layer and the input gradients of all but
 * the first: 2 B (n_fwd M + M + M - f_1). Breakout (C = 4): M = 64*16*36 + 1024*128 + 128*6 =
 * 168,704, f_1 = 36,864: 40,828,928 per update. Biases, activations, the loss, the optimizer,
 * im2col, unpacking and sampling are not counted.
 *
 *   3. with AVX-512F, updates/s with nn's direct AVX-512 conv (what nn runs there) over the
 *      same trainer with the conv forced to im2col + SGEMM (nn_set_conv_direct(0)), in
 *      alternating windows.
 *
 * Options: --slowdown K (every counted update K times: checks 1 and 2 fail), --slow-direct K
 * (every update of the direct-conv windows K times: check 3 fails), --no-split (the
 * two-thread trainer gets a pool of one: the thread check fails), --rlserve-kernels (re-exec
 * with the OPENBLAS_CORETYPE rlserve sets), --profile N (runs N updates and exits: for perf),
 * --game NAME (another MinAtar game's channels; asserts nothing). ~30 s. */
#define _GNU_SOURCE /* bench_machine.h */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_machine.h"
#include "bench_peak.h"
#include "config.h"
#include "dqn.h"
#include "env.h"
#include "gemm.h"
#include "guard.h"
#include "nn.h"
#include "obsbits.h"
#include "replay.h"
#include "rng.h"
#include "tpool.h"

#define FILL 100000
#define WARMUP_S 0.3
#define WINDOW_S 0.25
#define REPS 6
#define THREAD_REPS 48
#define THREAD_WINDOW 32 /* updates per two-thread window */

/* Floors per OpenBLAS kernel family, set from runs on the build machine (2-core shared VM,
 * "Intel(R) Xeon(R) Processor" with AVX-512, load 3.7-7: a training run at nice 0 held one
 * core): FLOP rate / peak measured 0.43-0.47 (SkylakeX) and 0.90 (Prescott); 2 threads / 1
 * 1.04-1.58 (SkylakeX; the busier thread's CPU counts its spin-waits while the other is
 * descheduled) and 1.79 (Prescott); direct conv / im2col 1.36 (SkylakeX), 1.14 (Prescott).
 * tests/bench/README.md has the table. */
typedef struct floors {
  const char *core;
  double of_peak, two_threads, direct_over_im2col;
} floors_t;

static const floors_t floor_table[] = {
    /* core, FLOP rate / peak, 2T / 1T (busier thread's CPU), direct conv / im2col */
    {"Prescott", 0.60, 1.20, 1.03},
    {"SkylakeX", 0.35, 1.10, 1.05},
    {NULL, 0.30, 1.10, 1.03},
};

static const floors_t *floors_for(const char *core) {
  const floors_t *f = floor_table;
  while (f->core && strcmp(f->core, core) != 0) f++;
  return f;
}

static void die(const char *what) {
  fprintf(stderr, "bench_trainer_conv: %s\n", what);
  exit(1);
}


/* Multiply-adds per sample of layer i's forward (0 for flatten). */
static double layer_macs(const nn_layout_t *l, int i) {
  switch (l->kind[i]) {
    case NN_CONV:
      return (double)l->shape[i + 1][0] * l->shape[i + 1][1] * l->shape[i + 1][2] * l->kh[i] *
             l->kw[i] * l->shape[i][2];
    case NN_DENSE:
      return (double)l->sizes[i] * l->sizes[i + 1];
    case NN_DUELING:
      return (double)l->sizes[i] * (l->sizes[i + 1] + 1);
    case NN_FLATTEN:
      break;
  }
  return 0;
}

static double dqn_flops(const dqn_t *d) {
  const nn_layout_t *l = &d->layout;
  double m = 0;
  for (int i = 0; i < l->n_layers; i++) m += layer_macs(l, i);
  double first = layer_macs(l, 0), fwd = 2.0 + (d->double_dqn ? 1.0 : 0.0);
  return 2.0 * d->batch * (fwd * m + m + (m - first));
}

/* Random MinAtar-like transitions: each of the C channels has a few set cells (MinAtar frames
 * are sparse: a paddle, a ball, rows of bricks), s' moves some of them. */
static void fill_replay(replay_t *rp, int od, size_t n, int n_actions, rng_t *r) {
  enum { CHUNK = 256 };
  float *obs = malloc((size_t)CHUNK * od * sizeof(float));
  float *next = malloc((size_t)CHUNK * od * sizeof(float));
  float act[CHUNK], rew[CHUNK];
  uint8_t flags[CHUNK];
  if (!obs || !next) die("out of memory for the fill");
  for (size_t done = 0; done < n; done += CHUNK) {
    size_t k = n - done < CHUNK ? n - done : CHUNK;
    for (size_t i = 0; i < k; i++) {
      float *o = obs + i * od, *x = next + i * od;
      for (int j = 0; j < od; j++) {
        o[j] = rng_below(r, 10) == 0 ? 1.0f : 0.0f;
        x[j] = rng_below(r, 8) == 0 ? 1.0f - o[j] : o[j];
      }
      act[i] = (float)rng_below(r, (uint64_t)n_actions);
      rew[i] = rng_below(r, 20) == 0 ? 1.0f : 0.0f;
      flags[i] = rng_below(r, 200) == 0;
    }
    char err[256];
    if (replay_insert_enc(rp, k, 0, obs, act, rew, next, flags, NULL, NULL, err, sizeof err) != 0)
      die(err);
  }
  free(obs);
  free(next);
}

typedef struct trainer {
  dqn_t d;
  rng_t r;
  replay_t *rp;
  tpool_t *pool;
  int batch, od;
  replay_sample_t s; /* the sampled batch */
} trainer_t;

static void trainer_init(trainer_t *t, const config_t *cfg, const env_spec_t *spec, replay_t *rp,
                         int threads) {
  memset(t, 0, sizeof *t);
  char err[256];
  rng_seed(&t->r, 11);
  if (dqn_init_shaped(&t->d, cfg, spec->obs.dim, spec->obs.shape, spec->act.n, &t->r, err,
                      sizeof err) != 0)
    die(err);
  t->batch = t->d.batch;
  t->od = spec->obs.dim;
  size_t B = (size_t)t->batch;
  t->rp = rp;
  if (replay_sample_alloc(&t->s, B, (size_t)t->od, 1) != 0) die("out of memory for a batch");
  if (threads > 1 && !(t->pool = tpool_create(threads, nn_flush_denormals)))
    die("cannot start the trainer's thread pool");
}

static void trainer_free(trainer_t *t) {
  replay_sample_free(&t->s);
  dqn_free(&t->d);
  tpool_destroy(t->pool);
}

/* As the learner's trainer thread: replay_sample_ext, then the algo row's update path. */
static void sample(trainer_t *t) {
  if (replay_sample_ext(t->rp, &t->r, (size_t)t->batch, &t->s, 1000) != 0)
    die("replay_sample_ext blocked: the rate limit should never bind here");
}

static void update(trainer_t *t) {
  replay_sample_t *b = &t->s;
  dqn_update_ext(&t->d, b->obs, b->act, b->rew, b->next_obs, b->term, b->disc, NULL, NULL, NULL);
}

/* The learner's finiteness guard (server/learner/guard.h) after every update, as its trainer
 * thread runs it, when set. */
static guard_t *bench_guard;

static double run_updates_on(trainer_t *t, long n, double seconds, int slowdown,
                             double (*clock)(void)) {
  long iters = 0;
  gemm_set_pool(t->pool);
  double t0 = clock(), t1 = t0;
  while (n > 0 ? iters < n : t1 - t0 < seconds) {
    sample(t);
    for (int k = 0; k < slowdown; k++) update(t);
    char why[256];
    if (bench_guard && guard_commit(bench_guard, 1.0, 1.0, why, sizeof why) != 0) die(why);
    iters++;
    t1 = clock();
  }
  gemm_set_pool(NULL);
  return (double)iters / (t1 - t0);
}

/* The time of each phase of the update, by hand as dqn_update_ext runs them (one thread). */
typedef struct phases {
  double sample, target_fwd, online_fwd, loss, backward, optim, guard;
} phases_t;

static void profile_phases(trainer_t *t, guard_t *g, int n, phases_t *ph) {
  dqn_t *d = &t->d;
  const int B = d->batch, A = d->n_actions;
  memset(ph, 0, sizeof *ph);
  for (int it = 0; it < n; it++) {
    double c0 = bench_now();
    sample(t);
    double c1 = bench_now();
    const float *qt = nn_forward(&d->ws_target, d->target, t->s.next_obs, B);
    double c2 = bench_now();
    const float *q = nn_forward(&d->ws, d->online, t->s.obs, B);
    double c3 = bench_now();
    for (int b = 0; b < B; b++) {
      int a_star = nn_argmax(qt + (size_t)b * A, A);
      d->y[b] = t->s.rew[b] + d->gamma * (1.0f - t->s.term[b]) * qt[(size_t)b * A + a_star];
      d->q_sel[b] = q[(size_t)b * A + (int)t->s.act[b]];
    }
    nn_loss_huber(d->q_sel, d->y, B, d->huber_delta, d->dsel);
    memset(d->dq, 0, (size_t)B * A * sizeof(float));
    for (int b = 0; b < B; b++) d->dq[(size_t)b * A + (int)t->s.act[b]] = d->dsel[b];
    memset(d->grads, 0, d->layout.n_params * sizeof(float));
    double c4 = bench_now();
    nn_backward(&d->ws, d->online, d->dq, d->grads, NULL);
    double c5 = bench_now();
    optim_step(&d->adam, d->online, d->grads, d->grad_clip);
    d->updates++;
    double c6 = bench_now();
    char why[256];
    if (guard_commit(g, 1.0, 1.0, why, sizeof why) != 0) die(why);
    double c7 = bench_now();
    ph->guard += c7 - c6;
    ph->sample += c1 - c0;
    ph->target_fwd += c2 - c1;
    ph->online_fwd += c3 - c2;
    ph->loss += c4 - c3;
    ph->backward += c5 - c4;
    ph->optim += c6 - c5;
  }
}

int main(int argc, char **argv) {
  int slowdown = 1, split = 1, slowdown_direct = 1;
  long profile = 0;
  const char *game = "Breakout";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--slowdown") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slowdown = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--slow-direct") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slowdown_direct = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-split") == 0) {
      split = 0;
    } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc && atol(argv[i + 1]) >= 1) {
      profile = atol(argv[++i]);
    } else if (strcmp(argv[i], "--game") == 0 && i + 1 < argc) {
      game = argv[++i];
    } else if (strcmp(argv[i], "--rlserve-kernels") == 0) {
      const char *better = getenv("OPENBLAS_CORETYPE") ? NULL : gemm_better_coretype();
      if (better) {
        setenv("OPENBLAS_CORETYPE", better, 1);
        execv("/proc/self/exe", argv);
        die("cannot re-execute with OPENBLAS_CORETYPE set");
      }
    } else {
      fprintf(stderr,
              "usage: %s [--slowdown K] [--slow-direct K] [--no-split] [--rlserve-kernels] "
              "[--profile N] [--game NAME]\n",
              argv[0]);
      return 2;
    }
  }
  gemm_init();
  openblas_set_num_threads(1);
  nn_flush_denormals();
  bench_print_machine(argc, argv);
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("openblas: %s (core %s), threads %d; OPENBLAS_CORETYPE %s\n", openblas_get_config(),
         openblas_get_corename(), openblas_get_num_threads(), coretype ? coretype : "unset");
  printf("optim:    %s kernels (common/optim.h)\n", optim_isa_name(optim_isa_detected()));
  if (slowdown > 1)
    printf("INJECTED: --slowdown %d (every counted update runs %d times)\n", slowdown, slowdown);
  if (!split) printf("INJECTED: --no-split (the 2-thread trainer gets a pool of 1)\n");

  char preset[64], err[256];
  snprintf(preset, sizeof preset, "minatar-%s-dqn", game);
  for (char *p = preset; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  config_t cfg;
  config_init(&cfg);
  if (config_load_preset(&cfg, preset, err, sizeof err) != 0) die(err);
  const char *env_id = cfg.env;
  const env_spec_t *spec = env_find(env_id);
  if (!spec) die("the preset's env is not registered");
  printf("preset:   %s: env %s obs %dx%dx%d, net %s, batch %lld, %s, %s loss, double_dqn %s\n",
         preset, env_id, spec->obs.shape[0], spec->obs.shape[1], spec->obs.shape[2], cfg.net,
         (long long)cfg.batch_size, cfg.optimizer, cfg.loss, cfg.double_dqn ? "true" : "false");

  flow_limits_t lim = {.min_size = 0, .spi = 1e9, .slack = 1};
  replay_t rp;
  if (replay_init(&rp, FILL, (size_t)spec->obs.dim, 1, &lim) != 0 || replay_set_obs_bits(&rp) != 0)
    die("out of memory for the replay");
  rng_t fill_rng;
  rng_seed(&fill_rng, 3);
  fill_replay(&rp, spec->obs.dim, FILL, spec->act.n, &fill_rng);

  trainer_t t;
  if (profile) {
    trainer_init(&t, &cfg, spec, &rp, 1);
    double c0 = bench_now();
    run_updates_on(&t, profile, 0, 1, bench_now);
    printf("profile:  %ld updates in %.3f s CPU (%.0f updates/s)\n", profile, bench_now() - c0,
           (double)profile / (bench_now() - c0));
    trainer_free(&t);
    replay_free(&rp);
    return 0;
  }

  peak_t pk;
  peak_init(&pk);
  double peak = 0, discard = 0;
  sgemm_peak(&pk, 1, &discard);

  /* One thread: the FLOP rate against the peak, best of REPS windows. */
  trainer_init(&t, &cfg, spec, &rp, 1);
  double flops = dqn_flops(&t.d);
  run_updates_on(&t, 0, WARMUP_S, slowdown, bench_now);
  double ups = 0;
  sgemm_peak(&pk, 1, &peak);
  for (int i = 0; i < REPS; i++) {
    double u = run_updates_on(&t, 0, WINDOW_S, slowdown, bench_now);
    if (u > ups) ups = u;
    sgemm_peak(&pk, 1, &peak);
  }
  /* The same trainer with the learner's guard after every update, alternating with windows
   * without it (printed, not asserted). */
  guard_t guard;
  algo_state_view_t view;
  {
    dqn_t *d = &t.d;
    size_t np = d->layout.n_params;
    view = (algo_state_view_t){.n = 4,
                               .name = {"online", "target", "adam_m", "adam_v"},
                               .ptr = {d->online, d->target, d->adam.m, d->adam.v},
                               .len = {np, np, d->adam.n, d->adam.n},
                               .n_steps = 2,
                               .steps = {&d->updates, &d->adam.t}};
  }
  char why[256];
  if (guard_init(&guard, &view, why, sizeof why) != 0) die(why);
  double ups_guard = 0, ups_noguard = 0;
  for (int i = 0; i < REPS; i++) {
    bench_guard = &guard;
    double u = run_updates_on(&t, 0, WINDOW_S / 2, 1, bench_now);
    if (u > ups_guard) ups_guard = u;
    bench_guard = NULL;
    u = run_updates_on(&t, 0, WINDOW_S / 2, 1, bench_now);
    if (u > ups_noguard) ups_noguard = u;
  }
  /* The same trainer with nn's conv forced to im2col + SGEMM, alternating with the direct
   * AVX-512 kernels nn runs here (when the CPU has them). */
  double ups_direct = 0, ups_im2col = 0;
  if (nn_conv_direct_available())
    for (int i = 0; i < REPS; i++) {
      nn_set_conv_direct(0);
      double u = run_updates_on(&t, 0, WINDOW_S / 2, slowdown, bench_now);
      if (u > ups_im2col) ups_im2col = u;
      nn_set_conv_direct(1);
      u = run_updates_on(&t, 0, WINDOW_S / 2, slowdown_direct, bench_now);
      if (u > ups_direct) ups_direct = u;
    }
  phases_t ph;
  const int n_prof = 400;
  profile_phases(&t, &guard, n_prof, &ph);
  guard_free(&guard);
  trainer_free(&t);

  /* Two threads against one: alternating short windows on one trainer, the pool swapped in and
   * out; the rate per CPU second of the busier thread (bench_trainer.c explains why). */
  trainer_init(&t, &cfg, spec, &rp, split ? 2 : 1);
  tpool_t *pool = t.pool;
  run_updates_on(&t, 0, WARMUP_S / 2, 1, bench_wall_now);
  double w1 = 0, w2 = 0, cpu1 = 0, cpu2 = 0;
  for (int r = 0; r < THREAD_REPS; r++) {
    t.pool = NULL;
    double c0 = bench_now();
    double u1 = run_updates_on(&t, THREAD_WINDOW, 0, slowdown, bench_wall_now);
    double k1 = bench_now() - c0;
    t.pool = pool;
    double wk0 = tpool_thread_cpu(pool, 1);
    c0 = bench_now();
    double u2 = run_updates_on(&t, THREAD_WINDOW, 0, slowdown, bench_wall_now);
    double kc = bench_now() - c0, kw = pool ? tpool_thread_cpu(pool, 1) - wk0 : 0;
    double k2 = kw > kc ? kw : kc;
    if (u1 > w1) w1 = u1;
    if (u2 > w2) w2 = u2;
    if (THREAD_WINDOW / k1 > cpu1) cpu1 = THREAD_WINDOW / k1;
    if (THREAD_WINDOW / k2 > cpu2) cpu2 = THREAD_WINDOW / k2;
  }
  trainer_free(&t);

  printf("peak:     %d^3 float product, 1 thread, the faster of OpenBLAS and gemm's SIMD kernel: "
         "best %.1f GFLOP/s\n\n", BENCH_PEAK_N,
         peak);
  double gf = ups * flops / 1e9;
  printf("one thread (thread CPU time, sample + update, best of %d windows of %.2f s)\n", REPS,
         WINDOW_S);
  printf("  %.0f updates/s, %.1f us/update, %.3f MFLOP/update, %.2f GFLOP/s, %.1f%% of peak\n",
         ups, 1e6 / ups, flops / 1e6, gf, 100.0 * gf / peak);
  printf("  with the learner's guard_commit after every update (server/learner/guard.h): %.0f "
         "updates/s, without %.0f (best of %d alternating windows of %.3f s)\n",
         ups_guard, ups_noguard, REPS, WINDOW_S / 2);
  if (ups_direct > 0)
    printf("  conv through nn's direct AVX-512 kernels: %.0f updates/s, through im2col + SGEMM: "
           "%.0f (best of %d alternating windows of %.3f s)\n",
           ups_direct, ups_im2col, REPS, WINDOW_S / 2);
  double tot =
      ph.sample + ph.target_fwd + ph.online_fwd + ph.loss + ph.backward + ph.optim + ph.guard;
  printf("phases (%d updates, us each, share): sample+unpack %.1f (%.0f%%), target fwd %.1f "
         "(%.0f%%), online fwd %.1f (%.0f%%), loss %.1f (%.0f%%), backward %.1f (%.0f%%), "
         "optimizer %.1f (%.0f%%), guard %.1f (%.0f%%)\n\n",
         n_prof, 1e6 * ph.sample / n_prof, 100 * ph.sample / tot, 1e6 * ph.target_fwd / n_prof,
         100 * ph.target_fwd / tot, 1e6 * ph.online_fwd / n_prof, 100 * ph.online_fwd / tot,
         1e6 * ph.loss / n_prof, 100 * ph.loss / tot, 1e6 * ph.backward / n_prof,
         100 * ph.backward / tot, 1e6 * ph.optim / n_prof, 100 * ph.optim / tot,
         1e6 * ph.guard / n_prof, 100 * ph.guard / tot);
  printf("two threads vs one (sample + update, best of %d alternating windows of %d updates)\n",
         THREAD_REPS, THREAD_WINDOW);
  printf("  wall: 1T %.0f, 2T %.0f updates/s (%.2fx); per CPU second of the busier thread: 1T "
         "%.0f, 2T %.0f (%.2fx)\n\n",
         w1, w2, w2 / w1, cpu1, cpu2, cpu2 / cpu1);

  const floors_t *fl = floors_for(openblas_get_corename());
  printf("floors:   the %s row of bench_trainer_conv.c's floor table\n",
         fl->core ? fl->core : "any-other-kernel");
  int fails = 0;
  char what[256];
  snprintf(what, sizeof what, "%s sample+update: trainer FLOP rate / SGEMM peak (%.0f updates/s)",
           preset, ups);
  bench_check(&fails, what, gf / peak, fl->of_peak);
  snprintf(what, sizeof what, "%s updates per CPU second of the busier thread, 2 threads / 1",
           preset);
  bench_check(&fails, what, cpu2 / cpu1, fl->two_threads);
  if (ups_direct > 0) {
    snprintf(what, sizeof what,
             "%s sample+update: updates/s with nn's direct AVX-512 conv / with im2col + SGEMM",
             preset);
    bench_check(&fails, what, ups_direct / ups_im2col, fl->direct_over_im2col);
  } else {
    printf("report      no AVX-512F on this CPU: nn's conv runs im2col + SGEMM only\n");
  }
  replay_free(&rp);
  peak_free(&pk);
  if (fails) fprintf(stderr, "bench_trainer_conv: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
