/* bounds (envs/bounds.c): the ingest check of transitions against the env's declared spaces
 * and reward range, with its tolerance; the reward ranges the built-in envs and plugins
 * declare (a plugin struct from before the range, or one that leaves it 0, accepts any
 * finite reward). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bounds.h"
#include "check.h"
#include "env.h"
#include "plugin.h"

static void test_value(void) {
  CHECK(env_bounds_value_ok(1.0f, 0, 1, 0), "the bound itself passes");
  CHECK(!env_bounds_value_ok(1.001f, 0, 1, 0), "past the bound with no tolerance");
  CHECK(env_bounds_value_ok(1.009f, 0, 1, 0.01), "within the tolerance of 1");
  CHECK(!env_bounds_value_ok(1.011f, 0, 1, 0.01), "past the tolerance of 1");
  CHECK(env_bounds_value_ok(-16.4f, -16.27f, 0, 0.01), "relative tolerance below -16.27");
  CHECK(!env_bounds_value_ok(-16.5f, -16.27f, 0, 0.01), "past the relative tolerance");
  CHECK(env_bounds_value_ok(3e38f, -INFINITY, INFINITY, 0.01), "unbounded passes 3e38");
  CHECK(!env_bounds_value_ok(NAN, -INFINITY, INFINITY, 0.01), "NaN never passes");
}

static void test_batch(void) {
  const env_spec_t *cp = env_find("CartPole-v1");
  CHECK(cp != NULL, "CartPole-v1");
  if (!cp) return;
  float obs[3 * 4] = {0.1f, 1, 0.05f, -2, 4.8f, 50, 0.41f, 3e38f, -1, 0, 0, 0};
  float next[3 * 4] = {0.2f, 1, 0.04f, -2, 4.81f, 50, 0.41f, 3e38f, -1, 0, 0, 0};
  float rew[3] = {1, 1, 0};
  char err[256] = "";
  CHECK(env_bounds_check(cp, 0.01, obs, rew, next, 3, err, sizeof err) == 0,
        "an in-bounds batch was refused: %s", err);
  obs[8] = 5.5f; /* row 2, obs[0] past 4.8 + 0.048 */
  CHECK(env_bounds_check(cp, 0.01, obs, rew, next, 3, err, sizeof err) == -1 &&
            strstr(err, "row 2 obs[0] = 5.5") && strstr(err, "CartPole-v1") && strstr(err, "4.8"),
        "obs out of bounds: '%s'", err);
  obs[8] = -1;
  next[2] = -0.5f; /* row 0, next_obs[2]: the pole angle bound is 0.419 */
  CHECK(env_bounds_check(cp, 0.01, obs, rew, next, 3, err, sizeof err) == -1 &&
            strstr(err, "row 0 next_obs[2] = -0.5"),
        "next_obs out of bounds: '%s'", err);
  next[2] = 0.04f;
  rew[1] = 3e38f;
  CHECK(env_bounds_check(cp, 0.01, obs, rew, next, 3, err, sizeof err) == -1 &&
            strstr(err, "row 1 reward = 3.0000") && strstr(err, "[0, 1]"),
        "reward out of range: '%s'", err);
  rew[1] = 1;
  /* Unaligned, as a decoded batch may be. */
  uint8_t raw[1 + sizeof obs];
  memcpy(raw + 1, obs, sizeof obs);
  CHECK(env_bounds_check(cp, 0.01, raw + 1, rew, next, 3, err, sizeof err) == 0,
        "unaligned obs refused: %s", err);
}

static void test_ranges(void) {
  static const struct {
    const char *id;
    float lo, hi;
  } want[] = {{"CartPole-v1", 0, 1},         {"MountainCar-v0", -1, -1},
              {"Acrobot-v1", -1, 0},         {"MountainCarContinuous-v0", -0.1f, 100},
              {"Pendulum-v1", -16.2736f, 0}, {"RandomWalk1000-v0", -1, 1}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const env_spec_t *s = env_find(want[i].id);
    CHECK(s != NULL, "%s", want[i].id);
    if (!s) continue;
    CHECK(fabsf(s->reward_low - want[i].lo) < 1e-3f && s->reward_high == want[i].hi,
          "%s: reward range [%g, %g], expected [%g, %g]", want[i].id, (double)s->reward_low,
          (double)s->reward_high, (double)want[i].lo, (double)want[i].hi);
  }
  /* Every built-in env's own steps stay within its declared ranges (random actions). */
  for (const char *const *id = env_ids(); *id; id++) {
    env_t e;
    char err[256];
    if (env_init(&e, *id, err, sizeof err) != 0) continue;
    static float o[ENV_MAX_OBS_DIM], no[ENV_MAX_OBS_DIM];
    float a[ENV_MAX_DIM], r;
    env_reset(&e, 7, o);
    rng_t g;
    rng_seed(&g, 3);
    for (int t = 0; t < 2000; t++) {
      for (int k = 0; k < e.spec->act.dim; k++)
        a[k] = e.spec->act.kind == ENV_DISCRETE
                   ? (float)rng_below(&g, (uint64_t)e.spec->act.n)
                   : (float)rng_range(&g, e.spec->act.low[k], e.spec->act.high[k]);
      int term, trunc;
      env_step(&e, a, no, &r, &term, &trunc);
      if (env_bounds_check(e.spec, 0.01, o, &r, no, 1, err, sizeof err) != 0) {
        CHECK(0, "%s step %d: %s", *id, t, err);
        break;
      }
      if (term || trunc)
        env_reset(&e, ENV_SEED_NONE, o);
      else
        memcpy(o, no, sizeof o);
    }
    env_free(&e);
  }
}

static void mem_reset(void *state, uint64_t seed, float *obs) {
  (void)state;
  (void)seed;
  obs[0] = 0;
}
static void mem_step(void *state, const float *action, float *obs, float *reward, int *term) {
  (void)state;
  obs[0] = action[0];
  *reward = 1;
  *term = 0;
}

static void test_plugin_ranges(void) {
  static const rlserve_env_plugin_t base = {
      .abi_version = RLSERVE_ENV_PLUGIN_ABI_VERSION,
      .struct_size = sizeof(rlserve_env_plugin_t),
      .id = "RangeEnv-v0",
      .obs = {.kind = RLSERVE_ENV_PLUGIN_BOX, .dim = 1, .low = {-1}, .high = {1}},
      .act = {.kind = RLSERVE_ENV_PLUGIN_BOX, .dim = 1, .low = {-1}, .high = {1}},
      .reward_threshold = 1,
      .state_size = 8,
      .reset = mem_reset,
      .step = mem_step,
      .reward_low = -2,
      .reward_high = 3,
  };
  static rlserve_env_plugin_t declared, old, unset;
  declared = old = unset = base;
  old.id = "RangeEnvOld-v0";
  old.struct_size = (uint32_t)RLSERVE_ENV_PLUGIN_V1_BASE_SIZE; /* range beyond it: unread */
  unset.id = "RangeEnvUnset-v0";
  unset.reward_low = unset.reward_high = 0;
  char err[256] = "";
  CHECK(env_plugin_register(&declared, "declared", err, sizeof err) == 0, "%s", err);
  CHECK(env_plugin_register(&old, "old", err, sizeof err) == 0, "%s", err);
  CHECK(env_plugin_register(&unset, "unset", err, sizeof err) == 0, "%s", err);
  const env_spec_t *d = env_find("RangeEnv-v0"), *o = env_find("RangeEnvOld-v0"),
                   *u = env_find("RangeEnvUnset-v0");
  CHECK(d && d->reward_low == -2 && d->reward_high == 3, "declared range [%g, %g]",
        d ? (double)d->reward_low : 0.0, d ? (double)d->reward_high : 0.0);
  CHECK(o && isinf(o->reward_low) && o->reward_low < 0 && isinf(o->reward_high),
        "base-size struct: range [%g, %g]", o ? (double)o->reward_low : 0.0,
        o ? (double)o->reward_high : 0.0);
  CHECK(u && isinf(u->reward_low) && isinf(u->reward_high), "unset range [%g, %g]",
        u ? (double)u->reward_low : 0.0, u ? (double)u->reward_high : 0.0);
  float x = 0, r = 2.5f, big = 1e30f;
  CHECK(d && env_bounds_check(d, 0.01, &x, &r, &x, 1, err, sizeof err) == 0, "%s", err);
  r = 3.5f;
  CHECK(d && env_bounds_check(d, 0.01, &x, &r, &x, 1, err, sizeof err) == -1, "3.5 in [-2, 3]");
  CHECK(u && env_bounds_check(u, 0.01, &x, &big, &x, 1, err, sizeof err) == 0, "%s", err);
}

int main(void) {
  test_value();
  test_batch();
  test_ranges();
  test_plugin_ranges();
  CHECK_DONE();
}
