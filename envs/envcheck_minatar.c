/* envcheck for MinAtar test vectors (shared/testdata/minatar/<Game>.json, schema in
 * shared/testdata/README.md): every trajectory is replayed from its seed in a fresh env with
 * the trajectory's options, comparing each step's random draws (call, arguments, values), the
 * observation bits, the reward and the termination flag exactly; the first mismatch of a
 * trajectory is reported with its step and draw index. Freeway's long episodes are replayed in
 * full: rewards, checkpoint observations, the terminal step, the draw count and the sum of the
 * rand values. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "minatar.h"

#define LOG_CAP 64

typedef struct mcheck {
  const char *path, *env_id;
  int n_traj, n_long, steps, draws, failures;
  char first[1024]; /* the first failure, for the summary */
  char err[512];    /* a malformed file */
} mcheck_t;

static void fail(mcheck_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(mcheck_t *m, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  printf("  MISMATCH %s\n", line);
  if (!m->failures++) snprintf(m->first, sizeof m->first, "%s", line);
}

static int bad_file(mcheck_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_file(mcheck_t *m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  return -1;
}

static void fmt_draw(char *b, size_t n, const npmt_draw_t *d) {
  int w;
  if (d->call == NPMT_RAND)
    w = d->size ? snprintf(b, n, "rand(%d) = [", d->size) : snprintf(b, n, "rand() = ");
  else
    w = d->size ? snprintf(b, n, "randint(%lld, %lld, %d) = [", (long long)d->low,
                           (long long)d->high, d->size)
                : snprintf(b, n, "randint(%lld, %lld) = ", (long long)d->low, (long long)d->high);
  int k = d->size ? d->size : 1;
  for (int i = 0; i < k && i < NPMT_LOG_VALUES && w >= 0 && (size_t)w < n; i++)
    w += snprintf(b + w, n - (size_t)w, "%s%.17g", i ? ", " : "", d->v[i]);
  if (d->size && w >= 0 && (size_t)w < n) snprintf(b + w, n - (size_t)w, "]");
}

/* One recorded draw {"call", "args", "value"} as an npmt_draw_t; -1 if malformed. */
static int parse_draw(const cJSON *j, npmt_draw_t *d) {
  memset(d, 0, sizeof *d);
  const cJSON *call = cJSON_GetObjectItemCaseSensitive(j, "call");
  const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "args");
  const cJSON *val = cJSON_GetObjectItemCaseSensitive(j, "value");
  if (!cJSON_IsString(call) || !cJSON_IsArray(args) || !val) return -1;
  int na = cJSON_GetArraySize(args);
  double a[3] = {0};
  for (int i = 0; i < na && i < 3; i++) {
    const cJSON *x = cJSON_GetArrayItem(args, i);
    if (!cJSON_IsNumber(x)) return -1;
    a[i] = x->valuedouble;
  }
  if (!strcmp(call->valuestring, "rand")) {
    if (na > 1) return -1;
    d->call = NPMT_RAND;
    d->size = na ? (int)a[0] : 0;
  } else if (!strcmp(call->valuestring, "randint")) {
    if (na < 1 || na > 3) return -1;
    d->call = NPMT_RANDINT;
    d->low = na == 1 ? 0 : (int64_t)a[0];
    d->high = na == 1 ? (int64_t)a[0] : (int64_t)a[1];
    d->size = na == 3 ? (int)a[2] : 0;
  } else {
    return -1;
  }
  if (d->size < 0 || d->size > NPMT_LOG_VALUES) return -1;
  if (d->size) {
    if (!cJSON_IsArray(val) || cJSON_GetArraySize(val) != d->size) return -1;
    for (int i = 0; i < d->size; i++) {
      const cJSON *x = cJSON_GetArrayItem(val, i);
      if (!cJSON_IsNumber(x)) return -1;
      d->v[i] = x->valuedouble;
    }
  } else {
    if (!cJSON_IsNumber(val)) return -1;
    d->v[0] = val->valuedouble;
  }
  return 0;
}

static int same_draw(const npmt_draw_t *a, const npmt_draw_t *b) {
  if (a->call != b->call || a->size != b->size) return 0;
  if (a->call == NPMT_RANDINT && (a->low != b->low || a->high != b->high)) return 0;
  for (int i = 0; i < (a->size ? a->size : 1); i++)
    if (a->v[i] != b->v[i]) return 0;
  return 1;
}

/* Compares the draws logged since the last call with a recorded "rng" array. Returns 1 when
 * equal, 0 on a mismatch (reported), -1 for a malformed array. */
static int check_draws(mcheck_t *m, const npmt_log_t *log, const cJSON *rec, const char *where) {
  if (!cJSON_IsArray(rec)) return bad_file(m, "%s: missing or bad 'rng' array", where);
  int n = cJSON_GetArraySize(rec), i = 0;
  char want[256], got[256];
  const cJSON *j;
  cJSON_ArrayForEach(j, rec) {
    npmt_draw_t d;
    if (parse_draw(j, &d)) return bad_file(m, "%s: draw %d is malformed", where, i);
    if (i >= log->n) {
      fmt_draw(want, sizeof want, &d);
      fail(m, "%s draw %d: expected %s, got no draw (we made %d, the reference %d)", where, i, want,
           log->n, n);
      return 0;
    }
    if (!same_draw(&d, &log->d[i])) {
      fmt_draw(want, sizeof want, &d);
      fmt_draw(got, sizeof got, &log->d[i]);
      fail(m, "%s draw %d: expected %s, got %s", where, i, want, got);
      return 0;
    }
    i++;
  }
  if (log->n != n || log->overflow) {
    fmt_draw(got, sizeof got, &log->d[n < log->n ? n : 0]);
    fail(m, "%s draw %d: the reference made %d draws, we made %d (next: %s)", where, n, n,
         log->n + log->overflow, got);
    return 0;
  }
  m->draws += n;
  return 1;
}

/* Compares obs (dim floats) with a sorted list of the flat indices of its true cells. */
static int check_obs(mcheck_t *m, const float *obs, int dim, int C, const cJSON *rec,
                     const char *where) {
  if (!cJSON_IsArray(rec)) return bad_file(m, "%s: missing or bad 'obs' array", where);
  static float want[ENV_MAX_OBS_DIM];
  memset(want, 0, sizeof want);
  const cJSON *j;
  cJSON_ArrayForEach(j, rec) {
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble >= dim)
      return bad_file(m, "%s: observation index out of 0..%d", where, dim - 1);
    want[(int)j->valuedouble] = 1.0f;
  }
  for (int i = 0; i < dim; i++)
    if (obs[i] != want[i]) {
      int cell = i / C;
      fail(m,
           "%s: observation differs first at flat index %d (row %d, col %d, channel %d): "
           "expected %g, got %g",
           where, i, cell / 10, cell % 10, i % C, (double)want[i], (double)obs[i]);
      return 0;
    }
  return 1;
}

/* A fresh env for a trajectory's options, with the draw log attached. */
static int open_env(mcheck_t *m, const cJSON *tr, env_t *e, npmt_log_t *log, uint32_t *seed,
                    const char *where) {
  const cJSON *sd = cJSON_GetObjectItemCaseSensitive(tr, "seed");
  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(tr, "sticky_action_prob");
  const cJSON *dr = cJSON_GetObjectItemCaseSensitive(tr, "difficulty_ramping");
  if (!cJSON_IsNumber(sd) || sd->valuedouble < 0 || sd->valuedouble > 4294967295.0 ||
      !cJSON_IsNumber(sp) || !cJSON_IsBool(dr))
    return bad_file(m,
                    "%s: needs 'seed' (0..2^32-1), 'sticky_action_prob', "
                    "'difficulty_ramping'",
                    where);
  char id[256], err[256];
  snprintf(id, sizeof id, "%s:sticky_action_prob=%.17g,difficulty_ramping=%s", m->env_id,
           sp->valuedouble, cJSON_IsTrue(dr) ? "true" : "false");
  if (env_init(e, id, err, sizeof err)) return bad_file(m, "%s: %s", where, err);
  npmt_t *mt = minatar_stream(e);
  if (!mt) {
    env_free(e);
    return bad_file(m, "%s: '%s' is not a MinAtar env", where, m->env_id);
  }
  mt->log = log;
  *seed = (uint32_t)sd->valuedouble;
  return 0;
}

static int n_channels(const env_t *e) { return e->spec->obs.dim / 100; }

/* Returns 0 (checked, mismatches counted) or -1 (malformed, m->err). */
static int check_trajectory(mcheck_t *m, const cJSON *tr, int ti) {
  char where[128];
  snprintf(where, sizeof where, "trajectory %d", ti);
  env_t e;
  npmt_draw_t draws[LOG_CAP];
  npmt_log_t log = {.d = draws, .cap = LOG_CAP};
  uint32_t seed;
  if (open_env(m, tr, &e, &log, &seed, where)) return -1;
  snprintf(where, sizeof where, "trajectory %d (seed %u) reset", ti, seed);
  static float obs[ENV_MAX_OBS_DIM];
  const int dim = e.spec->obs.dim, C = n_channels(&e);
  int rc = 0, ok;
  env_reset(&e, seed, obs);
  ok = check_draws(m, &log, cJSON_GetObjectItemCaseSensitive(tr, "start_rng"), where);
  if (ok > 0)
    ok = check_obs(m, obs, dim, C, cJSON_GetObjectItemCaseSensitive(tr, "start_obs"), where);
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive(tr, "steps");
  if (ok >= 0 && !cJSON_IsArray(steps)) ok = bad_file(m, "%s: missing 'steps' array", where);
  int si = 0;
  const cJSON *st;
  if (ok > 0) cJSON_ArrayForEach(st, steps) {
      snprintf(where, sizeof where, "trajectory %d (seed %u) step %d", ti, seed, si);
      const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "action");
      const cJSON *rw = cJSON_GetObjectItemCaseSensitive(st, "reward");
      const cJSON *tm = cJSON_GetObjectItemCaseSensitive(st, "terminated");
      if (!cJSON_IsNumber(a) || a->valuedouble < 0 || a->valuedouble >= e.spec->act.n ||
          !cJSON_IsNumber(rw) || !cJSON_IsBool(tm)) {
        ok = bad_file(m, "%s: needs 'action' (0..%d), 'reward', 'terminated'", where,
                      e.spec->act.n - 1);
        break;
      }
      float act = (float)a->valuedouble, r;
      int term, trunc;
      log.n = log.overflow = 0;
      env_step(&e, &act, obs, &r, &term, &trunc);
      m->steps++;
      ok = check_draws(m, &log, cJSON_GetObjectItemCaseSensitive(st, "rng"), where);
      if (ok > 0)
        ok = check_obs(m, obs, dim, C, cJSON_GetObjectItemCaseSensitive(st, "obs"), where);
      if (ok > 0 && (double)r != rw->valuedouble) {
        fail(m, "%s: reward expected %g, got %g", where, rw->valuedouble, (double)r);
        ok = 0;
      }
      if (ok > 0 && term != cJSON_IsTrue(tm)) {
        fail(m, "%s: terminated expected %d, got %d", where, cJSON_IsTrue(tm), term);
        ok = 0;
      }
      if (ok <= 0) break;
      si++;
    }
  if (ok < 0) rc = -1;
  env_free(&e);
  m->n_traj++;
  return rc;
}

/* Freeway's full-length episodes: actions as a digit string and summaries. */
static int check_long(mcheck_t *m, const cJSON *le, int li) {
  char where[128];
  snprintf(where, sizeof where, "long episode %d", li);
  const cJSON *acts = cJSON_GetObjectItemCaseSensitive(le, "actions");
  const cJSON *rat = cJSON_GetObjectItemCaseSensitive(le, "rewards_at");
  const cJSON *cps = cJSON_GetObjectItemCaseSensitive(le, "checkpoints");
  const cJSON *tat = cJSON_GetObjectItemCaseSensitive(le, "terminated_at");
  const cJSON *nd = cJSON_GetObjectItemCaseSensitive(le, "rng_draws");
  const cJSON *sum = cJSON_GetObjectItemCaseSensitive(le, "rng_sum_rand_values");
  if (!cJSON_IsString(acts) || !cJSON_IsArray(rat) || !cJSON_IsObject(cps) || !cJSON_IsArray(tat) ||
      cJSON_GetArraySize(tat) != 1 || !cJSON_IsNumber(nd) || !cJSON_IsString(sum))
    return bad_file(m,
                    "%s: needs 'actions', 'rewards_at', 'checkpoints', 'terminated_at', "
                    "'rng_draws', 'rng_sum_rand_values'",
                    where);
  env_t e;
  npmt_draw_t draws[LOG_CAP];
  npmt_log_t log = {.d = draws, .cap = LOG_CAP};
  uint32_t seed;
  if (open_env(m, le, &e, &log, &seed, where)) return -1;
  static float obs[ENV_MAX_OBS_DIM];
  const int dim = e.spec->obs.dim, C = n_channels(&e);
  int rc = 0, ok = 1, n_draws = 0, term_at = -1, next_reward = 0;
  double rsum = 0;
  snprintf(where, sizeof where, "long episode %d (seed %u) reset", li, seed);
  env_reset(&e, seed, obs);
  ok = check_draws(m, &log, cJSON_GetObjectItemCaseSensitive(le, "start_rng"), where);
  if (ok > 0 && cJSON_GetObjectItemCaseSensitive(le, "start_obs"))
    ok = check_obs(m, obs, dim, C, cJSON_GetObjectItemCaseSensitive(le, "start_obs"), where);
  const char *s = acts->valuestring;
  for (int t = 0; ok > 0 && s[t]; t++) {
    snprintf(where, sizeof where, "long episode %d (seed %u) step %d", li, seed, t);
    if (s[t] < '0' || s[t] - '0' >= e.spec->act.n) {
      ok = bad_file(m, "%s: action '%c' outside 0..%d", where, s[t], e.spec->act.n - 1);
      break;
    }
    float act = (float)(s[t] - '0'), r;
    int term, trunc;
    log.n = log.overflow = 0;
    env_step(&e, &act, obs, &r, &term, &trunc);
    m->steps++;
    n_draws += log.n + log.overflow;
    for (int i = 0; i < log.n; i++) /* per call: Python's sum() of its values, then added */
      if (log.d[i].call == NPMT_RAND) {
        double part = 0;
        for (int k = 0; k < (log.d[i].size ? log.d[i].size : 1); k++) part += log.d[i].v[k];
        rsum += part;
      }
    const cJSON *want_r = cJSON_GetArrayItem(rat, next_reward);
    int rewarded = want_r && cJSON_IsNumber(want_r) && (int)want_r->valuedouble == t;
    if (rewarded) next_reward++;
    if ((r != 0) != rewarded) {
      fail(m, "%s: reward expected %d, got %g", where, rewarded, (double)r);
      ok = 0;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", t);
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(cps, key);
    if (ok > 0 && cp) ok = check_obs(m, obs, dim, C, cp, where);
    if (term && term_at < 0) term_at = t;
    if (term) break;
  }
  snprintf(where, sizeof where, "long episode %d (seed %u)", li, seed);
  int want_term = (int)cJSON_GetArrayItem(tat, 0)->valuedouble;
  char sum_txt[64];
  snprintf(sum_txt, sizeof sum_txt, "%.17g", rsum);
  if (ok > 0 && term_at != want_term) {
    fail(m, "%s: terminated at step %d, expected %d", where, term_at, want_term);
    ok = 0;
  }
  if (ok > 0 && next_reward != cJSON_GetArraySize(rat)) {
    fail(m, "%s: %d rewards, expected %d", where, next_reward, cJSON_GetArraySize(rat));
    ok = 0;
  }
  if (ok > 0 && n_draws != (int)nd->valuedouble) {
    fail(m, "%s: %d draws during the steps, expected %d", where, n_draws, (int)nd->valuedouble);
    ok = 0;
  }
  if (ok > 0 && rsum != strtod(sum->valuestring, NULL)) {
    fail(m, "%s: sum of the rand values %s, expected %s", where, sum_txt, sum->valuestring);
    ok = 0;
  }
  if (ok < 0) rc = -1;
  env_free(&e);
  m->n_long++;
  return rc;
}

int envcheck_minatar(const char *path, const cJSON *root) {
  mcheck_t m = {.path = path};
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "env_id");
  const cJSON *trs = cJSON_GetObjectItemCaseSensitive(root, "trajectories");
  const cJSON *longs = cJSON_GetObjectItemCaseSensitive(root, "long_episodes");
  if (!cJSON_IsString(id) || !cJSON_IsArray(trs)) {
    fprintf(stderr, "envcheck: %s: needs 'env_id' (a string) and 'trajectories' (an array)\n",
            path);
    return 2;
  }
  m.env_id = id->valuestring;
  if (!env_find(m.env_id)) {
    fprintf(stderr, "envcheck: %s: unknown env id '%s'\n", path, m.env_id);
    return 2;
  }
  printf("envcheck %s (%s)\n", m.env_id, path);
  int ti = 0, bad = 0;
  const cJSON *tr;
  cJSON_ArrayForEach(tr, trs) if (!bad) bad = check_trajectory(&m, tr, ti++) != 0;
  if (!bad && longs) {
    if (!cJSON_IsArray(longs)) {
      bad = 1;
      snprintf(m.err, sizeof m.err, "'long_episodes' is not an array");
    }
    int li = 0;
    const cJSON *le;
    cJSON_ArrayForEach(le, longs) if (!bad) bad = check_long(&m, le, li++) != 0;
  }
  if (bad) {
    fprintf(stderr, "envcheck: %s: %s\n", path, m.err);
    return 2;
  }
  printf("  trajectories %d, long episodes %d, steps %d, draws compared %d\n", m.n_traj, m.n_long,
         m.steps, m.draws);
  if (m.failures) {
    printf("  mismatching trajectories %d; first: %s\nFAIL %s\n", m.failures, m.first, m.env_id);
    return 1;
  }
  if (m.n_traj == 0) {
    printf("FAIL %s: no trajectories\n", m.env_id);
    return 1;
  }
  printf("PASS %s (observations, rewards, termination and every draw identical)\n", m.env_id);
  return 0;
}
