/* bench_envs: env throughput on one core, random actions, and two ratios per env measured in
 * the same run, each asserted against its floor in the table below (tests/bench/README.md):
 *
 *   1. env_step (a single env_t, with a reset when an episode ends) against a plain C loop of
 *      the same dynamics written out in this file: the Gymnasium equations on a local struct,
 *      x * x for squares, no env_t, no function pointers, the same random actions and resets.
 *      Steps/s env_step / steps/s plain. What it catches: a slower env implementation or API
 *      path. The envs are slower than the plain loop by design where they reproduce
 *      Gymnasium's float64 results bit for bit (libm pow for x**2, a float32 round trip
 *      through a volatile; envs/numerics.h), so the floors are per env.
 *   2. env_vec_step of K = 64 envs (auto-reset, episode bookkeeping) per env against env_step:
 *      steps/s per env vectorized / steps/s single. What it catches: overhead in env_vec.
 *
 * The machine may be shared: times are this thread's CPU time, each rate is the best of REPS
 * windows, and the plain loop, the single env and the vector run in alternating windows.
 * Options: --seconds S per window (default 0.1). Off by default, to show that the checks fail:
 * --slow-single K runs every counted env_step of the single env K times (an env K times slower:
 * check 1 fails), --slow-vec K every counted env_vec_step K times (check 2 fails).
 * Run: ctest -L bench -R bench_envs -V (or ./tests/bench_envs). One thread; about 11 s of CPU. */
#define _GNU_SOURCE /* bench_machine.h */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_machine.h"
#include "env.h"

enum { VEC_K = 64, N_ACTIONS = 1 << 16, REPS = 5, GROUP = 4096 };

/* Floors of the two ratios per env, measured on the build machine (2-core shared VM, Intel Xeon
 * with AVX-512, gcc 12 -O3; tests/bench/README.md gives the values): each sits below the
 * worst value seen under load and at or above half the usual one. */
typedef struct floors {
  const char *id;
  double single_over_plain, vec_over_single;
} floors_t;

static const floors_t floor_table[] = {
    {"CartPole-v1", 0.38, 0.65},
    {"MountainCar-v0", 0.7, 0.65},
    {"MountainCarContinuous-v0", 0.5, 0.5},
    {"Pendulum-v1", 0.3, 0.55},
    {"Acrobot-v1", 0.28, 0.6},
    {"RandomWalk1000-v0", 0.33, 0.5},
    {"ShortCorridor-v0", 0.04, 0.45},
};

static double sink; /* keeps rewards and observations live */

/* Pre-drawn random valid actions, so the timed loops measure the env, not the rng. */
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

/* ---- The plain loops: each env's dynamics as one would write them without the API. ---- */

typedef struct p_cartpole {
  double x, x_dot, th, th_dot;
} p_cartpole_t;

static inline void p_cartpole_reset(p_cartpole_t *c, rng_t *r, float *obs) {
  c->x = rng_range(r, -0.05, 0.05);
  c->x_dot = rng_range(r, -0.05, 0.05);
  c->th = rng_range(r, -0.05, 0.05);
  c->th_dot = rng_range(r, -0.05, 0.05);
  obs[0] = (float)c->x, obs[1] = (float)c->x_dot, obs[2] = (float)c->th, obs[3] = (float)c->th_dot;
}

static inline int p_cartpole_step(p_cartpole_t *c, const float *a, float *obs, float *rew) {
  double force = a[0] > 0.5f ? 10.0 : -10.0, cs = cos(c->th), sn = sin(c->th);
  double temp = (force + 0.05 * c->th_dot * c->th_dot * sn) / 1.1;
  double th_acc = (9.8 * sn - cs * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cs * cs / 1.1));
  double x_acc = temp - 0.05 * th_acc * cs / 1.1;
  c->x += 0.02 * c->x_dot;
  c->x_dot += 0.02 * x_acc;
  c->th += 0.02 * c->th_dot;
  c->th_dot += 0.02 * th_acc;
  obs[0] = (float)c->x, obs[1] = (float)c->x_dot, obs[2] = (float)c->th, obs[3] = (float)c->th_dot;
  *rew = 1.0f;
  const double th_max = 12.0 * 2.0 * M_PI / 360.0;
  return c->x < -2.4 || c->x > 2.4 || c->th < -th_max || c->th > th_max;
}

typedef struct p_mountaincar {
  double pos, vel;
} p_mountaincar_t;

static inline void p_mountaincar_reset(p_mountaincar_t *m, rng_t *r, float *obs) {
  m->pos = rng_range(r, -0.6, -0.4);
  m->vel = 0.0;
  obs[0] = (float)m->pos, obs[1] = (float)m->vel;
}

static inline int p_mountaincar_step(p_mountaincar_t *m, const float *a, float *obs, float *rew) {
  m->vel += ((int)a[0] - 1) * 0.001 - 0.0025 * cos(3 * m->pos);
  m->vel = fmin(fmax(m->vel, -0.07), 0.07);
  m->pos = fmin(fmax(m->pos + m->vel, -1.2), 0.6);
  if (m->pos == -1.2 && m->vel < 0) m->vel = 0.0;
  obs[0] = (float)m->pos, obs[1] = (float)m->vel;
  *rew = -1.0f;
  return m->pos >= 0.5 && m->vel >= 0.0;
}

static inline void p_mountaincar_cont_reset(p_mountaincar_t *m, rng_t *r, float *obs) {
  p_mountaincar_reset(m, r, obs);
}

static inline int p_mountaincar_cont_step(p_mountaincar_t *m, const float *a, float *obs,
                                          float *rew) {
  double u = a[0], f = fmin(fmax(u, -1.0), 1.0);
  m->vel += f * 0.0015 - 0.0025 * cos(3 * m->pos);
  m->vel = fmin(fmax(m->vel, -0.07), 0.07);
  m->pos = fmin(fmax(m->pos + m->vel, -1.2), 0.6);
  if (m->pos == -1.2 && m->vel < 0) m->vel = 0.0;
  int done = m->pos >= 0.45 && m->vel >= 0.0;
  m->pos = (float)m->pos, m->vel = (float)m->vel; /* Gymnasium keeps a float32 state */
  obs[0] = (float)m->pos, obs[1] = (float)m->vel;
  *rew = (float)((done ? 100.0 : 0.0) - 0.1 * u * u);
  return done;
}

typedef struct p_pendulum {
  double th, th_dot;
} p_pendulum_t;

static inline void p_pendulum_reset(p_pendulum_t *p, rng_t *r, float *obs) {
  p->th = rng_range(r, -M_PI, M_PI);
  p->th_dot = rng_range(r, -1.0, 1.0);
  obs[0] = (float)cos(p->th), obs[1] = (float)sin(p->th), obs[2] = (float)p->th_dot;
}

static inline int p_pendulum_step(p_pendulum_t *p, const float *a, float *obs, float *rew) {
  double u = fmin(fmax(a[0], -2.0), 2.0);
  double an = fmod(p->th + M_PI, 2 * M_PI);
  if (an < 0) an += 2 * M_PI;
  an -= M_PI;
  *rew = (float)-(an * an + 0.1 * p->th_dot * p->th_dot + 0.001 * u * u);
  p->th_dot = fmin(fmax(p->th_dot + (15.0 * sin(p->th) + 3.0 * u) * 0.05, -8.0), 8.0);
  p->th += p->th_dot * 0.05;
  obs[0] = (float)cos(p->th), obs[1] = (float)sin(p->th), obs[2] = (float)p->th_dot;
  return 0;
}

typedef struct p_acrobot {
  double s[4];
} p_acrobot_t;

static inline void p_acrobot_obs(const p_acrobot_t *a, float *obs) {
  obs[0] = (float)cos(a->s[0]), obs[1] = (float)sin(a->s[0]);
  obs[2] = (float)cos(a->s[1]), obs[3] = (float)sin(a->s[1]);
  obs[4] = (float)a->s[2], obs[5] = (float)a->s[3];
}

static inline void p_acrobot_reset(p_acrobot_t *a, rng_t *r, float *obs) {
  for (int i = 0; i < 4; i++) a->s[i] = (float)rng_range(r, -0.1, 0.1);
  p_acrobot_obs(a, obs);
}

/* Acrobot "book" dynamics, unit masses and lengths, centres of mass at 0.5, inertia 1. */
static inline void p_acrobot_dsdt(const double *s, double tau, double *ds) {
  double c2 = cos(s[1]);
  double d1 = 0.25 + (1.0 + 0.25 + c2) + 2.0, d2 = (0.25 + 0.5 * c2) + 1.0;
  double phi2 = 0.5 * 9.8 * cos(s[0] + s[1] - M_PI / 2);
  double phi1 = -0.5 * s[3] * s[3] * sin(s[1]) - s[3] * s[2] * sin(s[1]) +
                1.5 * 9.8 * cos(s[0] - M_PI / 2) + phi2;
  double dd2 =
      (tau + d2 / d1 * phi1 - 0.5 * s[2] * s[2] * sin(s[1]) - phi2) / (0.25 + 1.0 - d2 * d2 / d1);
  ds[0] = s[2], ds[1] = s[3], ds[2] = -(d2 * dd2 + phi1) / d1, ds[3] = dd2;
}

static inline int p_acrobot_step(p_acrobot_t *a, const float *act, float *obs, float *rew) {
  double tau = (double)((int)act[0] - 1), k1[4], k2[4], k3[4], k4[4], y[4];
  const double h = 0.2;
  p_acrobot_dsdt(a->s, tau, k1);
  for (int i = 0; i < 4; i++) y[i] = a->s[i] + h / 2 * k1[i];
  p_acrobot_dsdt(y, tau, k2);
  for (int i = 0; i < 4; i++) y[i] = a->s[i] + h / 2 * k2[i];
  p_acrobot_dsdt(y, tau, k3);
  for (int i = 0; i < 4; i++) y[i] = a->s[i] + h * k3[i];
  p_acrobot_dsdt(y, tau, k4);
  for (int i = 0; i < 4; i++) a->s[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  for (int i = 0; i < 2; i++) {
    while (a->s[i] > M_PI) a->s[i] -= 2 * M_PI;
    while (a->s[i] < -M_PI) a->s[i] += 2 * M_PI;
  }
  a->s[2] = fmin(fmax(a->s[2], -4 * M_PI), 4 * M_PI);
  a->s[3] = fmin(fmax(a->s[3], -9 * M_PI), 9 * M_PI);
  int done = -cos(a->s[0]) - cos(a->s[1] + a->s[0]) > 1.0;
  *rew = done ? 0.0f : -1.0f;
  p_acrobot_obs(a, obs);
  return done;
}

typedef struct p_randomwalk {
  int s;
  rng_t rng;
} p_randomwalk_t;

static inline void p_randomwalk_reset(p_randomwalk_t *w, rng_t *r, float *obs) {
  rng_seed(&w->rng, rng_u64(r));
  w->s = ENV_RANDOMWALK_N / 2;
  obs[0] = (float)w->s;
}

static inline int p_randomwalk_step(p_randomwalk_t *w, const float *a, float *obs, float *rew) {
  (void)a;
  int d = (int)rng_below(&w->rng, 2 * ENV_RANDOMWALK_JUMP);
  w->s += d < ENV_RANDOMWALK_JUMP ? d - ENV_RANDOMWALK_JUMP : d - ENV_RANDOMWALK_JUMP + 1;
  int done = w->s < 1 || w->s > ENV_RANDOMWALK_N;
  *rew = w->s < 1 ? -1.0f : w->s > ENV_RANDOMWALK_N ? 1.0f : 0.0f;
  if (w->s < 0) w->s = 0;
  if (w->s > ENV_RANDOMWALK_N + 1) w->s = ENV_RANDOMWALK_N + 1;
  obs[0] = (float)w->s;
  return done;
}

typedef struct p_corridor {
  int s;
} p_corridor_t;

static inline void p_corridor_reset(p_corridor_t *c, rng_t *r, float *obs) {
  (void)r;
  c->s = 0;
  obs[0] = 0.0f;
}

static inline int p_corridor_step(p_corridor_t *c, const float *a, float *obs, float *rew) {
  int right = (a[0] > 0.5f) != (c->s == 1); /* state 1 switches the actions */
  c->s = c->s + (right ? 1 : -1) < 0 ? 0 : c->s + (right ? 1 : -1);
  *rew = -1.0f;
  obs[0] = 0.0f;
  return c->s == 3;
}

/* The timed loop of one plain env: steps/s for about `seconds`, a reset when an episode ends
 * (terminated, or max_steps reached), the env's own time limit. */
#define PLAIN_LOOP(name, state_t, max_steps, act_dim)                    \
  static double plain_##name(const float *acts, double seconds) {        \
    state_t st;                                                          \
    rng_t rng;                                                           \
    rng_seed(&rng, 1);                                                   \
    float obs[ENV_MAX_DIM], r;                                           \
    double total = 0;                                                    \
    long steps = 0;                                                      \
    size_t ai = 0;                                                       \
    int t = 0;                                                           \
    p_##name##_reset(&st, &rng, obs);                                    \
    double t0 = bench_now(), t1 = t0;                                    \
    while (t1 - t0 < seconds) {                                          \
      for (int i = 0; i < GROUP; i++) {                                  \
        int term = p_##name##_step(&st, acts + ai * (act_dim), obs, &r); \
        ai = (ai + 1) & (N_ACTIONS - 1);                                 \
        total += r + obs[0];                                             \
        if (term || ++t >= (max_steps)) {                                \
          p_##name##_reset(&st, &rng, obs);                              \
          t = 0;                                                         \
        }                                                                \
      }                                                                  \
      steps += GROUP;                                                    \
      t1 = bench_now();                                                  \
    }                                                                    \
    sink += total;                                                       \
    return (double)steps / (t1 - t0);                                    \
  }

PLAIN_LOOP(cartpole, p_cartpole_t, 500, 1)
PLAIN_LOOP(mountaincar, p_mountaincar_t, 200, 1)
PLAIN_LOOP(mountaincar_cont, p_mountaincar_t, 999, 1)
PLAIN_LOOP(pendulum, p_pendulum_t, 200, 1)
PLAIN_LOOP(acrobot, p_acrobot_t, 500, 1)
PLAIN_LOOP(randomwalk, p_randomwalk_t, 1 << 30, 1)
PLAIN_LOOP(corridor, p_corridor_t, 1000, 1)

typedef struct plain {
  const char *id;
  double (*run)(const float *acts, double seconds);
} plain_t;

static const plain_t plains[] = {
    {"CartPole-v1", plain_cartpole},
    {"MountainCar-v0", plain_mountaincar},
    {"MountainCarContinuous-v0", plain_mountaincar_cont},
    {"Pendulum-v1", plain_pendulum},
    {"Acrobot-v1", plain_acrobot},
    {"RandomWalk1000-v0", plain_randomwalk},
    {"ShortCorridor-v0", plain_corridor},
};

/* ---- The API: one env_t, and an env_vec of VEC_K. ---- */

/* Counted steps/s of one env_t for about `seconds`; every counted step runs `slow` times. */
static double bench_single(env_t *e, const float *acts, double seconds, int slow) {
  const int ad = e->spec->act.dim;
  float obs[ENV_MAX_DIM], r;
  int term = 0, trunc = 0;
  double total = 0;
  long steps = 0;
  size_t ai = 0;
  env_reset(e, 1, obs);
  double t0 = bench_now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < GROUP; i++) {
      for (int s = 0; s < slow; s++) env_step(e, acts + ai * (size_t)ad, obs, &r, &term, &trunc);
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

/* Counted env steps/s of an env_vec for about `seconds` (VEC_K per counted env_vec_step, which
 * runs `slow` times). */
static double bench_vec(env_vec_t *v, const float *acts, double seconds, int slow) {
  const env_spec_t *s = v->envs[0].spec;
  float next[VEC_K * ENV_MAX_DIM], rew[VEC_K], dret[VEC_K];
  int dlen[VEC_K];
  uint8_t term[VEC_K], trunc[VEC_K];
  const size_t stride = (size_t)VEC_K * (size_t)s->act.dim;
  size_t ai = 0;
  long steps = 0;
  double t0 = bench_now(), t1 = t0;
  while (t1 - t0 < seconds) {
    for (int i = 0; i < GROUP / VEC_K; i++) {
      for (int k = 0; k < slow; k++)
        env_vec_step(v, acts + ai * stride, next, rew, term, trunc, dret, dlen);
      ai = (ai + 1) % (N_ACTIONS / VEC_K);
      sink += rew[0] + next[0];
    }
    steps += GROUP;
    t1 = bench_now();
  }
  return (double)steps / (t1 - t0);
}

static const floors_t *floors_for(const char *id) {
  for (size_t i = 0; i < sizeof floor_table / sizeof *floor_table; i++)
    if (strcmp(floor_table[i].id, id) == 0) return &floor_table[i];
  return NULL;
}

static const plain_t *plain_for(const char *id) {
  for (size_t i = 0; i < sizeof plains / sizeof *plains; i++)
    if (strcmp(plains[i].id, id) == 0) return &plains[i];
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = 0.1;
  int slow_single = 1, slow_vec = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc && atof(argv[i + 1]) > 0) {
      seconds = atof(argv[++i]);
    } else if (strcmp(argv[i], "--slow-single") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slow_single = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--slow-vec") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1) {
      slow_vec = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--seconds S] [--slow-single K] [--slow-vec K]\n", argv[0]);
      return 2;
    }
  }
  bench_print_machine(argc, argv);
  printf("timing:   thread CPU time; random actions; best of %d alternating windows of %.2f s\n",
         REPS, seconds);
  if (slow_single > 1 || slow_vec > 1)
    printf(
        "INJECTED: every counted env_step of the single env runs %d times, every counted "
        "env_vec_step %d times\n",
        slow_single, slow_vec);
  printf("\n%-26s %11s %11s %11s %8s %8s\n", "env", "plain ns", "single ns", "vec64 ns/env",
         "sgl/pln", "vec/sgl");

  int fails = 0;
  typedef struct result {
    const char *id;
    double plain, single, vec;
  } result_t;
  result_t res[16];
  int n = 0;
  for (const char *const *id = env_ids(); *id && n < 16; id++) {
    if (strncmp(*id, "MinAtar/", 8) == 0) continue; /* image envs: tests/bench/bench_minatar.c */
    const env_spec_t *s = env_find(*id);
    const plain_t *p = plain_for(*id);
    char err[256];
    env_t e;
    env_vec_t v;
    float *acts = make_actions(s);
    if (!acts || env_init(&e, *id, err, sizeof err) != 0 ||
        env_vec_init(&v, *id, VEC_K, 1, err, sizeof err) != 0) {
      fprintf(stderr, "bench_envs: %s: %s\n", *id, acts ? err : "out of memory");
      return 1;
    }
    result_t *r = &res[n++];
    *r = (result_t){.id = *id};
    for (int rep = 0; rep < REPS; rep++) {
      double x = p ? p->run(acts, seconds) : 0;
      if (x > r->plain) r->plain = x;
      x = bench_single(&e, acts, seconds, slow_single);
      if (x > r->single) r->single = x;
      x = bench_vec(&v, acts, seconds, slow_vec);
      if (x > r->vec) r->vec = x;
    }
    env_free(&e);
    env_vec_free(&v);
    free(acts);
    printf("%-26s %11.1f %11.1f %11.1f %8.2f %8.2f\n", *id, r->plain > 0 ? 1e9 / r->plain : 0,
           1e9 / r->single, 1e9 / r->vec, r->plain > 0 ? r->single / r->plain : 0,
           r->vec / r->single);
    fflush(stdout);
  }
  printf(
      "\nplain: the same dynamics as a plain C loop in bench_envs.c; single: env_step on one "
      "env_t; "
      "vec64: env_vec_step of %d envs, per env. sgl/pln, vec/sgl: ratios of steps/s.\n"
      "(checksum %g)\n\n",
      VEC_K, sink);
  for (int i = 0; i < n; i++) {
    const floors_t *f = floors_for(res[i].id);
    char what[160];
    if (!f || res[i].plain <= 0) {
      printf("check FAIL  %s: no plain loop or no floors in bench_envs.c\n", res[i].id);
      fails++;
      continue;
    }
    snprintf(what, sizeof what, "%s: steps/s env_step / plain C loop", res[i].id);
    bench_check(&fails, what, res[i].single / res[i].plain, f->single_over_plain);
    snprintf(what, sizeof what, "%s: steps/s per env env_vec_step of %d / env_step", res[i].id,
             VEC_K);
    bench_check(&fails, what, res[i].vec / res[i].single, f->vec_over_single);
  }
  if (fails) fprintf(stderr, "bench_envs: %d check(s) below their floor\n", fails);
  return fails ? 1 : 0;
}
