/* bench_envs: env throughput on one core, random actions. For each env: a single env_t
 * (env_step, with a reset when an episode ends) and an env_vec of K = 64 (env_vec_step with
 * auto-reset). Reports steps/s and ns/step. Usage: bench_envs [--seconds S] (per measurement,
 * default 0.6 s; 12 measurements). */
#define _GNU_SOURCE /* bench_machine.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_machine.h"
#include "env.h"

enum { VEC_K = 64, N_ACTIONS = 1 << 16 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Pre-drawn random valid actions, so the timed loop measures the env, not the rng. */
static float *make_actions(const env_spec_t *s) {
  float *a = malloc(sizeof *a * (size_t)N_ACTIONS * (size_t)s->act.dim);
  if (!a) return NULL;
  rng_t r;
  rng_seed(&r, 1);
  for (size_t i = 0; i < (size_t)N_ACTIONS * (size_t)s->act.dim; i++) {
    int d = (int)(i % (size_t)s->act.dim);
    a[i] = s->act.kind == ENV_DISCRETE ? (float)rng_below(&r, (uint64_t)s->act.n)
                                       : (float)rng_range(&r, s->act.low[d], s->act.high[d]);
  }
  return a;
}

static double sink; /* keeps the rewards live */

/* Steps/s of one env_t for about `seconds`. */
static double bench_single(const char *id, const float *acts, double seconds) {
  env_t e;
  char err[256];
  if (env_init(&e, id, err, sizeof err) != 0) return 0;
  const int ad = e.spec->act.dim;
  float obs[ENV_MAX_DIM], r;
  int term, trunc;
  double total = 0;
  long steps = 0;
  size_t ai = 0;
  env_reset(&e, 1, obs);
  double t0 = now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < 4096; i++) {
      env_step(&e, acts + ai * (size_t)ad, obs, &r, &term, &trunc);
      ai = (ai + 1) & (N_ACTIONS - 1);
      total += r;
      if (term || trunc) env_reset(&e, ENV_SEED_NONE, obs);
    }
    steps += 4096;
    t1 = now();
  }
  sink += total;
  env_free(&e);
  return (double)steps / (t1 - t0);
}

/* Env steps/s of an env_vec of VEC_K envs for about `seconds`. */
static double bench_vec(const char *id, const float *acts, double seconds) {
  env_vec_t v;
  char err[256];
  if (env_vec_init(&v, id, VEC_K, 1, err, sizeof err) != 0) return 0;
  const env_spec_t *s = v.envs[0].spec;
  float *next = malloc(sizeof *next * VEC_K * (size_t)s->obs.dim);
  float rew[VEC_K], dret[VEC_K];
  int dlen[VEC_K];
  uint8_t term[VEC_K], trunc[VEC_K];
  if (!next) {
    env_vec_free(&v);
    return 0;
  }
  const size_t stride = (size_t)VEC_K * (size_t)s->act.dim;
  size_t ai = 0;
  long steps = 0;
  double t0 = now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < 64; i++) {
      env_vec_step(&v, acts + ai * stride, next, rew, term, trunc, dret, dlen);
      ai = (ai + 1) % (N_ACTIONS / VEC_K);
      sink += rew[0];
    }
    steps += 64L * VEC_K;
    t1 = now();
  }
  free(next);
  env_vec_free(&v);
  return (double)steps / (t1 - t0);
}

int main(int argc, char **argv) {
  double seconds = 0.6;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = atof(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  if (!(seconds > 0)) seconds = 0.6;
  char cpu[256];
  bench_cpu_model(cpu, sizeof cpu);
  printf("bench_envs: one thread, random actions, %.2f s per measurement\n", seconds);
  printf("machine: %s\n", cpu);
  char cwd[512];
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
  printf("command: (cd %s &&", cwd);
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf(")\n\n%-26s %14s %10s %16s %10s\n", "env", "single step/s", "ns/step", "vec64 step/s",
         "ns/step");
  for (const char *const *id = env_ids(); *id; id++) {
    const env_spec_t *s = env_find(*id);
    float *acts = make_actions(s);
    if (!acts) return 1;
    double single = bench_single(*id, acts, seconds);
    double vec = bench_vec(*id, acts, seconds);
    free(acts);
    printf("%-26s %14.3e %10.1f %16.3e %10.1f\n", *id, single, 1e9 / single, vec, 1e9 / vec);
    fflush(stdout);
  }
  printf("\n(checksum %g)\n", sink);
  return 0;
}
