/* bench_minatar: MinAtar frames/s per core for each game, random policy, as MinAtar's own
 * speed figure is taken: the full 6-action set (-v0), uniform random actions, the defaults
 * (sticky 0.1, ramping on), one frame = env_step (act + the observation state() returns),
 * reset on termination included.
 *
 * Printed for comparison, NOT measured here: MinAtar's Python games on the machine
 * (../shared/reference/minatar.md, section 10; MinAtar is not installed on this machine), and
 * the ratio of our frames/s to those quoted figures.
 *
 * Asserted, each a ratio of two rates measured in this run against its floor:
 *   1. per game: frames/s / CartPole-v1 env_step steps/s (same API, same loop, alternating
 *      windows). Catches a game, the sticky wrapper or the numpy stream getting slower.
 *   2. obsbits: floats/s packed then unpacked (a 1000-element Seaquest-sized observation) /
 *      floats/s copied by memcpy. Catches a packing loop that stops vectorizing.
 * Times are this thread's CPU time; each rate is the best of REPS windows. Option
 * --slow K (off by default) runs every counted MinAtar step K times, to show check 1 failing;
 * --only ID measures one game and checks nothing (for profiling).
 * Run: ctest -L bench -R bench_minatar -V. One thread; about 8 s of CPU. */
#define _GNU_SOURCE /* bench_machine.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_machine.h"
#include "env.h"
#include "obsbits.h"

enum { N_ACTIONS = 1 << 16, REPS = 5, GROUP = 4096, OBS_BITS_N = 1000 };

typedef struct game {
  const char *id;
  double python_fps;    /* quoted: MinAtar's Python on the machine (not measured here) */
  double floor_vs_cart; /* floor of frames/s / CartPole steps/s (tests/bench/README.md) */
} game_t;

static const game_t games[] = {
    {"MinAtar/Asterix-v0", 198000, 0.3},       {"MinAtar/Breakout-v0", 210000, 0.45},
    {"MinAtar/Freeway-v0", 89000, 0.25},       {"MinAtar/Seaquest-v0", 146000, 0.22},
    {"MinAtar/SpaceInvaders-v0", 18800, 0.13},
};
#define OBSBITS_FLOOR 0.05 /* pack+unpack floats/s over memcpy floats/s */

static double sink;
static float acts[N_ACTIONS];

/* Counted steps/s of one env for about `seconds`, resetting when an episode ends. */
static double steps_per_s(env_t *e, double seconds, int slow) {
  static float obs[ENV_MAX_OBS_DIM];
  float r;
  int term = 0, trunc = 0;
  double total = 0;
  long steps = 0;
  size_t ai = 0;
  env_reset(e, 1, obs);
  double t0 = bench_now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < GROUP; i++) {
      for (int s = 0; s < slow; s++) env_step(e, acts + ai, obs, &r, &term, &trunc);
      ai = (ai + 1) & (N_ACTIONS - 1);
      total += r + obs[0];
      if (term || trunc) env_reset(e, ENV_SEED_NONE, obs);
    }
    steps += GROUP;
    t1 = bench_now();
  }
  sink += total;
  return (double)steps / (t1 - t0);
}

/* Floats/s through obsbits_pack + obsbits_unpack (pack = 1), or through two memcpy (pack = 0,
 * the same bytes read and written as floats). */
static double floats_per_s(int pack, double seconds) {
  static float x[OBS_BITS_N], y[OBS_BITS_N];
  static uint8_t b[OBS_BITS_N];
  for (int i = 0; i < OBS_BITS_N; i++) x[i] = (float)((i * 7 + i / 3) % 5 == 0);
  long n = 0;
  double t0 = bench_now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < 1024; i++) {
      if (pack) {
        obsbits_pack(x, OBS_BITS_N, b, NULL, 0);
        obsbits_unpack(b, OBS_BITS_N, y);
      } else {
        memcpy(b, x, OBS_BITS_N / 4);
        memcpy(y, x, sizeof y);
      }
      x[i % OBS_BITS_N] = y[(i * 13) % OBS_BITS_N]; /* a dependency, so no pass is dropped */
    }
    n += 1024L * OBS_BITS_N;
    t1 = bench_now();
  }
  sink += y[5];
  return (double)n / (t1 - t0);
}

int main(int argc, char **argv) {
  double seconds = 0.15;
  int slow = 1;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc && atof(argv[i + 1]) > 0)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--slow") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1)
      slow = atoi(argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--seconds S] [--slow K] [--only GAME-ID (no checks)]\n", argv[0]);
      return 2;
    }
  }
  bench_print_machine(argc, argv);
  printf(
      "timing:   thread CPU time; uniform random actions over 6; best of %d alternating "
      "windows of %.2f s\n",
      REPS, seconds);
  if (slow > 1) printf("INJECTED: every counted MinAtar step runs %d times\n", slow);
  rng_t r;
  rng_seed(&r, 1);
  for (int i = 0; i < N_ACTIONS; i++) acts[i] = (float)rng_below(&r, 6);

  env_t cart;
  char err[256];
  if (env_init(&cart, "CartPole-v1", err, sizeof err)) {
    fprintf(stderr, "bench_minatar: %s\n", err);
    return 1;
  }
  const int n_games = (int)(sizeof games / sizeof games[0]);
  double fps[8] = {0}, cart_fps[8] = {0};
  for (int g = 0; g < n_games; g++) {
    env_t e;
    if (only && strcmp(only, games[g].id) != 0) continue;
    if (env_init(&e, games[g].id, err, sizeof err)) {
      fprintf(stderr, "bench_minatar: %s\n", err);
      return 1;
    }
    for (int rep = 0; rep < REPS; rep++) {
      double x = steps_per_s(&e, seconds, slow);
      if (x > fps[g]) fps[g] = x;
      for (int i = 0; i < N_ACTIONS; i++) acts[i] = (float)((int)acts[i] % 2); /* CartPole: 0/1 */
      x = steps_per_s(&cart, seconds, 1);
      if (x > cart_fps[g]) cart_fps[g] = x;
      rng_seed(&r, 1);
      for (int i = 0; i < N_ACTIONS; i++) acts[i] = (float)rng_below(&r, 6);
    }
    env_free(&e);
  }
  env_free(&cart);
  if (only) { /* profiling one game: print it, assert nothing */
    for (int g = 0; g < n_games; g++)
      if (fps[g] > 0)
        printf("%s %.0f frames/s, CartPole %.0f steps/s\n", games[g].id, fps[g], cart_fps[g]);
    return 0;
  }
  double bits = 0, copy = 0;
  for (int rep = 0; rep < REPS; rep++) {
    double x = floats_per_s(1, seconds);
    if (x > bits) bits = x;
    x = floats_per_s(0, seconds);
    if (x > copy) copy = x;
  }

  printf("\n%-26s %14s %16s %22s %18s\n", "game (-v0, defaults)", "frames/s", "CartPole st/s",
         "Python frames/s QUOTED", "ratio to QUOTED");
  for (int g = 0; g < n_games; g++)
    printf("%-26s %14.0f %16.0f %22.0f %17.0fx\n", games[g].id, fps[g], cart_fps[g],
           games[g].python_fps, fps[g] / games[g].python_fps);
  printf(
      "\nPython frames/s: MinAtar's own games (numpy 1.24.2), random policy, one core, as "
      "quoted in\n../shared/reference/minatar.md section 10 for the issue's machine; NOT "
      "measured by this\nbenchmark (MinAtar is not installed here), so the last column "
      "compares with a quoted figure.\n");
  printf("obsbits: pack+unpack %.3g floats/s, memcpy %.3g floats/s (%d-element observation)\n",
         bits, copy, OBS_BITS_N);
  printf("(checksum %g)\n\n", sink);

  int fails = 0;
  char what[160];
  for (int g = 0; g < n_games; g++) {
    snprintf(what, sizeof what, "%s: frames/s / CartPole-v1 steps/s", games[g].id);
    bench_check(&fails, what, fps[g] / cart_fps[g], games[g].floor_vs_cart);
  }
  bench_check(&fails, "obsbits: pack+unpack floats/s / memcpy floats/s", bits / copy,
              OBSBITS_FLOOR);
  if (fails) fprintf(stderr, "bench_minatar: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
