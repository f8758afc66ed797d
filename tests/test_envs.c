/* Checks the envs: registry and spaces, seeded resets, reset distributions, TimeLimit
 * truncation versus termination, env_vec auto-reset, action validation, the random walk's
 * true values against Monte-Carlo returns, and `rlserve envcheck` exit codes on bad files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "env.h"

typedef struct expect {
  const char *id;
  env_space_kind_t obs_kind;
  int obs_dim;
  env_space_kind_t act_kind;
  int act_n, act_dim, max_steps, n_state;
  double threshold;
} expect_t;

static const expect_t expected[] = {
    {"CartPole-v1", ENV_BOX, 4, ENV_DISCRETE, 2, 1, 500, 4, 475},
    {"MountainCar-v0", ENV_BOX, 2, ENV_DISCRETE, 3, 1, 200, 2, -110},
    {"MountainCarContinuous-v0", ENV_BOX, 2, ENV_BOX, 0, 1, 999, 2, 90},
    {"Pendulum-v1", ENV_BOX, 3, ENV_BOX, 0, 1, 200, 2, -200},
    {"Acrobot-v1", ENV_BOX, 6, ENV_DISCRETE, 3, 1, 500, 4, -100},
    {"RandomWalk1000-v0", ENV_BOX, 1, ENV_DISCRETE, 1, 1, 0, 1, 0},
    {"ShortCorridor-v0", ENV_BOX, 1, ENV_DISCRETE, 2, 1, 1000, 1, -11.6},
    {"MinAtar/Asterix-v1", ENV_BOX, 400, ENV_DISCRETE, 5, 1, 0, 0, 16.8},
    {"MinAtar/Breakout-v1", ENV_BOX, 400, ENV_DISCRETE, 3, 1, 0, 0, 10},
    {"MinAtar/Freeway-v1", ENV_BOX, 700, ENV_DISCRETE, 3, 1, 0, 0, 50},
    {"MinAtar/Seaquest-v1", ENV_BOX, 1000, ENV_DISCRETE, 6, 1, 0, 0, 20.1},
    {"MinAtar/SpaceInvaders-v1", ENV_BOX, 600, ENV_DISCRETE, 4, 1, 0, 0, 43.6},
    {"MinAtar/Asterix-v0", ENV_BOX, 400, ENV_DISCRETE, 6, 1, 0, 0, 16.8},
    {"MinAtar/Breakout-v0", ENV_BOX, 400, ENV_DISCRETE, 6, 1, 0, 0, 10},
    {"MinAtar/Freeway-v0", ENV_BOX, 700, ENV_DISCRETE, 6, 1, 0, 0, 50},
    {"MinAtar/Seaquest-v0", ENV_BOX, 1000, ENV_DISCRETE, 6, 1, 0, 0, 20.1},
    {"MinAtar/SpaceInvaders-v0", ENV_BOX, 600, ENV_DISCRETE, 6, 1, 0, 0, 43.6},
};

/* ShortCorridor (Sutton & Barto Example 13.1) is deterministic with a fixed start: seeds
 * cannot change its episodes. In MinAtar's Breakout and Space Invaders a seed changes only the
 * ball's side and the sticky repeats, which short random episodes may not show (test_minatar
 * checks that the stream is RandomState(seed)). */
static int seed_matters(const char *id) {
  return strcmp(id, "ShortCorridor-v0") != 0 && strncmp(id, "MinAtar/Breakout", 16) != 0 &&
         strncmp(id, "MinAtar/SpaceInvaders", 21) != 0;
}
#define N_EXPECTED ((int)(sizeof expected / sizeof expected[0]))

/* A random valid action for the spec. */
static void random_action(const env_spec_t *s, rng_t *r, float *a) {
  if (s->act.kind == ENV_DISCRETE) {
    a[0] = (float)rng_below(r, (uint64_t)s->act.n);
    return;
  }
  for (int i = 0; i < s->act.dim; i++) a[i] = (float)rng_range(r, s->act.low[i], s->act.high[i]);
}

static int in_space(const env_space_t *sp, const float *x) {
  for (int i = 0; i < sp->dim; i++)
    if (!(x[i] >= env_space_low(sp, i) && x[i] <= env_space_high(sp, i))) return 0;
  return 1;
}

/* Plays one episode (at most max_steps) from env_reset(seed) with actions from action_seed;
 * writes every observation to trace (room for max_steps+1 obs) and returns the step count. */
static int play(env_t *e, uint64_t seed, uint64_t action_seed, float *trace, int max_steps) {
  const env_spec_t *s = e->spec;
  rng_t ar;
  rng_seed(&ar, action_seed);
  env_reset(e, seed, trace);
  int t = 0, term = 0, trunc = 0;
  while (!term && !trunc && t < max_steps) {
    float a[ENV_MAX_DIM], r;
    random_action(s, &ar, a);
    env_step(e, a, trace + (size_t)(t + 1) * s->obs.dim, &r, &term, &trunc);
    t++;
  }
  return t;
}

static void test_registry_and_spaces(void) {
  int n_ids = 0;
  for (const char *const *id = env_ids(); *id; id++) {
    n_ids++;
    const env_spec_t *s = env_find(*id);
    CHECK(s != NULL, "env_ids lists '%s' but env_find does not know it", *id);
    if (s) CHECK(strcmp(s->id, *id) == 0, "env_find(%s) returned %s", *id, s->id);
  }
  CHECK(n_ids == N_EXPECTED, "env_ids lists %d envs, expected %d", n_ids, N_EXPECTED);
  for (int k = 0; k < N_EXPECTED; k++) {
    const expect_t *x = &expected[k];
    const env_spec_t *s = env_find(x->id);
    CHECK(s != NULL, "env_find(%s) is NULL", x->id);
    if (!s) continue;
    CHECK(s->obs.kind == x->obs_kind && s->obs.dim == x->obs_dim, "%s obs kind %d dim %d", x->id,
          s->obs.kind, s->obs.dim);
    CHECK(s->act.kind == x->act_kind && s->act.dim == x->act_dim, "%s act kind %d dim %d", x->id,
          s->act.kind, s->act.dim);
    if (x->act_kind == ENV_DISCRETE) CHECK(s->act.n == x->act_n, "%s n = %d", x->id, s->act.n);
    CHECK(s->max_episode_steps == x->max_steps, "%s max_episode_steps %d, expected %d", x->id,
          s->max_episode_steps, x->max_steps);
    CHECK(s->n_state == x->n_state, "%s n_state %d", x->id, s->n_state);
    CHECK_NEAR(s->reward_threshold, x->threshold, 0);
  }
  const env_spec_t *cp = env_find("CartPole-v1");
  CHECK_NEAR(cp->obs.high[0], 4.8f, 0);
  CHECK(isinf(cp->obs.high[1]) && isinf(cp->obs.high[3]), "CartPole velocity bounds finite");
  CHECK_NEAR(cp->obs.high[2], (float)(2 * (12 * 2 * M_PI / 360)), 0);
  const env_spec_t *ac = env_find("Acrobot-v1");
  CHECK_NEAR(ac->obs.high[4], (float)(4 * M_PI), 0);
  CHECK_NEAR(ac->obs.high[5], (float)(9 * M_PI), 0);
  const env_spec_t *pd = env_find("Pendulum-v1");
  CHECK(pd->act.low[0] == -2.0f && pd->act.high[0] == 2.0f, "Pendulum torque bounds %g..%g",
        pd->act.low[0], pd->act.high[0]);

  env_t e;
  char err[256] = "";
  CHECK(env_init(&e, "NoSuchEnv-v9", err, sizeof err) == -1, "unknown id accepted");
  CHECK(strstr(err, "NoSuchEnv-v9") != NULL, "error does not name the id: '%s'", err);
  CHECK(env_find(NULL) == NULL, "env_find(NULL) found something");
}

/* Same seed, same episode; another seed, another episode; observations stay in the space. */
static void test_seeding(void) {
  enum { T = 300 };
  static float a[(T + 1) * ENV_MAX_OBS_DIM], b[(T + 1) * ENV_MAX_OBS_DIM],
      c[(T + 1) * ENV_MAX_OBS_DIM];
  for (int k = 0; k < N_EXPECTED; k++) {
    env_t e;
    char err[256];
    if (env_init(&e, expected[k].id, err, sizeof err) != 0) {
      CHECK(0, "%s", err);
      continue;
    }
    const int d = e.spec->obs.dim;
    int na = play(&e, 123, 9, a, T);
    int nb = play(&e, 123, 9, b, T);
    int nc = play(&e, 124, 9, c, T);
    CHECK(na == nb && memcmp(a, b, sizeof(float) * (size_t)(na + 1) * d) == 0,
          "%s: seed 123 twice gave different episodes (%d vs %d steps)", e.spec->id, na, nb);
    int n = na < nc ? na : nc;
    CHECK(!seed_matters(e.spec->id) || na != nc ||
              memcmp(a, c, sizeof(float) * (size_t)(n + 1) * d) != 0,
          "%s: seeds 123 and 124 gave the same episode", e.spec->id);
    for (int t = 0; t <= na; t++)
      if (!in_space(&e.spec->obs, a + (size_t)t * d)) {
        CHECK(0, "%s: obs at t=%d outside the observation space (obs[0] = %g)", e.spec->id, t,
              a[(size_t)t * d]);
        break;
      }
    /* ENV_SEED_NONE continues the stream: a second episode differs from the first (MinAtar
     * has no state vector; tests/test_minatar.c checks its streams). */
    if (e.spec->n_state == 0) {
      env_free(&e);
      continue;
    }
    float o1[ENV_MAX_DIM], o2[ENV_MAX_DIM];
    double s1[ENV_MAX_DIM], s2[ENV_MAX_DIM];
    env_reset(&e, 5, o1);
    e.spec->get_state(e.state, s1);
    env_reset(&e, ENV_SEED_NONE, o2);
    e.spec->get_state(e.state, s2);
    if (strcmp(e.spec->id, "RandomWalk1000-v0") != 0 && seed_matters(e.spec->id))
      CHECK(memcmp(s1, s2, sizeof(double) * (size_t)e.spec->n_state) != 0,
            "%s: ENV_SEED_NONE repeated the previous start state", e.spec->id);
    env_free(&e);
  }
}

/* Reset distributions as in the reference (checked over 2000 resets). */
static void test_reset_distributions(void) {
  env_t e;
  char err[256];
  float o[ENV_MAX_DIM];
  double s[ENV_MAX_DIM], lo[ENV_MAX_DIM], hi[ENV_MAX_DIM];
  struct {
    const char *id;
    double lo[4], hi[4];
  } cases[] = {
      {"CartPole-v1", {-0.05, -0.05, -0.05, -0.05}, {0.05, 0.05, 0.05, 0.05}},
      {"MountainCar-v0", {-0.6, 0}, {-0.4, 0}},
      {"MountainCarContinuous-v0", {-0.6, 0}, {-0.4, 0}},
      {"Pendulum-v1", {-M_PI, -1}, {M_PI, 1}},
      {"Acrobot-v1", {-0.1, -0.1, -0.1, -0.1}, {0.1, 0.1, 0.1, 0.1}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    if (env_init(&e, cases[c].id, err, sizeof err) != 0) {
      CHECK(0, "%s", err);
      continue;
    }
    int n = e.spec->n_state, bad = 0, not_f32 = 0;
    for (int i = 0; i < n; i++) lo[i] = INFINITY, hi[i] = -INFINITY;
    env_reset(&e, 77, o);
    for (int r = 0; r < 2000; r++) {
      env_reset(&e, ENV_SEED_NONE, o);
      e.spec->get_state(e.state, s);
      for (int i = 0; i < n; i++) {
        bad += s[i] < cases[c].lo[i] || s[i] > cases[c].hi[i];
        not_f32 += s[i] != (double)(float)s[i];
        if (s[i] < lo[i]) lo[i] = s[i];
        if (s[i] > hi[i]) hi[i] = s[i];
      }
    }
    CHECK(bad == 0, "%s: %d reset state components out of range", cases[c].id, bad);
    for (int i = 0; i < n; i++) {
      double w = cases[c].hi[i] - cases[c].lo[i];
      CHECK(lo[i] <= cases[c].lo[i] + 0.01 * w && hi[i] >= cases[c].hi[i] - 0.01 * w,
            "%s: component %d spans only [%g, %g]", cases[c].id, i, lo[i], hi[i]);
    }
    /* Acrobot stores its reset state as float32 (the first step promotes it back). */
    if (strcmp(cases[c].id, "Acrobot-v1") == 0)
      CHECK(not_f32 == 0, "Acrobot: %d reset components are not float32 values", not_f32);
    else
      CHECK(not_f32 > 0, "%s: reset state unexpectedly float32-rounded", cases[c].id);
    env_free(&e);
  }
  /* MountainCarContinuous stores its state as float32 after a step. */
  if (env_init(&e, "MountainCarContinuous-v0", err, sizeof err) == 0) {
    env_reset(&e, 3, o);
    float a = 0.3f, r;
    int term, trunc;
    env_step(&e, &a, o, &r, &term, &trunc);
    e.spec->get_state(e.state, s);
    CHECK(s[0] == (double)(float)s[0] && s[1] == (double)(float)s[1],
          "MountainCarContinuous state after a step is not float32: %.17g %.17g", s[0], s[1]);
    env_free(&e);
  }
}

/* Runs `policy` until the episode ends; returns the step count and the final flags. */
typedef float (*policy_fn)(const float *obs);
static int run_until_done(env_t *e, uint64_t seed, policy_fn policy, int *term_out, int *trunc_out,
                          int *early_trunc) {
  float o[ENV_MAX_DIM], r;
  int term = 0, trunc = 0, t = 0;
  *early_trunc = 0;
  env_reset(e, seed, o);
  while (!term && !trunc && t < 100000) {
    float a = policy(o);
    env_step(e, &a, o, &r, &term, &trunc);
    t++;
    if (trunc && t < e->spec->max_episode_steps) *early_trunc = 1;
  }
  *term_out = term;
  *trunc_out = trunc;
  return t;
}

static float balance(const float *o) { return 0.05f * o[0] + 0.1f * o[1] + o[2] + 0.3f * o[3] > 0; }
static float push_right(const float *o) { return 1.0f; }
static float no_push(const float *o) { return 1.0f; } /* MountainCar / Acrobot: middle action */
static float zero_torque(const float *o) { return 0.0f; }

static void test_time_limits(void) {
  struct {
    const char *id;
    policy_fn policy;
    int steps, term, trunc;
  } cases[] = {
      {"CartPole-v1", balance, 500, 0, 1},    /* balanced to the limit: truncated only */
      {"MountainCar-v0", no_push, 200, 0, 1}, /* never reaches the goal */
      {"MountainCarContinuous-v0", zero_torque, 999, 0, 1},
      {"Pendulum-v1", zero_torque, 200, 0, 1}, /* never terminates */
      {"Acrobot-v1", no_push, 500, 0, 1},      /* no torque, hangs down */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    env_t e;
    char err[256];
    if (env_init(&e, cases[c].id, err, sizeof err) != 0) {
      CHECK(0, "%s", err);
      continue;
    }
    for (uint64_t seed = 1; seed <= 5; seed++) {
      int term, trunc, early;
      int t = run_until_done(&e, seed, cases[c].policy, &term, &trunc, &early);
      CHECK(t == cases[c].steps && term == cases[c].term && trunc == cases[c].trunc && !early,
            "%s seed %d: ended after %d steps terminated=%d truncated=%d (expected %d, %d, %d)",
            cases[c].id, (int)seed, t, term, trunc, cases[c].steps, cases[c].term, cases[c].trunc);
    }
    env_free(&e);
  }
  /* Termination without truncation: CartPole always pushed right falls within ~10 steps. */
  env_t e;
  char err[256];
  if (env_init(&e, "CartPole-v1", err, sizeof err) == 0) {
    int term, trunc, early;
    int t = run_until_done(&e, 3, push_right, &term, &trunc, &early);
    CHECK(term == 1 && trunc == 0 && t < 100, "CartPole pushed right: %d steps term %d trunc %d", t,
          term, trunc);
    /* Stepping after termination gives reward 0, as Gymnasium. */
    float o[4], r, a = 1.0f;
    env_step(&e, &a, o, &r, &term, &trunc);
    CHECK(r == 0.0f && term, "CartPole step after termination: reward %g terminated %d", r, term);
    env_free(&e);
  }
  /* Both flags at once: MountainCar reaching the goal on the 200th step. */
  if (env_init(&e, "MountainCar-v0", err, sizeof err) == 0) {
    float o[2], r, a = 2.0f;
    int term, trunc;
    env_reset(&e, 1, o);
    for (int t = 0; t < 199; t++) {
      float stay = 1.0f;
      env_step(&e, &stay, o, &r, &term, &trunc);
    }
    e.spec->set_state(e.state, (const double[]){0.49, 0.05}, o); /* keeps e.t = 199 */
    env_step(&e, &a, o, &r, &term, &trunc);
    CHECK(e.t == 200 && term && trunc, "MountainCar goal at t=%d: term %d trunc %d", e.t, term,
          trunc);
    env_free(&e);
  }
}

static void test_vec(void) {
  enum { K = 5, STEPS = 400 };
  env_vec_t v;
  char err[256];
  CHECK(env_vec_init(&v, "NoSuchEnv-v9", K, 1, err, sizeof err) == -1, "vec: unknown id");
  CHECK(strstr(err, "NoSuchEnv-v9") != NULL, "vec error does not name the id: '%s'", err);
  if (env_vec_init(&v, "CartPole-v1", K, 7, err, sizeof err) != 0) {
    CHECK(0, "%s", err);
    return;
  }
  /* Reference: K separate envs seeded as documented and reset by hand. */
  env_t ref[K];
  float ref_obs[K][4], next[K * 4], rew[K], dret[K];
  double ref_ret[K] = {0};
  int ref_len[K] = {0}, dlen[K];
  uint8_t term[K], trunc[K];
  for (int i = 0; i < K; i++) {
    env_init(&ref[i], "CartPole-v1", err, sizeof err);
    env_reset(&ref[i], rng_derive(7, (uint64_t)i), ref_obs[i]);
    CHECK(memcmp(ref_obs[i], v.obs + i * 4, sizeof ref_obs[i]) == 0, "vec env %d first obs", i);
  }
  rng_t ar;
  rng_seed(&ar, 99);
  int episodes = 0, obs_bad = 0, next_bad = 0, stats_bad = 0, count_bad = 0;
  for (int t = 0; t < STEPS; t++) {
    float act[K];
    /* Mostly random pushes, sometimes the balancing policy: episodes of varied length. */
    for (int i = 0; i < K; i++)
      act[i] = rng_uniform(&ar) < 0.8 ? (float)rng_below(&ar, 2) : balance(v.obs + i * 4);
    int nd = env_vec_step(&v, act, next, rew, term, trunc, dret, dlen);
    int j = 0, flagged = 0;
    for (int i = 0; i < K; i++) {
      float o[4], r;
      int te, tr;
      env_step(&ref[i], &act[i], o, &r, &te, &tr);
      ref_ret[i] += r;
      ref_len[i]++;
      next_bad +=
          memcmp(o, next + i * 4, sizeof o) != 0 || r != rew[i] || te != term[i] || tr != trunc[i];
      if (te || tr) {
        flagged++;
        if (j < nd) stats_bad += fabs(dret[j] - ref_ret[i]) > 1e-4 || dlen[j] != ref_len[i];
        j++;
        episodes++;
        env_reset(&ref[i], ENV_SEED_NONE, ref_obs[i]); /* auto-reset continues the stream */
        ref_ret[i] = 0;
        ref_len[i] = 0;
      } else {
        memcpy(ref_obs[i], o, sizeof o);
      }
      obs_bad += memcmp(ref_obs[i], v.obs + i * 4, sizeof o) != 0;
      CHECK(v.ep_len[i] == ref_len[i], "vec env %d ep_len %d, expected %d", i, v.ep_len[i],
            ref_len[i]);
    }
    count_bad += nd != flagged;
  }
  CHECK(episodes >= 5, "only %d episodes ended in %d steps", episodes, STEPS);
  CHECK(next_bad == 0, "%d steps where next_obs/reward/flags differ from a single env", next_bad);
  CHECK(obs_bad == 0, "%d steps where obs is not the fresh reset obs / the next obs", obs_bad);
  CHECK(stats_bad == 0, "%d finished episodes with wrong return/length", stats_bad);
  CHECK(count_bad == 0, "%d steps where the returned count differs from the flags", count_bad);
  for (int i = 0; i < K; i++) env_free(&ref[i]);
  env_vec_free(&v);
  /* NULL done buffers are allowed. */
  if (env_vec_init(&v, "MountainCar-v0", 3, 1, err, sizeof err) == 0) {
    float a[3] = {0, 1, 2}, n2[6], r2[3];
    int total = 0;
    for (int t = 0; t < 200; t++) total += env_vec_step(&v, a, n2, r2, term, trunc, NULL, NULL);
    CHECK(total == 3, "MountainCar x3 over 200 steps: %d episodes ended, expected 3", total);
    env_vec_free(&v);
  }
}

static void test_actions(void) {
  const env_spec_t *cp = env_find("CartPole-v1"), *pd = env_find("Pendulum-v1");
  float a;
  a = 0;
  CHECK(env_action_valid(cp, &a) == 0, "CartPole action 0 invalid");
  a = 1;
  CHECK(env_action_valid(cp, &a) == 0, "CartPole action 1 invalid");
  float bad[] = {2, -1, 0.5f, NAN, INFINITY};
  for (int i = 0; i < 5; i++) CHECK(env_action_valid(cp, &bad[i]) != 0, "CartPole %g", bad[i]);
  a = 1.5f;
  CHECK(env_action_valid(pd, &a) == 0, "Pendulum 1.5 invalid");
  float pbad[] = {2.5f, -2.01f, NAN};
  for (int i = 0; i < 3; i++) CHECK(env_action_valid(pd, &pbad[i]) != 0, "Pendulum %g", pbad[i]);
  a = 7;
  env_action_clamp(cp, &a);
  CHECK(a == 1.0f, "clamp CartPole 7 -> %g", a);
  a = -3;
  env_action_clamp(pd, &a);
  CHECK(a == -2.0f, "clamp Pendulum -3 -> %g", a);
  a = NAN;
  env_action_clamp(pd, &a);
  CHECK(a == 0.0f, "clamp Pendulum NaN -> %g", a);
  /* Out-of-range actions never read out of bounds: Acrobot index 1e9 acts as index 2. */
  env_t e;
  char err[256];
  if (env_init(&e, "Acrobot-v1", err, sizeof err) == 0) {
    float o1[6], o2[6], r;
    int te, tr;
    float huge = 1e9f, two = 2.0f;
    env_reset(&e, 4, o1);
    env_step(&e, &huge, o1, &r, &te, &tr);
    env_reset(&e, 4, o2);
    env_step(&e, &two, o2, &r, &te, &tr);
    CHECK(memcmp(o1, o2, sizeof o1) == 0, "Acrobot action 1e9 not treated as 2");
    env_free(&e);
  }
}

static void test_randomwalk(void) {
  enum { N = ENV_RANDOMWALK_N };
  static double v[N + 2];
  int sweeps = env_randomwalk_true_values(v, N);
  CHECK(sweeps > 0, "true_values returned %d", sweeps);
  double asym = 0;
  int mono = 1;
  for (int s = 1; s <= N; s++) asym = fmax(asym, fabs(v[s] + v[N + 1 - s]));
  for (int s = 1; s < N; s++) mono &= v[s + 1] > v[s];
  CHECK(asym < 1e-9, "v(s) + v(1001-s) up to %g", asym);
  CHECK(mono, "true values not increasing in s");
  CHECK(v[1] < -0.85 && v[1] > -1.0, "v(1) = %g", v[1]);
  CHECK(v[N] > 0.85 && v[N] < 1.0, "v(1000) = %g", v[N]);
  CHECK(fabs(v[500]) < 0.01, "v(500) = %g", v[500]);
  CHECK(v[0] == 0 && v[N + 1] == 0, "terminal values %g %g", v[0], v[N + 1]);
  CHECK(env_randomwalk_true_values(v, 0) == -1, "n_states 0 accepted");
  env_randomwalk_true_values(v, N);

  /* Monte-Carlo returns from three start states match the DP values. */
  env_t e;
  char err[256];
  if (env_init(&e, "RandomWalk1000-v0", err, sizeof err) != 0) {
    CHECK(0, "%s", err);
    return;
  }
  float o[1], a = 0, r;
  env_reset(&e, 11, o);
  CHECK(o[0] == 500.0f, "start obs %g", o[0]);
  const int starts[] = {150, 500, 900}, episodes = 20000;
  for (int k = 0; k < 3; k++) {
    double sum = 0, sum2 = 0;
    long steps = 0;
    for (int ep = 0; ep < episodes; ep++) {
      int term = 0, trunc = 0;
      double g = 0;
      env_reset(&e, ENV_SEED_NONE, o);
      env_set_state(&e, (const double[]){starts[k]}, o);
      while (!term) {
        env_step(&e, &a, o, &r, &term, &trunc);
        CHECK(!trunc, "random walk truncated");
        g += r;
        steps++;
        if (term)
          CHECK(o[0] == 0.0f || o[0] == 1001.0f, "terminal obs %g", o[0]);
        else if (!(o[0] >= 1 && o[0] <= N))
          CHECK(0, "obs %g out of 1..1000", o[0]);
      }
      sum += g;
      sum2 += g * g;
    }
    double mean = sum / episodes, sd = sqrt(sum2 / episodes - mean * mean);
    double se = sd / sqrt(episodes);
    CHECK(fabs(mean - v[starts[k]]) < 4 * se + 1e-3,
          "from state %d: mean return %g over %d episodes, DP value %g (4 SE = %g)", starts[k],
          mean, episodes, v[starts[k]], 4 * se);
    CHECK(steps > episodes, "episodes from %d took %ld steps", starts[k], steps);
  }
  env_free(&e);
}

/* Runs `rlserve envcheck FILE` and returns its exit status; output goes to out. */
static int run_envcheck(const char *bin, const char *file, char *out, size_t outlen) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' envcheck '%s' 2>&1", bin, file);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, outlen - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_envcheck_cli(void) {
  const char *bin = getenv("RLSERVE_BIN");
  if (!bin || access(bin, X_OK) != 0) {
    fprintf(stderr, "test_envs: RLSERVE_BIN not set or not executable; envcheck CLI skipped\n");
    return;
  }
  char path[] = "/tmp/test_envs_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp failed");
  if (fd < 0) return;
  close(fd);
  struct {
    const char *json, *what;
    int status;
    const char *needle;
  } cases[] = {
      {"{\"env_id\": \"NoSuchEnv-v9\", \"trajectories\": []}", "unknown id", 2, "NoSuchEnv-v9"},
      {"{\"trajectories\": []}", "missing env_id", 2, "env_id"},
      {"{\"env_id\": \"CartPole-v1\", \"trajectories\": [{\"start_state\": [0,0,0,0], "
       "\"steps\": []}]}",
       "missing start_obs", 2, "start_obs"},
      {"{\"env_id\": \"CartPole-v1\", \"trajectories\": [{\"start_state\": [0,0,0,0], "
       "\"start_obs\": [0,0,0,0], \"steps\": [{\"action\": 1, \"obs\": [0,0,0,0], \"reward\": "
       "1.0, \"terminated\": false, \"truncated\": false}]}]}",
       "wrong obs", 1, "trajectory 0 step 0"},
      {"{\"env_id\": \"CartPole-v1\", \"trajectories\": [{\"start_state\": [0,0,0,0], "
       "\"start_obs\": [0,0,0,0], \"steps\": [{\"action\": 1, \"obs\": [0, 0.19512194, 0, "
       "-0.29268292], \"reward\": 1.0, \"terminated\": false, \"truncated\": false}]}]}",
       "right obs", 0, "PASS"},
      {"{\"env_id\": ", "bad JSON", 2, "invalid JSON"},
  };
  char out[8192];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    FILE *f = fopen(path, "w");
    if (!f) break;
    fputs(cases[c].json, f);
    fclose(f);
    int st = run_envcheck(bin, path, out, sizeof out);
    CHECK(st == cases[c].status && strstr(out, cases[c].needle),
          "envcheck on a file with %s: exit %d (expected %d), output lacks '%s'?\n%s",
          cases[c].what, st, cases[c].status, cases[c].needle, out);
  }
  remove(path);
  CHECK(run_envcheck(bin, "/nonexistent/x.json", out, sizeof out) == 2 &&
            strstr(out, "/nonexistent/x.json"),
        "envcheck on a missing file: %s", out);
}

int main(void) {
  test_registry_and_spaces();
  test_seeding();
  test_reset_distributions();
  test_time_limits();
  test_vec();
  test_actions();
  test_randomwalk();
  test_envcheck_cli();
  CHECK_DONE();
}
