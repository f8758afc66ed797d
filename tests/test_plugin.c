/* Checks user-environment plugins (envs/plugin.h): loading the example plugin Corridor-v0 and
 * finding it by id, seeded resets, termination and truncation, env_vec over it, idempotent
 * loading; refusals with messages that say why: another ABI version, a missing file, a
 * library without the entry point, a duplicate id, each invalid field; every adapter slot
 * calling its own plugin, and the slot limit.
 *
 * Usage: test_plugin EXAMPLE.so BADABI.so [LIB_WITHOUT_ENTRY (default libm.so.6)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "env.h"
#include "plugin.h"

static const char *example_path, *badabi_path, *noentry_path = "libm.so.6";

static int count_ids(void) {
  int n = 0;
  for (const char *const *id = env_ids(); *id; id++) n++;
  return n;
}

static int has_id(const char *want) {
  for (const char *const *id = env_ids(); *id; id++)
    if (strcmp(*id, want) == 0) return 1;
  return 0;
}

/* Corridor-v0's observation: position cell and goal side. */
static int cell_of(const float *obs) { return (int)lroundf(obs[0] * 9.0f); }

static void test_load_example(void) {
  char err[512] = "";
  int n0 = count_ids();
  CHECK(env_find("Corridor-v0") == NULL, "Corridor-v0 known before loading");
  int rc = env_plugin_load(example_path, err, sizeof err);
  CHECK(rc == 0, "loading %s: rc %d, %s", example_path, rc, err);
  const env_spec_t *s = env_find("Corridor-v0");
  CHECK(s != NULL, "env_find(Corridor-v0) is NULL after loading");
  if (!s) return;
  CHECK(strcmp(s->id, "Corridor-v0") == 0, "id '%s'", s->id);
  CHECK(s->obs.kind == ENV_BOX && s->obs.dim == 2, "obs kind %d dim %d", s->obs.kind, s->obs.dim);
  CHECK(s->obs.low[0] == 0.0f && s->obs.high[0] == 1.0f && s->obs.high[1] == 1.0f,
        "obs bounds [%g, %g], high[1] %g", s->obs.low[0], s->obs.high[0], s->obs.high[1]);
  CHECK(s->act.kind == ENV_DISCRETE && s->act.n == 2 && s->act.dim == 1, "act kind %d n %d dim %d",
        s->act.kind, s->act.n, s->act.dim);
  CHECK(s->max_episode_steps == 50, "max_episode_steps %d", s->max_episode_steps);
  CHECK(s->reward_threshold == 0.5, "reward_threshold %g", s->reward_threshold);
  CHECK(s->n_state == 2, "n_state %d", s->n_state);
  CHECK(s->reward_low == -0.1f && s->reward_high == 1.0f, "reward range [%g, %g]",
        (double)s->reward_low, (double)s->reward_high);
  CHECK(count_ids() == n0 + 1 && has_id("Corridor-v0"), "env_ids: %d ids (was %d)", count_ids(),
        n0);

  /* Loading again, even through another spelling of the path, changes nothing. */
  rc = env_plugin_load(example_path, err, sizeof err);
  CHECK(rc == 0, "second load: rc %d, %s", rc, err);
  char dotted[1024];
  snprintf(dotted, sizeof dotted, "%s", example_path);
  char *slash = strrchr(dotted, '/');
  if (slash) {
    char name[256];
    snprintf(name, sizeof name, "%s", slash + 1);
    snprintf(slash, sizeof dotted - (size_t)(slash - dotted), "/./%s", name);
    rc = env_plugin_load(dotted, err, sizeof err);
    CHECK(rc == 0, "load via %s: rc %d, %s", dotted, rc, err);
  }
  CHECK(count_ids() == n0 + 1, "env_ids grew to %d on reloading", count_ids());
  CHECK(env_find("Corridor-v0") == s, "spec changed on reloading");

  /* An unknown id's message lists the plugin's id with the built-in ones. */
  env_t e;
  CHECK(env_init(&e, "NoSuchEnv-v0", err, sizeof err) == -1, "unknown id accepted");
  CHECK(strstr(err, "Corridor-v0") && strstr(err, "CartPole-v1"), "unknown-id message: %s", err);
}

/* Plays from env_reset(seed) with actions from action_seed; returns the steps taken. */
static int play(env_t *e, uint64_t seed, uint64_t action_seed, float *trace, float *rewards,
                int max_steps) {
  rng_t ar;
  rng_seed(&ar, action_seed);
  env_reset(e, seed, trace);
  int t = 0, term = 0, trunc = 0;
  while (!term && !trunc && t < max_steps) {
    float a = (float)rng_below(&ar, 2);
    env_step(e, &a, trace + 2 * (t + 1), &rewards[t], &term, &trunc);
    t++;
  }
  return t;
}

static void test_seeded_reset(void) {
  env_t e;
  char err[256];
  if (env_init(&e, "Corridor-v0", err, sizeof err)) {
    CHECK(0, "env_init: %s", err);
    return;
  }
  enum { T = 60 };
  float a[2 * (T + 1)], b[2 * (T + 1)], ra[T], rb[T];
  for (uint64_t seed = 0; seed < 20; seed++) {
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    int na = play(&e, seed, 99 + seed, a, ra, T);
    int nb = play(&e, seed, 99 + seed, b, rb, T);
    CHECK(na == nb && memcmp(a, b, sizeof(float) * 2 * (size_t)(na + 1)) == 0 &&
              memcmp(ra, rb, sizeof(float) * (size_t)na) == 0,
          "seed %llu: two episodes differ (lengths %d, %d)", (unsigned long long)seed, na, nb);
  }
  /* Different seeds reach different start states; every start is off the goal. */
  int seen[2][10] = {{0}};
  for (uint64_t seed = 0; seed < 400; seed++) {
    float o[2];
    env_reset(&e, seed, o);
    int side = o[1] != 0.0f, cell = cell_of(o);
    CHECK(o[1] == 0.0f || o[1] == 1.0f, "seed %llu: goal side %g", (unsigned long long)seed, o[1]);
    CHECK(cell >= 0 && cell <= 9 && cell != (side ? 9 : 0), "seed %llu: start cell %d, side %d",
          (unsigned long long)seed, cell, side);
    if (cell >= 0 && cell <= 9) seen[side][cell] = 1;
  }
  int distinct = 0;
  for (int s = 0; s < 2; s++)
    for (int c = 0; c < 10; c++) distinct += seen[s][c];
  CHECK(distinct == 18, "400 seeds reached %d of the 18 start states", distinct);
  /* ENV_SEED_NONE continues the stream: the next episode is not a replay of the last. */
  float o1[2], o2[2];
  int differ = 0;
  env_reset(&e, 5, o1);
  for (int i = 0; i < 10; i++) {
    env_reset(&e, ENV_SEED_NONE, o2);
    differ += o1[0] != o2[0] || o1[1] != o2[1];
  }
  CHECK(differ > 0, "10 unseeded resets all repeated the seeded start");
  env_free(&e);
}

static void test_terminate_and_truncate(void) {
  env_t e;
  char err[256];
  if (env_init(&e, "Corridor-v0", err, sizeof err)) {
    CHECK(0, "env_init: %s", err);
    return;
  }
  /* Walking to the goal: d steps, -0.1 each but the last (+1), terminated, not truncated. */
  for (uint64_t seed = 0; seed < 30; seed++) {
    float o[2], r = 0, ret = 0;
    env_reset(&e, seed, o);
    int side = o[1] != 0.0f, d = side ? 9 - cell_of(o) : cell_of(o);
    float toward = side ? 1.0f : 0.0f;
    int term = 0, trunc = 0, t = 0;
    while (!term && !trunc && t < 100) {
      env_step(&e, &toward, o, &r, &term, &trunc);
      ret += r;
      t++;
      if (!term) CHECK_NEAR(r, -0.1, 1e-7);
    }
    CHECK(term && !trunc && t == d, "seed %llu: term %d trunc %d after %d steps, distance %d",
          (unsigned long long)seed, term, trunc, t, d);
    CHECK_NEAR(r, 1.0, 0);
    CHECK_NEAR(ret, 1.0 - 0.1 * (d - 1), 1e-5);
    CHECK(cell_of(o) == (side ? 9 : 0), "seed %llu: ended on cell %d", (unsigned long long)seed,
          cell_of(o));
  }
  /* Walking into the far wall: truncated on step 50 exactly, never terminated. */
  float o[2], r;
  env_reset(&e, 3, o);
  float away = o[1] != 0.0f ? 0.0f : 1.0f;
  int term = 0, trunc = 0, t = 0;
  while (!term && !trunc && t < 100) {
    env_step(&e, &away, o, &r, &term, &trunc);
    t++;
  }
  CHECK(!term && trunc && t == 50, "walking away: term %d trunc %d at step %d", term, trunc, t);
  /* Out-of-range and NaN actions are clamped by the plugin, not read out of bounds. */
  float odd[] = {-3.0f, 7.0f, NAN, 0.6f};
  for (int i = 0; i < 4; i++) {
    env_reset(&e, 11, o);
    int c0 = cell_of(o);
    env_step(&e, &odd[i], o, &r, &term, &trunc);
    int c1 = cell_of(o);
    CHECK(abs(c1 - c0) <= 1, "action %g moved from %d to %d", odd[i], c0, c1);
  }
  /* State round trip through the optional functions. */
  double s[2];
  env_set_state(&e, (const double[]){4, 1}, o);
  e.spec->get_state(e.state, s);
  CHECK(s[0] == 4 && s[1] == 1 && cell_of(o) == 4 && o[1] == 1.0f,
        "set_state(4, 1): state (%g, %g), obs (%g, %g)", s[0], s[1], o[0], o[1]);
  env_free(&e);
}

static void test_vec(void) {
  enum { K = 5, STEPS = 400 };
  env_vec_t v, w;
  char err[256];
  if (env_vec_init(&v, "Corridor-v0", K, 42, err, sizeof err) ||
      env_vec_init(&w, "Corridor-v0", K, 42, err, sizeof err)) {
    CHECK(0, "env_vec_init: %s", err);
    return;
  }
  /* Env i starts as env_reset(rng_derive(seed, i)). */
  env_t e;
  if (env_init(&e, "Corridor-v0", err, sizeof err) == 0) {
    for (int i = 0; i < K; i++) {
      float o[2];
      env_reset(&e, rng_derive(42, (uint64_t)i), o);
      CHECK(o[0] == v.obs[2 * i] && o[1] == v.obs[2 * i + 1],
            "vec env %d start (%g, %g) vs (%g, %g)", i, v.obs[2 * i], v.obs[2 * i + 1], o[0], o[1]);
    }
    env_free(&e);
  }
  float act[K], next[2 * K], rew[K], rets[K], rets_w[K];
  float next_w[2 * K], rew_w[K];
  uint8_t term[K], trunc[K], term_w[K], trunc_w[K];
  int lens[K], lens_w[K], episodes = 0, mismatches = 0;
  double sum = 0;
  for (int t = 0; t < STEPS; t++) {
    for (int i = 0; i < K; i++) act[i] = v.obs[2 * i + 1]; /* walk toward the goal side */
    int nd = env_vec_step(&v, act, next, rew, term, trunc, rets, lens);
    int nd_w = env_vec_step(&w, act, next_w, rew_w, term_w, trunc_w, rets_w, lens_w);
    mismatches += nd != nd_w || memcmp(next, next_w, sizeof next) != 0;
    for (int i = 0; i < K; i++) {
      if (term[i]) {
        CHECK(cell_of(next + 2 * i) == (next[2 * i + 1] != 0.0f ? 9 : 0),
              "step %d env %d: terminal obs cell %d", t, i, cell_of(next + 2 * i));
        CHECK(cell_of(v.obs + 2 * i) != (v.obs[2 * i + 1] != 0.0f ? 9 : 0),
              "step %d env %d: next episode starts on the goal", t, i);
      }
      CHECK(!trunc[i], "step %d env %d truncated under the optimal policy", t, i);
    }
    for (int j = 0; j < nd; j++) {
      CHECK(lens[j] >= 1 && lens[j] <= 9, "episode length %d", lens[j]);
      CHECK_NEAR(rets[j], 1.0 - 0.1 * (lens[j] - 1), 1e-5);
      sum += rets[j];
      episodes++;
    }
  }
  CHECK(mismatches == 0, "two vecs with seed 42 differed on %d steps", mismatches);
  CHECK(episodes > STEPS * K / 9, "%d episodes in %d steps of %d envs", episodes, STEPS, K);
  if (episodes) {
    double mean = sum / episodes;
    CHECK(mean >= 0.5 && mean <= 0.7, "optimal policy's mean return %.3f (expect ~0.6, solve 0.5)",
          mean);
  }
  env_vec_free(&v);
  env_vec_free(&w);
}

static void test_refusals(void) {
  char err[1024] = "";
  int n0 = count_ids();
  int rc = env_plugin_load(badabi_path, err, sizeof err);
  CHECK(rc == -1, "bad-ABI plugin accepted (rc %d)", rc);
  CHECK(strstr(err, "ABI") && strstr(err, "999") && strstr(err, "version 1") &&
            strstr(err, badabi_path),
        "bad-ABI message: %s", err);
  fprintf(stderr, "refusal message: %s\n", err);

  rc = env_plugin_load("/nonexistent/dir/libnosuchenv.so", err, sizeof err);
  CHECK(rc == -1, "missing file accepted");
  CHECK(strstr(err, "/nonexistent/dir/libnosuchenv.so") && strstr(err, "No such file"),
        "missing-file message (want the path and dlerror's text): %s", err);
  fprintf(stderr, "refusal message: %s\n", err);

  rc = env_plugin_load(noentry_path, err, sizeof err);
  CHECK(rc == -1, "%s (no entry point) accepted", noentry_path);
  CHECK(strstr(err, RLSERVE_ENV_PLUGIN_ENTRY_NAME) && strstr(err, noentry_path),
        "no-entry message: %s", err);
  fprintf(stderr, "refusal message: %s\n", err);

  rc = env_plugin_load("", err, sizeof err);
  CHECK(rc == -1, "empty path accepted");

  /* A second copy of the library is another library with the same id. */
  char copy[] = "/tmp/rlserve_test_plugin_XXXXXX";
  int fd = mkstemp(copy);
  FILE *in = fopen(example_path, "rb");
  FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (in && out) {
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  }
  if (in) fclose(in);
  if (out) fclose(out);
  CHECK(in && out, "copying %s to %s failed", example_path, copy);
  if (in && out) {
    rc = env_plugin_load(copy, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "Corridor-v0") && strstr(err, "already registered"),
          "a copy with the same id: rc %d, %s", rc, err);
  }
  if (fd >= 0) unlink(copy);
  CHECK(count_ids() == n0, "refused plugins changed env_ids (%d, was %d)", count_ids(), n0);
}

/* An in-memory plugin: its state records the seed reset received and the steps taken. */
typedef struct mem_state {
  uint64_t seed;
  int steps;
} mem_state_t;

static void mem_reset(void *state, uint64_t seed, float *obs) {
  mem_state_t *m = state;
  m->seed = seed;
  m->steps = 0;
  obs[0] = 0.0f;
}

static void mem_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  mem_state_t *m = state;
  m->steps++;
  obs[0] = action[0];
  *reward = 1.0f;
  *terminated = action[0] > 0.5f ? 7 : 0; /* any non-zero means terminated */
}

static const rlserve_env_plugin_t mem_template = {
    .abi_version = RLSERVE_ENV_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(rlserve_env_plugin_t),
    .id = "MemEnv-v0",
    .obs = {.kind = RLSERVE_ENV_PLUGIN_BOX, .dim = 1, .low = {-INFINITY}, .high = {INFINITY}},
    .act = {.kind = RLSERVE_ENV_PLUGIN_BOX, .dim = 1, .low = {0.0f}, .high = {1.0f}},
    .max_episode_steps = 0,
    .reward_threshold = 1.0,
    .state_size = sizeof(mem_state_t),
    .reset = mem_reset,
    .step = mem_step,
};

typedef struct bad_case {
  const char *what, *want; /* the field broken; a substring the message must contain */
  void (*apply)(rlserve_env_plugin_t *p);
} bad_case_t;

static void b_struct_size(rlserve_env_plugin_t *p) { p->struct_size = 16; }
static void b_id_null(rlserve_env_plugin_t *p) { p->id = NULL; }
static void b_id_empty(rlserve_env_plugin_t *p) { p->id = ""; }
static void b_id_space(rlserve_env_plugin_t *p) { p->id = "My Env"; }
static void b_id_long(rlserve_env_plugin_t *p) {
  p->id = "An-id-that-is-far-too-long-to-be-accepted-by-the-loader-because-it-exceeds-64-v0";
}
static void b_id_builtin(rlserve_env_plugin_t *p) { p->id = "CartPole-v1"; }
static void b_obs_discrete(rlserve_env_plugin_t *p) { p->obs.kind = RLSERVE_ENV_PLUGIN_DISCRETE; }
static void b_obs_dim0(rlserve_env_plugin_t *p) { p->obs.dim = 0; }
static void b_obs_dim17(rlserve_env_plugin_t *p) { p->obs.dim = ENV_MAX_DIM + 1; }
static void b_obs_nan(rlserve_env_plugin_t *p) { p->obs.low[0] = NAN; }
static void b_obs_order(rlserve_env_plugin_t *p) {
  p->obs.low[0] = 1.0f;
  p->obs.high[0] = 0.0f;
}
static void b_kind(rlserve_env_plugin_t *p) { p->act.kind = 5; }
static void b_act_inf(rlserve_env_plugin_t *p) { p->act.high[0] = INFINITY; }
static void b_act_n0(rlserve_env_plugin_t *p) {
  p->act.kind = RLSERVE_ENV_PLUGIN_DISCRETE;
  p->act.n = 0;
}
static void b_act_dim2(rlserve_env_plugin_t *p) {
  p->act.kind = RLSERVE_ENV_PLUGIN_DISCRETE;
  p->act.n = 3;
  p->act.dim = 2;
}
static void b_steps(rlserve_env_plugin_t *p) { p->max_episode_steps = -1; }
static void b_threshold(rlserve_env_plugin_t *p) { p->reward_threshold = NAN; }
static void b_state0(rlserve_env_plugin_t *p) { p->state_size = 0; }
static void b_state_big(rlserve_env_plugin_t *p) {
  p->state_size = (size_t)RLSERVE_ENV_PLUGIN_MAX_STATE_SIZE + 1;
}
static void b_reset(rlserve_env_plugin_t *p) { p->reset = NULL; }
static void b_step(rlserve_env_plugin_t *p) { p->step = NULL; }
static void b_n_state(rlserve_env_plugin_t *p) { p->n_state = ENV_MAX_DIM + 1; }
static void b_get_state(rlserve_env_plugin_t *p) { p->n_state = 2; }
static void b_reward_order(rlserve_env_plugin_t *p) {
  p->reward_low = 1;
  p->reward_high = -1;
}
static void b_reward_nan(rlserve_env_plugin_t *p) { p->reward_high = NAN; }

static void test_validation(void) {
  static const bad_case_t cases[] = {
      {"struct_size", "struct_size 16", b_struct_size},
      {"id NULL", "empty id", b_id_null},
      {"id empty", "empty id", b_id_empty},
      {"id with a space", "byte 0x20", b_id_space},
      {"id too long", "longer than 64", b_id_long},
      {"built-in id", "'CartPole-v1' is already registered", b_id_builtin},
      {"discrete observations", "observations must be BOX", b_obs_discrete},
      {"obs.dim 0", "obs.dim = 0", b_obs_dim0},
      {"obs.dim 17", "obs.dim = 17, must be in 1..16", b_obs_dim17},
      {"NaN bound", "obs bounds [0]", b_obs_nan},
      {"low > high", "low 1, high 0", b_obs_order},
      {"act.kind 5", "act.kind = 5", b_kind},
      {"infinite action bound", "must be finite", b_act_inf},
      {"act.n 0", "act.n = 0", b_act_n0},
      {"discrete act.dim 2", "act.dim = 2", b_act_dim2},
      {"max_episode_steps -1", "max_episode_steps = -1", b_steps},
      {"reward_threshold NaN", "reward_threshold is NaN", b_threshold},
      {"state_size 0", "state_size = 0", b_state0},
      {"state_size too big", "state_size = 1048577", b_state_big},
      {"reset NULL", "reset function is NULL", b_reset},
      {"step NULL", "step function is NULL", b_step},
      {"n_state 17", "n_state = 17", b_n_state},
      {"n_state without functions", "set_state is NULL", b_get_state},
      {"reward low > high", "reward range: low 1, high -1", b_reward_order},
      {"reward NaN", "reward range", b_reward_nan},
  };
  int n0 = count_ids();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rlserve_env_plugin_t p = mem_template;
    cases[i].apply(&p);
    char err[512] = "";
    int rc = env_plugin_register(&p, "test-case", err, sizeof err);
    CHECK(rc == -1, "%s accepted", cases[i].what);
    CHECK(strstr(err, cases[i].want) && strstr(err, "test-case"), "%s: message '%s' lacks '%s'",
          cases[i].what, err, cases[i].want);
  }
  CHECK(count_ids() == n0, "refused descriptions changed env_ids (%d, was %d)", count_ids(), n0);
  char err[256] = "";
  CHECK(env_plugin_register(NULL, "null", err, sizeof err) == -1, "NULL description accepted");
}

/* Fills the remaining slots with in-memory plugins, checks that each env calls its own
 * plugin (reset gets rng_u64 of the env's stream; a non-zero terminated becomes 1), then that
 * one more is refused. */
static void test_slots(void) {
  static rlserve_env_plugin_t mem[ENV_PLUGIN_MAX];
  static char names[ENV_PLUGIN_MAX][32];
  int registered = 0;
  char err[512] = "";
  for (int i = 0; i < ENV_PLUGIN_MAX; i++) {
    mem[i] = mem_template;
    snprintf(names[i], sizeof names[i], "MemEnv%d-v0", i);
    mem[i].id = names[i];
    if (env_plugin_register(&mem[i], names[i], err, sizeof err) != 0) break;
    registered++;
  }
  /* Corridor-v0 holds one slot. */
  CHECK(registered == ENV_PLUGIN_MAX - 1, "registered %d in-memory plugins, expected %d (%s)",
        registered, ENV_PLUGIN_MAX - 1, err);
  CHECK(strstr(err, "too many plugin envs") && strstr(err, "16"), "slot-limit message: %s", err);
  CHECK(env_plugin_register(&mem[0], names[0], err, sizeof err) == 0,
        "registering the same description again failed: %s", err);
  for (int i = 0; i < registered; i++) {
    env_t e;
    if (env_init(&e, names[i], err, sizeof err)) {
      CHECK(0, "env_init(%s): %s", names[i], err);
      continue;
    }
    CHECK(e.spec->n_state == 0, "%s n_state %d", names[i], e.spec->n_state);
    uint64_t seed = 1000 + (uint64_t)i;
    rng_t r;
    rng_seed(&r, seed);
    uint64_t want = rng_u64(&r);
    float o[1], a = 1.0f, rew;
    int term, trunc;
    env_reset(&e, seed, o);
    env_step(&e, &a, o, &rew, &term, &trunc);
    const mem_state_t *m = e.state;
    CHECK(m->seed == want && m->steps == 1, "%s: seed %llu (want rng_u64 = %llu), steps %d",
          names[i], (unsigned long long)m->seed, (unsigned long long)want, m->steps);
    CHECK(term == 1 && trunc == 0, "%s: terminated %d truncated %d", names[i], term, trunc);
    double s[1] = {0};
    env_set_state(&e, s, o); /* no-ops for a plugin without state functions */
    e.spec->get_state(e.state, s);
    env_free(&e);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s EXAMPLE.so BADABI.so [LIB_WITHOUT_ENTRY]\n", argv[0]);
    return 2;
  }
  example_path = argv[1];
  badabi_path = argv[2];
  if (argc > 3) noentry_path = argv[3];
  test_load_example();
  if (!env_find("Corridor-v0")) CHECK_DONE();
  test_seeded_reset();
  test_terminate_and_truncate();
  test_vec();
  test_refusals();
  test_validation();
  test_slots();
  CHECK_DONE();
}
