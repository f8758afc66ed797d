/* envcheck: replays Gymnasium test vectors (shared/testdata/gym-classic/<env>.json) against our
 * envs. For each trajectory: reset, set the recorded start state (so the time limit counts
 * from the trajectory start, as the generator did), then apply the recorded actions without
 * ever resyncing, comparing observation, reward, flags and internal state at every step. */
#include "envcheck.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

#define OBS_TOL 1e-5    /* absolute, float32 observations */
#define REWARD_TOL 1e-6 /* relative to max(1, |expected|) */
#define STATE_TOL 1e-6  /* absolute, float64 internal state */

typedef struct worst {
  double err;
  int traj, step; /* where it was seen (step -1: the start observation) */
} worst_t;

typedef struct report {
  int trajectories, steps, flag_mismatches, failures;
  worst_t obs, reward, state;
  double reward_f32; /* worst reward error against float32(expected): our rewards are float */
  char first[2048];  /* the first failing step, expected vs got */
} report_t;

static double abs_err(double got, double want) {
  double d = fabs(got - want);
  return isnan(d) ? INFINITY : d;
}

static void note(worst_t *w, double err, int traj, int step) {
  if (err > w->err) *w = (worst_t){err, traj, step};
}

/* Reads a numeric array field of exactly n entries; on error names the field in err. */
static int get_numbers(const cJSON *obj, const char *name, int n, double *out, const char *where,
                       char *err, size_t errlen) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!a) {
    snprintf(err, errlen, "%s: missing field '%s'", where, name);
    return -1;
  }
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
    snprintf(err, errlen, "%s: field '%s' must be an array of %d numbers", where, name, n);
    return -1;
  }
  int i = 0;
  const cJSON *x;
  cJSON_ArrayForEach(x, a) {
    if (!cJSON_IsNumber(x)) {
      snprintf(err, errlen, "%s: field '%s'[%d] is not a number", where, name, i);
      return -1;
    }
    out[i++] = x->valuedouble;
  }
  return 0;
}

static int get_bool(const cJSON *obj, const char *name, int *out, const char *where, char *err,
                    size_t errlen) {
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!cJSON_IsBool(b)) {
    snprintf(err, errlen, "%s: %s field '%s' (true/false)", where, b ? "bad" : "missing", name);
    return -1;
  }
  *out = cJSON_IsTrue(b);
  return 0;
}

static int get_action(const cJSON *st, const env_spec_t *spec, float *act, const char *where,
                      char *err, size_t errlen) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "action");
  if (!a) {
    snprintf(err, errlen, "%s: missing field 'action'", where);
    return -1;
  }
  if (spec->act.kind == ENV_DISCRETE) {
    if (!cJSON_IsNumber(a) || a->valuedouble < 0 || a->valuedouble >= spec->act.n ||
        a->valuedouble != floor(a->valuedouble)) {
      snprintf(err, errlen, "%s: field 'action' must be an integer in [0, %d)", where, spec->act.n);
      return -1;
    }
    act[0] = (float)a->valuedouble;
    return 0;
  }
  double v[ENV_MAX_DIM];
  if (get_numbers(st, "action", spec->act.dim, v, where, err, errlen)) return -1;
  for (int i = 0; i < spec->act.dim; i++) act[i] = (float)v[i];
  return 0;
}

static int fmt_vec(char *buf, size_t len, const char *name, const double *v, int n) {
  int w = snprintf(buf, len, "%s [", name);
  for (int i = 0; i < n && w >= 0 && (size_t)w < len; i++)
    w += snprintf(buf + w, len - (size_t)w, "%s%.17g", i ? ", " : "", v[i]);
  if (w >= 0 && (size_t)w < len) w += snprintf(buf + w, len - (size_t)w, "]");
  return w;
}

static void record_failure(report_t *r, const env_spec_t *spec, int traj, int step,
                           const char *what, const double *want_obs, const float *got_obs,
                           double want_rew, double got_rew, int want_term, int got_term,
                           int want_trunc, int got_trunc, const double *want_state,
                           const double *got_state) {
  if (r->failures++) return;
  double go[ENV_MAX_DIM];
  for (int i = 0; i < spec->obs.dim; i++) go[i] = got_obs[i];
  char *b = r->first;
  size_t len = sizeof r->first;
  int w = snprintf(b, len, "trajectory %d %s%d: %s\n", traj, step < 0 ? "start" : "step ",
                   step < 0 ? 0 : step, what);
#define ADD(...) \
  if (w >= 0 && (size_t)w < len) w += snprintf(b + w, len - (size_t)w, __VA_ARGS__)
#define ADDVEC(name, v, n) \
  if (w >= 0 && (size_t)w < len) w += fmt_vec(b + w, len - (size_t)w, name, v, n)
  ADDVEC("    expected obs  ", want_obs, spec->obs.dim);
  ADD("\n");
  ADDVEC("    got obs       ", go, spec->obs.dim);
  ADD("\n");
  if (step >= 0) {
    ADD("    reward   expected %.17g got %.17g\n", want_rew, got_rew);
    ADD("    flags    expected terminated=%d truncated=%d, got terminated=%d truncated=%d\n",
        want_term, want_trunc, got_term, got_trunc);
  }
  if (want_state) {
    ADDVEC("    expected state", want_state, spec->n_state);
    ADD("\n");
  }
  ADDVEC("    got state     ", got_state, spec->n_state);
  ADD("\n");
#undef ADD
#undef ADDVEC
}

/* Replays one trajectory. Returns 0, or -1 for a malformed trajectory (message in err). */
static int check_trajectory(env_t *e, const cJSON *tr, int ti, report_t *r, char *err,
                            size_t errlen) {
  const env_spec_t *spec = e->spec;
  char where[96];
  snprintf(where, sizeof where, "trajectory %d", ti);
  double s0[ENV_MAX_DIM], want_obs[ENV_MAX_DIM], want_state[ENV_MAX_DIM], got_state[ENV_MAX_DIM];
  float obs[ENV_MAX_DIM], act[ENV_MAX_DIM];
  if (!cJSON_IsObject(tr)) {
    snprintf(err, errlen, "%s: not an object", where);
    return -1;
  }
  if (spec->n_state > ENV_MAX_DIM) {
    snprintf(err, errlen, "%s: state of %d doubles too large", spec->id, spec->n_state);
    return -1;
  }
  if (get_numbers(tr, "start_state", spec->n_state, s0, where, err, errlen) ||
      get_numbers(tr, "start_obs", spec->obs.dim, want_obs, where, err, errlen))
    return -1;
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive(tr, "steps");
  if (!cJSON_IsArray(steps)) {
    snprintf(err, errlen, "%s: %s field 'steps' (an array)", where, steps ? "bad" : "missing");
    return -1;
  }
  env_reset(e, (uint64_t)ti, obs);
  env_set_state(e, s0, obs);
  r->trajectories++;

  double worst = 0;
  for (int i = 0; i < spec->obs.dim; i++) {
    double d = abs_err(obs[i], want_obs[i]);
    if (d > worst) worst = d;
  }
  note(&r->obs, worst, ti, -1);
  if (!(worst <= OBS_TOL)) {
    spec->get_state(e->state, got_state);
    record_failure(r, spec, ti, -1, "start observation differs", want_obs, obs, 0, 0, 0, 0, 0, 0,
                   s0, got_state);
  }

  int si = 0;
  const cJSON *st;
  cJSON_ArrayForEach(st, steps) {
    snprintf(where, sizeof where, "trajectory %d step %d", ti, si);
    double want_rew;
    int want_term, want_trunc;
    const cJSON *rw = cJSON_GetObjectItemCaseSensitive(st, "reward");
    if (get_action(st, spec, act, where, err, errlen) ||
        get_numbers(st, "obs", spec->obs.dim, want_obs, where, err, errlen) ||
        get_bool(st, "terminated", &want_term, where, err, errlen) ||
        get_bool(st, "truncated", &want_trunc, where, err, errlen))
      return -1;
    if (!cJSON_IsNumber(rw)) {
      snprintf(err, errlen, "%s: %s field 'reward' (a number)", where, rw ? "bad" : "missing");
      return -1;
    }
    want_rew = rw->valuedouble;
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(st, "state");
    int have_state = sj != NULL;
    if (have_state && get_numbers(st, "state", spec->n_state, want_state, where, err, errlen))
      return -1;

    float rew;
    int term, trunc;
    env_step(e, act, obs, &rew, &term, &trunc);
    spec->get_state(e->state, got_state);
    r->steps++;

    double eo = 0, es = 0, er = abs_err(rew, want_rew) / fmax(1.0, fabs(want_rew));
    for (int i = 0; i < spec->obs.dim; i++) eo = fmax(eo, abs_err(obs[i], want_obs[i]));
    if (have_state)
      for (int i = 0; i < spec->n_state; i++) es = fmax(es, abs_err(got_state[i], want_state[i]));
    note(&r->obs, eo, ti, si);
    note(&r->reward, er, ti, si);
    r->reward_f32 = fmax(r->reward_f32, abs_err(rew, (float)want_rew) / fmax(1.0, fabs(want_rew)));
    note(&r->state, es, ti, si);
    int flags_bad = term != want_term || trunc != want_trunc;
    r->flag_mismatches += flags_bad;
    const char *what = !(eo <= OBS_TOL)      ? "observation differs"
                       : !(er <= REWARD_TOL) ? "reward differs"
                       : flags_bad           ? "terminated/truncated differ"
                       : !(es <= STATE_TOL)  ? "internal state differs"
                                             : NULL;
    if (what)
      record_failure(r, spec, ti, si, what, want_obs, obs, want_rew, rew, want_term, term,
                     want_trunc, trunc, have_state ? want_state : NULL, got_state);
    si++;
  }
  return 0;
}

static char *read_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1) break;
    char *nb = realloc(buf, cap *= 2);
    if (!nb) free(buf);
    buf = nb;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    snprintf(err, errlen, "cannot read %s: %s", path, buf ? "I/O error" : "out of memory");
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

static void print_worst(const char *name, const worst_t *w, double tol, const char *kind) {
  printf("  worst %-7s error %-10.3g (tol %g %s)", name, w->err, tol, kind);
  if (w->err > 0) {
    if (w->step < 0)
      printf(" at trajectory %d start", w->traj);
    else
      printf(" at trajectory %d step %d", w->traj, w->step);
  }
  printf("\n");
}

/* Returns the exit status for one file: 0 all matched, 1 mismatch, 2 unusable file. */
static int check_file(const char *path) {
  char err[512];
  char *text = read_file(path, err, sizeof err);
  if (!text) {
    fprintf(stderr, "envcheck: %s\n", err);
    return 2;
  }
  cJSON *root = cJSON_Parse(text);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    fprintf(stderr, "envcheck: %s: invalid JSON near byte %ld\n", path,
            at && at >= text ? (long)(at - text) : -1L);
    free(text);
    return 2;
  }
  free(text);
  int status = 2;
  env_t e = {0};
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "env_id");
  const cJSON *trs = cJSON_GetObjectItemCaseSensitive(root, "trajectories");
  if (!cJSON_IsString(id)) {
    fprintf(stderr, "envcheck: %s: %s field 'env_id' (a string)\n", path, id ? "bad" : "missing");
    goto out;
  }
  if (strncmp(id->valuestring, "MinAtar/", 8) == 0) {
    status = envcheck_minatar(path, root);
    goto out;
  }
  if (env_init(&e, id->valuestring, err, sizeof err) != 0) {
    fprintf(stderr, "envcheck: %s: %s\n", path, err);
    goto out;
  }
  if (!cJSON_IsArray(trs)) {
    fprintf(stderr, "envcheck: %s: %s field 'trajectories' (an array)\n", path,
            trs ? "bad" : "missing");
    goto out;
  }
  report_t r = {0};
  int ti = 0;
  const cJSON *tr;
  cJSON_ArrayForEach(tr, trs) {
    if (check_trajectory(&e, tr, ti++, &r, err, sizeof err) != 0) {
      fprintf(stderr, "envcheck: %s: %s\n", path, err);
      goto out;
    }
  }
  printf("envcheck %s (%s)\n", e.spec->id, path);
  printf("  trajectories %d, steps %d\n", r.trajectories, r.steps);
  print_worst("obs", &r.obs, OBS_TOL, "abs");
  print_worst("reward", &r.reward, REWARD_TOL, "rel");
  printf("    (rewards are float32; against float32(expected) the worst is %.3g)\n", r.reward_f32);
  print_worst("state", &r.state, STATE_TOL, "abs");
  printf("  flag mismatches %d\n", r.flag_mismatches);
  if (r.failures) {
    printf("  failing checks %d; first:\n  %s", r.failures, r.first);
    printf("FAIL %s\n", e.spec->id);
    status = 1;
  } else if (r.trajectories == 0) {
    printf("FAIL %s: no trajectories\n", e.spec->id);
    status = 1;
  } else {
    printf("PASS %s\n", e.spec->id);
    status = 0;
  }
out:
  if (e.spec) env_free(&e);
  cJSON_Delete(root);
  return status;
}

int envcheck_main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fprintf(argc < 2 ? stderr : stdout,
            "usage: rlserve envcheck FILE.json [FILE.json ...]\n"
            "  replays Gymnasium and MinAtar test vectors (schema: shared/testdata/README.md)\n"
            "  against the C envs (MinAtar: every draw too); exit 0 if every step matches, 1 on a mismatch, 2 on an unusable file.\n");
    return argc < 2 ? 2 : 0;
  }
  int status = 0;
  for (int i = 1; i < argc; i++) {
    int s = check_file(argv[i]);
    if (s > status) status = s;
  }
  return status;
}
