/* Checks the MinAtar support: numpy's legacy RandomState stream (envs/npmt.h) against values
 * numpy 1.24.2 gave (../shared/reference/minatar.md, section 2), the draw log, the id options
 * (defaults, parsing, refusals), sticky actions (always one draw; repeat of the previous full
 * action, kept across resets), the -v0 / -v1 action sets, seeds beyond 2^32, steps after the
 * end, and the observation layout. The games' dynamics are checked step for step against
 * MinAtar's own trajectories by the envcheck_MinAtar_* tests (tests/minatar.cmake). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "env.h"
#include "minatar.h"
#include "npmt.h"

static void test_numpy_values(void) {
  npmt_t m = {0};
  npmt_seed(&m, 1);
  double u = npmt_rand(&m);
  CHECK(u == 0.417022004702574, "RandomState(1).rand() = %.17g", u);
  int64_t v = npmt_randint(&m, 0, 10);
  CHECK(v == 8, "randint(0, 10) = %lld, numpy 8", (long long)v);
  v = npmt_randint(&m, 0, 5); /* choice of 5 items = randint(0, 5): 'b' */
  CHECK(v == 1, "randint(0, 5) = %lld, numpy 1", (long long)v);
  v = npmt_randint(&m, 0, 2);
  CHECK(v == 1, "randint(2) = %lld, numpy 1", (long long)v);
  npmt_t before = m;
  v = npmt_randint(&m, 0, 1);
  CHECK(v == 0 && m.pos == before.pos, "randint(1) = %lld consumed %d outputs", (long long)v,
        m.pos - before.pos);
  u = npmt_rand(&m);
  CHECK(u == 0.9990405153241447, "rand() = %.17g, numpy 0.9990405153241447", u);
  int64_t s8[8];
  const int64_t want8[8] = {1, 1, 2, 5, 5, 2, 3, 5};
  npmt_randint_n(&m, 1, 6, s8, 8);
  for (int i = 0; i < 8; i++)
    CHECK(s8[i] == want8[i], "randint(1, 6, 8)[%d] = %lld, numpy %lld", i, (long long)s8[i],
          (long long)want8[i]);
  double r8[8];
  npmt_rand_n(&m, r8, 8);
  CHECK(r8[0] == 0.4191945144032948, "rand(8)[0] = %.17g", r8[0]);
  v = npmt_randint(&m, 1, 9);
  CHECK(v == 8, "randint(low=1, high=9) = %lld, numpy 8", (long long)v);
  /* Widely known first draws: RandomState(0).rand(), RandomState(42).rand(). */
  npmt_seed(&m, 0);
  u = npmt_rand(&m);
  CHECK(u == 0.5488135039273248, "RandomState(0).rand() = %.17g", u);
  npmt_seed(&m, 42);
  u = npmt_rand(&m);
  CHECK(u == 0.3745401188473625, "RandomState(42).rand() = %.17g", u);
  /* Many regenerations: values stay in [0, 1) and randint in range. */
  npmt_seed(&m, 4294967295u);
  int bad = 0;
  for (int i = 0; i < 100000; i++) {
    double x = npmt_rand(&m);
    int64_t k = npmt_randint(&m, 3, 10);
    bad += !(x >= 0 && x < 1) || k < 3 || k >= 10;
  }
  CHECK(bad == 0, "%d draws out of range", bad);
}

static void test_log(void) {
  npmt_t m = {0};
  npmt_draw_t d[3];
  npmt_log_t log = {.d = d, .cap = 3};
  npmt_seed(&m, 1);
  m.log = &log;
  npmt_rand(&m);
  int64_t k[8];
  npmt_randint_n(&m, 1, 6, k, 8);
  npmt_randint(&m, 0, 1);
  npmt_rand(&m); /* does not fit: counted */
  CHECK(log.n == 3 && log.overflow == 1, "log n %d overflow %d", log.n, log.overflow);
  CHECK(d[0].call == NPMT_RAND && d[0].size == 0 && d[0].v[0] == 0.417022004702574,
        "first entry %d %d %.17g", d[0].call, d[0].size, d[0].v[0]);
  CHECK(d[1].call == NPMT_RANDINT && d[1].size == 8 && d[1].low == 1 && d[1].high == 6 &&
            d[1].v[7] == (double)k[7],
        "second entry %d size %d [%lld, %lld)", d[1].call, d[1].size, (long long)d[1].low,
        (long long)d[1].high);
  CHECK(d[2].call == NPMT_RANDINT && d[2].low == 0 && d[2].high == 1 && d[2].v[0] == 0,
        "randint(1) is logged though it draws nothing");
}

static minatar_t *state_of(env_t *e) { return (minatar_t *)e->state; }

static void test_options(void) {
  env_t e;
  char err[256];
  CHECK(env_init(&e, "MinAtar/Breakout-v1", err, sizeof err) == 0, "%s", err);
  CHECK(state_of(&e)->sticky == 0.1 && state_of(&e)->ramping == 1, "defaults sticky %g ramping %d",
        state_of(&e)->sticky, state_of(&e)->ramping);
  env_free(&e);
  CHECK(env_init(&e, "MinAtar/Asterix-v0:sticky_action_prob=0.25,difficulty_ramping=false", err,
                 sizeof err) == 0,
        "%s", err);
  CHECK(strcmp(e.spec->id, "MinAtar/Asterix-v0") == 0 && state_of(&e)->sticky == 0.25 &&
            state_of(&e)->ramping == 0,
        "options: id %s sticky %g ramping %d", e.spec->id, state_of(&e)->sticky,
        state_of(&e)->ramping);
  env_free(&e);
  CHECK(env_find("MinAtar/Seaquest-v1:sticky_action_prob=0") == &env_minatar_seaquest_v1,
        "env_find ignores options");
  CHECK(env_check_id("MinAtar/Seaquest-v1:difficulty_ramping=0", err, sizeof err) == 0, "%s", err);
  CHECK(env_check_id("MinAtar/Seaquest-v1:sticky=2", err, sizeof err) == -1 &&
            strstr(err, "unknown MinAtar option 'sticky'"),
        "env_check_id: '%s'", err);
  static const struct {
    const char *id, *says;
  } bad[] = {
      {"MinAtar/Breakout-v1:sticky_action_prob=1.5", "sticky_action_prob = '1.5'"},
      {"MinAtar/Breakout-v1:sticky_action_prob=", "expected a number in [0, 1]"},
      {"MinAtar/Breakout-v1:difficulty_ramping=maybe", "difficulty_ramping = 'maybe'"},
      {"MinAtar/Breakout-v1:speed=2", "unknown MinAtar option 'speed'"},
      {"MinAtar/Breakout-v1:sticky_action_prob", "expected key=value"},
      {"CartPole-v1:sticky_action_prob=0", "takes no options"},
      {"MinAtar/Pong-v1", "unknown env id 'MinAtar/Pong-v1'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    int rc = env_init(&e, bad[i].id, err, sizeof err);
    CHECK(rc == -1 && strstr(err, bad[i].says), "'%s': rc %d, error '%s' (want '%s')", bad[i].id,
          rc, err, bad[i].says);
    if (rc == 0) env_free(&e);
  }
}

/* The paddle column of a Breakout observation (row 9, channel 0). */
static int paddle(const float *obs) {
  for (int c = 0; c < 10; c++)
    if (obs[(9 * 10 + c) * 4 + 0] == 1.0f) return c;
  return -1;
}

static void test_sticky_and_actions(void) {
  env_t e;
  char err[256];
  static float obs[ENV_MAX_OBS_DIM];
  float r;
  int term, trunc;
  /* sticky 1: every act repeats the previous full action, which starts as noop. */
  CHECK(env_init(&e, "MinAtar/Breakout-v1:sticky_action_prob=1", err, sizeof err) == 0, "%s", err);
  env_reset(&e, 3, obs);
  npmt_t *mt = minatar_stream(&e);
  CHECK(mt != NULL, "minatar_stream is NULL for a MinAtar env");
  int pos0 = paddle(obs), pos_before = mt ? mt->pos : 0;
  float right = 2; /* v1 index 2 = full action r */
  env_step(&e, &right, obs, &r, &term, &trunc);
  CHECK(paddle(obs) == pos0, "sticky 1: paddle moved from %d to %d", pos0, paddle(obs));
  CHECK(mt && mt->pos == pos_before + 2, "one rand() = two outputs per step, used %d",
        mt ? mt->pos - pos_before : -1);
  env_free(&e);
  /* sticky 0 on -v0: index 3 is the full action r; the last action survives a reset. */
  CHECK(env_init(&e, "MinAtar/Breakout-v0:sticky_action_prob=0", err, sizeof err) == 0, "%s", err);
  CHECK(e.spec->act.n == 6, "Breakout-v0 has %d actions", e.spec->act.n);
  env_reset(&e, 3, obs);
  pos0 = paddle(obs);
  float a3 = 3;
  env_step(&e, &a3, obs, &r, &term, &trunc);
  CHECK(paddle(obs) == pos0 + 1, "v0 action 3 (r): paddle %d -> %d", pos0, paddle(obs));
  CHECK(state_of(&e)->last_action == MINATAR_RIGHT, "last action %d", state_of(&e)->last_action);
  env_reset(&e, 4, obs);
  CHECK(state_of(&e)->last_action == MINATAR_RIGHT, "reset cleared the last action (%d)",
        state_of(&e)->last_action);
  env_free(&e);
  CHECK(env_find("MinAtar/Breakout-v1")->act.n == 3 && env_find("MinAtar/Freeway-v1")->act.n == 3 &&
            env_find("MinAtar/Asterix-v1")->act.n == 5 &&
            env_find("MinAtar/Seaquest-v1")->act.n == 6 &&
            env_find("MinAtar/SpaceInvaders-v1")->act.n == 4,
        "minimal action set sizes");
}

/* Seeds below 2^32 are RandomState(seed); larger ones fold to (s ^ s >> 32) & 0xffffffff. */
static void test_seeds(void) {
  env_t a, b;
  char err[256];
  static float oa[ENV_MAX_OBS_DIM], ob[ENV_MAX_OBS_DIM];
  CHECK(env_init(&a, "MinAtar/Freeway-v1", err, sizeof err) == 0, "%s", err);
  CHECK(env_init(&b, "MinAtar/Freeway-v1", err, sizeof err) == 0, "%s", err);
  uint64_t big = 0x123456789abcdef0ull;
  env_reset(&a, big, oa);
  env_reset(&b, (big ^ (big >> 32)) & 0xffffffffu, ob);
  CHECK(memcmp(oa, ob, sizeof(float) * 700) == 0, "a 64-bit seed does not fold as documented");
  env_reset(&b, 5, ob);
  CHECK(memcmp(oa, ob, sizeof(float) * 700) != 0, "seeds 5 and the folded seed gave one start");
  npmt_t ref = {0};
  npmt_seed(&ref, 5);
  env_reset(&a, 5, oa);
  npmt_t *mt = minatar_stream(&a);
  double after_reset = npmt_rand(mt); /* the reset drew randint(1,6,8) + rand(8) */
  int64_t s8[8];
  double u8[8];
  npmt_randint_n(&ref, 1, 6, s8, 8);
  npmt_rand_n(&ref, u8, 8);
  CHECK(after_reset == npmt_rand(&ref), "env stream is not RandomState(5) after the reset draws");
  env_t cp;
  CHECK(env_init(&cp, "CartPole-v1", err, sizeof err) == 0 && minatar_stream(&cp) == NULL,
        "minatar_stream of CartPole is not NULL");
  env_free(&cp);
  env_free(&a);
  env_free(&b);
}

/* Observations are 0/1 floats, (row, col, channel) order; a finished game keeps answering
 * (0, terminated) and still makes the wrapper's draw. */
static void test_obs_and_end(void) {
  static const char *ids[] = {"MinAtar/Asterix-v1", "MinAtar/Breakout-v1", "MinAtar/Freeway-v1",
                              "MinAtar/Seaquest-v1", "MinAtar/SpaceInvaders-v1"};
  static const int channels[] = {4, 4, 7, 10, 6};
  static float obs[ENV_MAX_OBS_DIM], prev[ENV_MAX_OBS_DIM];
  for (int g = 0; g < 5; g++) {
    env_t e;
    char err[256];
    CHECK(env_init(&e, ids[g], err, sizeof err) == 0, "%s", err);
    const int dim = e.spec->obs.dim;
    CHECK(dim == 100 * channels[g] && env_space_low(&e.spec->obs, dim - 1) == 0.0f &&
              env_space_high(&e.spec->obs, dim - 1) == 1.0f,
          "%s: dim %d bounds [%g, %g]", ids[g], dim, env_space_low(&e.spec->obs, dim - 1),
          env_space_high(&e.spec->obs, dim - 1));
    env_reset(&e, 11, obs);
    rng_t ar;
    rng_seed(&ar, 2);
    int term = 0, trunc = 0, t = 0, bad = 0, ones = 0;
    float r;
    while (!term && t < 5000) {
      float a = (float)rng_below(&ar, (uint64_t)e.spec->act.n);
      env_step(&e, &a, obs, &r, &term, &trunc);
      for (int i = 0; i < dim; i++) bad += obs[i] != 0.0f && obs[i] != 1.0f, ones += obs[i] == 1.0f;
      t++;
    }
    CHECK(bad == 0 && ones > 0, "%s: %d non-0/1 values, %d ones", ids[g], bad, ones);
    CHECK(term, "%s: no termination in %d random steps", ids[g], t);
    if (g == 2) CHECK(t == 2501, "Freeway ended after %d steps, expected 2501", t);
    memcpy(prev, obs, sizeof(float) * (size_t)dim);
    npmt_t *mt = minatar_stream(&e);
    int pos = mt->pos;
    float a = 0;
    env_step(&e, &a, obs, &r, &term, &trunc);
    CHECK(term && r == 0 && memcmp(prev, obs, sizeof(float) * (size_t)dim) == 0,
          "%s: a step after the end changed something (term %d, r %g)", ids[g], term, r);
    CHECK((mt->pos - pos + NPMT_N) % NPMT_N == 2, "%s: a step after the end drew %d outputs",
          ids[g], (mt->pos - pos + NPMT_N) % NPMT_N);
    env_free(&e);
  }
  /* Breakout's reset: bricks in rows 1-3 and the paddle at column 4, channel order. */
  env_t e;
  char err[256];
  CHECK(env_init(&e, "MinAtar/Breakout-v1", err, sizeof err) == 0, "%s", err);
  env_reset(&e, 0, obs);
  CHECK(obs[(9 * 10 + 4) * 4 + 0] == 1 && obs[(1 * 10 + 0) * 4 + 3] == 1 &&
            obs[(4 * 10 + 0) * 4 + 3] == 0,
        "Breakout reset layout");
  env_free(&e);
}

int main(void) {
  test_numpy_values();
  test_log();
  test_options();
  test_sticky_and_actions();
  test_seeds();
  test_obs_and_end();
  CHECK_DONE();
}
