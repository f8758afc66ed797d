/* study: R seeds of a preset (in-process on-policy runs or learner runs), mean curve with 95%
 * interval as CSV and SVG (study.h). */
#include "study.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "algo.h"
#include "config.h"
#include "onpolicy.h"
#include "run.h"
#include "rundir.h"

enum { M_RETURN, M_LENGTH, M_RMSE, N_METRICS };
static const char *const metric_key[N_METRICS] = {"return", "length", "value_rmse"};

typedef struct curve {
  long rows;              /* metrics rows common to every run */
  long *episode;          /* rows */
  double *val[N_METRICS]; /* runs x rows, NAN where missing */
} curve_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void usage(void) {
  fprintf(
      stderr,
      "usage: rlserve study --preset NAME --runs R [--out DIR] [--jobs J] [--set key=value]...\n"
      "  runs seeds 1..R of a preset, J at a time, and writes DIR/curve.csv, DIR/curve.svg and\n"
      "  DIR/study.json (mean and 95%% interval over runs). An on-policy preset runs in-process\n"
      "  (J defaults to the online cores); a learner preset (DQN, DDPG/TD3, ...) runs as\n"
      "  `rlserve run` (a learner and its workers) into DIR/run-SEED (J defaults to the cores\n"
      "  divided by 1 + workers), and DIR/table.md gets the env steps and wall seconds to a\n"
      "  confirmed solve (median, range)\n");
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[n] = 0;
  fclose(f);
  return buf;
}

/* Mean and 95% half-width (normal approximation, 1.96 s / sqrt(n)) of the finite values. */
static void mean_ci(const double *v, int n, int stride, double *mean, double *half, int *count) {
  double s = 0.0, s2 = 0.0;
  int k = 0;
  for (int i = 0; i < n; i++) {
    double x = v[(size_t)i * (size_t)stride];
    if (!isfinite(x)) continue;
    s += x;
    s2 += x * x;
    k++;
  }
  *count = k;
  *mean = k ? s / k : NAN;
  double var = k > 1 ? fmax(0.0, (s2 - s * s / k) / (k - 1)) : 0.0;
  *half = k > 1 ? 1.96 * sqrt(var / k) : NAN;
}

/* Reads run r's metrics.jsonl into the curve (rows fixed by run 0). */
static int load_metrics(curve_t *c, int runs, int r, const char *path) {
  char *text = read_file(path);
  if (!text) return -1;
  long row = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *j = cJSON_Parse(line);
    if (!j) continue;
    if (r == 0) {
      long *e = realloc(c->episode, (size_t)(row + 1) * sizeof *e);
      for (int m = 0; m < N_METRICS && e; m++) {
        double *v = realloc(c->val[m], (size_t)(row + 1) * (size_t)runs * sizeof *v);
        if (!v) {
          e = NULL;
          break;
        }
        c->val[m] = v;
        for (int k = 0; k < runs; k++) v[(size_t)row * (size_t)runs + (size_t)k] = NAN;
      }
      if (!e) {
        cJSON_Delete(j);
        free(text);
        return -1;
      }
      c->episode = e;
      e[row] = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "episode"));
      c->rows = row + 1;
    }
    if (row < c->rows)
      for (int m = 0; m < N_METRICS; m++) {
        const cJSON *x = cJSON_GetObjectItem(j, metric_key[m]);
        c->val[m][(size_t)row * (size_t)runs + (size_t)r] =
            cJSON_IsNumber(x) ? cJSON_GetNumberValue(x) : NAN;
      }
    cJSON_Delete(j);
    row++;
  }
  free(text);
  return 0;
}

/* A mean curve with its 95% band: x[i], mean[i], half[i] for i < rows (NAN mean: no point). */
static void write_band_svg(const char *path, long rows, const double *x, const double *mean,
                           const double *half, const char *title, const char *xlabel,
                           const char *ylabel) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  const double W = 800, H = 480, L = 70, R = 20, T = 40, B = 50;
  double lo = INFINITY, hi = -INFINITY, x0 = INFINITY, x1 = -INFINITY;
  for (long i = 0; i < rows; i++) {
    if (!isfinite(mean[i])) continue;
    double h = isfinite(half[i]) ? half[i] : 0.0;
    lo = fmin(lo, mean[i] - h);
    hi = fmax(hi, mean[i] + h);
    x0 = fmin(x0, x[i]);
    x1 = fmax(x1, x[i]);
  }
  if (!isfinite(lo)) lo = 0, hi = 1, x0 = 0, x1 = 1;
  if (!(hi > lo)) hi = lo + 1.0;
  if (!(x1 > x0)) x1 = x0 + 1;
#define SX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define SY(v) (T + (hi - (v)) / (hi - lo) * (H - T - B))
#define HALF(i) (isfinite(half[i]) ? half[i] : 0.0)
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
          "fill=\"white\"/>\n<text x=\"%g\" y=\"22\" font-size=\"15\">%s</text>\n",
          W, H, L, title);
  fprintf(f, "<polygon fill=\"#9ecae1\" fill-opacity=\"0.6\" stroke=\"none\" points=\"");
  for (long i = 0; i < rows; i++)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(x[i]), SY(mean[i] + HALF(i)));
  for (long i = rows; i-- > 0;)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(x[i]), SY(mean[i] - HALF(i)));
  fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"1.5\" points=\"");
  for (long i = 0; i < rows; i++)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(x[i]), SY(mean[i]));
  fprintf(f, "\"/>\n");
  fprintf(f,
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n"
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n",
          L, H - B, W - R, H - B, L, T, L, H - B);
  for (int k = 0; k <= 4; k++) {
    double y = lo + (hi - lo) * k / 4, xv = x0 + (x1 - x0) * k / 4;
    fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6, SY(y) + 4, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%.6g</text>\n", SX(xv), H - B + 18,
            xv);
  }
  fprintf(f,
          "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n"
          "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">%s"
          "</text>\n</svg>\n",
          (L + W - R) / 2, H - 12, xlabel, (T + H - B) / 2, (T + H - B) / 2, ylabel);
#undef SX
#undef SY
#undef HALF
  fclose(f);
}

static void write_svg(const char *path, const curve_t *c, int runs, int m, const char *title) {
  double *mean = malloc((size_t)(c->rows > 0 ? c->rows : 1) * 3 * sizeof *mean);
  if (!mean) return;
  double *h = mean + c->rows, *ep = h + c->rows;
  for (long i = 0; i < c->rows; i++) {
    int k;
    mean_ci(c->val[m] + (size_t)i * (size_t)runs, runs, 1, &mean[i], &h[i], &k);
    ep[i] = (double)c->episode[i];
  }
  char ylabel[128];
  snprintf(ylabel, sizeof ylabel, "%s (mean of %d runs, 95%% interval)", metric_key[m], runs);
  write_band_svg(path, c->rows, ep, mean, h, title, "episode", ylabel);
  free(mean);
}

/* What the command line asked for. */
typedef struct study_opts {
  const char *preset, *out;
  int runs, jobs, jobs_given;
  const char *sets[64];
  int n_sets;
} study_opts_t;

/* -1 to go on, else the exit status (0 after --help, 2 after a message). */
static int parse_opts(int argc, char **argv, study_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--preset") && v) {
      o->preset = v, i++;
    } else if (!strcmp(a, "--runs") && v) {
      o->runs = atoi(v), i++;
    } else if (!strcmp(a, "--out") && v) {
      o->out = v, i++;
    } else if (!strcmp(a, "--jobs") && v) {
      o->jobs = atoi(v), o->jobs_given = 1, i++;
    } else if (!strcmp(a, "--set") && v && o->n_sets < 64) {
      o->sets[o->n_sets++] = v, i++;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage();
      return 0;
    } else {
      fprintf(stderr, "rlserve study: unknown or incomplete argument '%s'\n", a);
      usage();
      return 2;
    }
  }
  if (!o->preset || o->runs < 1) {
    fprintf(stderr, "rlserve study: --preset NAME and --runs R (>= 1) are required\n");
    usage();
    return 2;
  }
  if (o->jobs < 1) o->jobs = 1;
  return -1;
}

/* The preset and the settings, validated; *learner is set for an algorithm the learner serves
 * (its runs are `rlserve run`: a learner and workers). 0, or 2 after a message. */
static int resolve_config(const study_opts_t *o, config_t *cfg, int *learner) {
  char err[512];
  config_init(cfg);
  if (config_load_preset(cfg, o->preset, err, sizeof err)) {
    fprintf(stderr, "rlserve study: %s\n", err);
    return 2;
  }
  for (int i = 0; i < o->n_sets; i++)
    if (config_set_arg(cfg, o->sets[i], err, sizeof err)) {
      fprintf(stderr, "rlserve study: %s\n", err);
      return 2;
    }
  const algo_t *algo;
  if (algo_validate_config(cfg, NULL, &algo, err, sizeof err)) {
    fprintf(stderr, "rlserve study: %s\n", err);
    return 2;
  }
  *learner = algo->mode == ALGO_ACTOR_LEARNER;
  if (*learner && cfg->workers < 1) {
    fprintf(stderr, "rlserve study: workers = 0: algo %s learns from workers; give workers >= 1\n",
            cfg->algo);
    return 2;
  }
  return 0;
}

/* One learner-served seed in this (forked) process: `rlserve run` with the study's preset and
 * settings and this seed into dir, its output into dir/study.log. The run's exit status. */
static int run_learner_seed(const study_opts_t *o, long seed, const char *dir) {
  char err[1024], log[800], seedbuf[32];
  if (rundir_mkdir(dir, err, sizeof err)) {
    fprintf(stderr, "rlserve study: %s\n", err);
    return 2;
  }
  snprintf(log, sizeof log, "%s/study.log", dir);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "rlserve study: cannot write %s: %s\n", log, strerror(errno));
    return 2;
  }
  fflush(stdout);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
  snprintf(seedbuf, sizeof seedbuf, "%ld", seed);
  char *argv[8 + 2 * 64];
  int n = 0;
  argv[n++] = "run";
  argv[n++] = "--preset";
  argv[n++] = (char *)o->preset;
  argv[n++] = "--out";
  argv[n++] = (char *)dir;
  for (int i = 0; i < o->n_sets; i++) {
    argv[n++] = "--set";
    argv[n++] = (char *)o->sets[i];
  }
  argv[n++] = "--seed"; /* last: it overrides a --set seed= (which moved seed0) */
  argv[n++] = seedbuf;
  argv[n] = NULL;
  return run_main(n, argv);
}

/* dir/run.conf, as `rlserve run` writes it (a failure only costs the board its legend). */
static void write_run_conf(const config_t *c, const char *dir) {
  char err[1024], path[800];
  if (rundir_mkdir(dir, err, sizeof err) != 0) return;
  snprintf(path, sizeof path, "%s/run.conf", dir);
  char *text = config_to_text(c);
  FILE *f = text ? fopen(path, "w") : NULL;
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  free(text);
}

/* Seeds seed0 .. seed0 + runs - 1, each in a child process into out/run-SEED (an onpolicy_run,
 * or `rlserve run` for a learner algorithm), jobs at a time. 0, or 2 after a message (a fork
 * or a run failed). */
static int run_seeds(const study_opts_t *o, const config_t *cfg, const char *out, int jobs,
                     int learner) {
  const long seed0 = (long)cfg->seed;
  const int runs = o->runs;
  int running = 0, failed = 0, next = 0, done = 0;
  while (done < runs) {
    while (running < jobs && next < runs) {
      fflush(stdout);
      pid_t pid = fork();
      if (pid < 0) {
        fprintf(stderr, "rlserve study: fork: %s\n", strerror(errno));
        return 2;
      }
      if (pid == 0) {
        config_t c = *cfg;
        c.seed = seed0 + next;
        char dir[700], e2[512];
        snprintf(dir, sizeof dir, "%s/run-%ld", out, (long)c.seed);
        if (learner) _exit(run_learner_seed(o, (long)c.seed, dir));
        write_run_conf(&c, dir); /* what the run was, for rlserve board */
        int st = onpolicy_run(&c, dir, 1, e2, sizeof e2);
        if (st == 2) fprintf(stderr, "rlserve study: seed %ld: %s\n", (long)c.seed, e2);
        _exit(st);
      }
      next++;
      running++;
    }
    int status;
    if (wait(&status) < 0) break;
    running--;
    done++;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    if (code == 2 || code == 130) failed++;
    printf("rlserve study: %d/%d runs finished%s\n", done, runs,
           code == 2 || code == 130 ? " (one failed: see its run folder's study.log)" : "");
    fflush(stdout);
  }
  if (!failed) return 0;
  fprintf(stderr, "rlserve study: %d run(s) failed\n", failed);
  return 2;
}

/* Each run's end values from its summary.json (NAN where missing; solved_ep INFINITY). */
typedef struct ends {
  double *eval, *rmse, *last100, *solved_ep; /* runs each */
  int solved;                                /* runs that reached their target */
} ends_t;

static double number_or(const cJSON *j, const char *key, double missing) {
  const cJSON *x = cJSON_GetObjectItem(j, key);
  return cJSON_IsNumber(x) ? cJSON_GetNumberValue(x) : missing;
}

/* Reads every run's metrics.jsonl into c and its summary.json into e. 0, or 2 after a
 * message. */
static int load_runs(const char *out, long seed0, int runs, curve_t *c, ends_t *e) {
  for (int r = 0; r < runs; r++) {
    char path[800];
    snprintf(path, sizeof path, "%s/run-%ld/metrics.jsonl", out, seed0 + r);
    if (load_metrics(c, runs, r, path)) {
      fprintf(stderr, "rlserve study: cannot read %s\n", path);
      return 2;
    }
    snprintf(path, sizeof path, "%s/run-%ld/summary.json", out, seed0 + r);
    char *s = read_file(path);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    e->eval[r] = number_or(j, "eval_mean", NAN);
    e->rmse[r] = number_or(j, "value_rmse", NAN);
    e->last100[r] = number_or(j, "train_mean_last100", NAN);
    e->solved_ep[r] = number_or(j, "solved_episode", INFINITY);
    e->solved += cJSON_IsTrue(cJSON_GetObjectItem(j, "solved"));
    cJSON_Delete(j);
  }
  return 0;
}

/* curve.csv: per metrics row, the runs that have it and each metric's mean and 95% interval
 * (value_rmse only for prediction). 0, or 2 after a message. */
static int write_curve_csv(const char *out, const curve_t *c, int runs, int pred) {
  char path[800];
  snprintf(path, sizeof path, "%s/curve.csv", out);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "rlserve study: cannot write %s\n", path);
    return 2;
  }
  fprintf(f, "episode,runs");
  for (int m = 0; m < N_METRICS; m++)
    if (m != M_RMSE || pred)
      fprintf(f, ",%s_mean,%s_ci_low,%s_ci_high", metric_key[m], metric_key[m], metric_key[m]);
  fprintf(f, "\n");
  for (long i = 0; i < c->rows; i++) {
    int k = 0;
    double mean, half;
    mean_ci(c->val[M_RETURN] + (size_t)i * (size_t)runs, runs, 1, &mean, &half, &k);
    fprintf(f, "%ld,%d", c->episode[i], k);
    for (int m = 0; m < N_METRICS; m++) {
      if (m == M_RMSE && !pred) continue;
      mean_ci(c->val[m] + (size_t)i * (size_t)runs, runs, 1, &mean, &half, &k);
      fprintf(f, ",%.6g,%.6g,%.6g", mean, mean - half, mean + half);
    }
    fprintf(f, "\n");
  }
  fclose(f);
  return 0;
}

/* study.json and the closing lines: the last row of the plotted metric, eval_mean,
 * train_mean_last100 and (prediction) value_rmse over runs, the median solved episode. */
static void write_study_json(const char *out, const char *preset, const config_t *cfg,
                             const curve_t *c, int runs, int plot, int pred, ends_t *e) {
  double lm = NAN, lh = NAN, em, eh, rm = NAN, rh = NAN;
  int k;
  if (c->rows > 0)
    mean_ci(c->val[plot] + (size_t)(c->rows - 1) * (size_t)runs, runs, 1, &lm, &lh, &k);
  mean_ci(e->eval, runs, 1, &em, &eh, &k);
  if (pred) mean_ci(e->rmse, runs, 1, &rm, &rh, &k);
  double tm, th;
  mean_ci(e->last100, runs, 1, &tm, &th, &k);
  qsort(e->solved_ep, (size_t)runs, sizeof *e->solved_ep, cmp_double);
  double median_solved = e->solved_ep[(runs - 1) / 2]; /* infinite: fewer than half solved */
  char path[800];
  snprintf(path, sizeof path, "%s/study.json", out);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f,
            "{\"preset\": \"%s\", \"algo\": \"%s\", \"env\": \"%s\", \"runs\": %d, \"solved\": %d, "
            "\"last_episode\": %ld, \"last_metric\": \"%s\", \"last_mean\": %.6g, "
            "\"last_ci95\": %.6g, \"eval_mean\": %.6g, \"eval_ci95\": %.6g",
            preset, cfg->algo, cfg->env, runs, e->solved, c->rows ? c->episode[c->rows - 1] : 0,
            metric_key[plot], lm, isfinite(lh) ? lh : 0, em, isfinite(eh) ? eh : 0);
    fprintf(f, ", \"train_mean_last100\": %.6g, \"train_mean_last100_ci95\": %.6g", tm,
            isfinite(th) ? th : 0);
    if (isfinite(median_solved))
      fprintf(f, ", \"solved_episode_median\": %.0f", median_solved);
    else
      fprintf(f, ", \"solved_episode_median\": null");
    if (pred)
      fprintf(f, ", \"value_rmse_mean\": %.6g, \"value_rmse_ci95\": %.6g", rm,
              isfinite(rh) ? rh : 0);
    fprintf(f, "}\n");
    fclose(f);
  }
  printf("rlserve study: %s: %d/%d runs reached the target; last %s %.4g +- %.2g (95%%)", preset,
         e->solved, runs, metric_key[plot], lm, isfinite(lh) ? lh : 0);
  if (pred) printf("; value_rmse %.4g +- %.2g", rm, isfinite(rh) ? rh : 0);
  printf("\nrlserve study: %s/curve.csv, %s/curve.svg, %s/study.json\n", out, out, out);
}

/* Everything after the runs: curve.csv, curve.svg, study.json. The exit status. */
static int summarize(const study_opts_t *o, const config_t *cfg, const char *out) {
  const int runs = o->runs;
  curve_t c;
  memset(&c, 0, sizeof c);
  ends_t e = {0};
  e.eval = malloc((size_t)runs * 4 * sizeof *e.eval);
  if (!e.eval) {
    fprintf(stderr, "rlserve study: out of memory for %d runs\n", runs);
    return 2;
  }
  e.rmse = e.eval + runs, e.last100 = e.eval + 2 * runs, e.solved_ep = e.eval + 3 * runs;
  int rc = load_runs(out, (long)cfg->seed, runs, &c, &e);
  const int pred = c.rows > 0 && isfinite(c.val[M_RMSE][0]);
  if (rc == 0) rc = write_curve_csv(out, &c, runs, pred);
  if (rc == 0) {
    const int plot =
        pred ? M_RMSE : (strcmp(cfg->env, "MountainCar-v0") == 0 ? M_LENGTH : M_RETURN);
    char title[1024], path[800];
    snprintf(title, sizeof title, "%s (%s on %s), %d runs", o->preset, cfg->algo, cfg->env, runs);
    snprintf(path, sizeof path, "%s/curve.svg", out);
    write_svg(path, &c, runs, plot, title);
    write_study_json(out, o->preset, cfg, &c, runs, plot, pred, &e);
    rc = e.solved == runs ? 0 : 1;
  }
  free(c.episode);
  for (int m = 0; m < N_METRICS; m++) free(c.val[m]);
  free(e.eval);
  return rc;
}

/* ---- learner runs (DQN, DDPG/TD3, ...): curves over env steps, steps and time to a solve ---- */

#define GRID 101 /* curve.csv points from 0 to the longest run's last env step */

/* One learner run's metrics rows: env steps, the training return and the latest evaluation. */
typedef struct lrun {
  long n;
  double *steps, *train, *eval_at, *eval;  /* n each; NAN where absent */
  double solved, env_steps, wall, confirm; /* from summary.json (solved 0/1, NAN absent) */
} lrun_t;

static int lrun_load(lrun_t *r, const char *dir) {
  char path[800];
  memset(r, 0, sizeof *r);
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  char *text = read_file(path);
  if (!text) return -1;
  long cap = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *j = cJSON_Parse(line);
    if (!j) continue;
    if (r->n == cap) {
      cap = cap ? 2 * cap : 256;
      double *p = realloc(r->steps, (size_t)cap * 4 * sizeof *p);
      if (!p) {
        cJSON_Delete(j);
        free(text);
        return -1;
      }
      /* one block of 4 arrays: move the old ones to their new places, back to front */
      long old = cap / 2;
      if (r->n) {
        memmove(p + 3 * cap, p + 3 * old, (size_t)r->n * sizeof *p);
        memmove(p + 2 * cap, p + 2 * old, (size_t)r->n * sizeof *p);
        memmove(p + cap, p + old, (size_t)r->n * sizeof *p);
      }
      r->steps = p, r->train = p + cap, r->eval_at = p + 2 * cap, r->eval = p + 3 * cap;
    }
    r->steps[r->n] = number_or(j, "env_steps", NAN);
    r->train[r->n] = number_or(j, "train_return_mean100", NAN);
    r->eval[r->n] = number_or(j, "eval_mean", NAN);
    r->eval_at[r->n] = number_or(j, "eval_env_steps", NAN);
    cJSON_Delete(j);
    if (isfinite(r->steps[r->n])) r->n++;
  }
  free(text);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *st = read_file(path);
  cJSON *j = st ? cJSON_Parse(st) : NULL;
  free(st);
  r->solved = j ? cJSON_IsTrue(cJSON_GetObjectItem(j, "solved")) : NAN;
  r->env_steps = number_or(j, "env_steps", NAN);
  r->wall = number_or(j, "wall_seconds", NAN);
  r->confirm = number_or(j, "confirm_mean", NAN);
  int have_summary = j != NULL;
  cJSON_Delete(j);
  return have_summary || r->n ? 0 : -1;
}

/* The training return at env step x: linear between rows; after the run's last row its last
 * value (a solved run stopped there: its policy is the one it ended with). *live: x is within
 * the rows. NAN before the first value. */
static double lrun_train_at(const lrun_t *r, double x, int *live) {
  double last = NAN, last_x = NAN;
  *live = r->n > 0 && x <= r->steps[r->n - 1];
  for (long i = 0; i < r->n; i++) {
    if (!isfinite(r->train[i])) continue;
    if (r->steps[i] >= x) {
      if (!isfinite(last)) return r->steps[i] == x ? r->train[i] : NAN;
      double w = r->steps[i] > last_x ? (x - last_x) / (r->steps[i] - last_x) : 1.0;
      return last + w * (r->train[i] - last);
    }
    last = r->train[i];
    last_x = r->steps[i];
  }
  return last;
}

/* The latest evaluation made at or before env step x (NAN before the first). */
static double lrun_eval_at(const lrun_t *r, double x) {
  double v = NAN;
  for (long i = 0; i < r->n; i++)
    if (isfinite(r->eval[i]) && isfinite(r->eval_at[i]) && r->eval_at[i] <= x) v = r->eval[i];
  return v;
}

/* Median and range of the finite values of v (sorted in place); 0 when there are none. */
static int median_range(double *v, int n, double *med, double *lo, double *hi) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) v[k++] = v[i];
  if (!k) return 0;
  qsort(v, (size_t)k, sizeof *v, cmp_double);
  *med = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  *lo = v[0];
  *hi = v[k - 1];
  return k;
}

static int summarize_learner(const study_opts_t *o, const config_t *cfg, const char *out) {
  const int runs = o->runs;
  lrun_t *rs = calloc((size_t)runs, sizeof *rs);
  double *buf = malloc((size_t)(runs * 4 + GRID * 5) * sizeof *buf);
  if (!rs || !buf) {
    free(rs);
    free(buf);
    fprintf(stderr, "rlserve study: out of memory for %d runs\n", runs);
    return 2;
  }
  double *tv = buf, *ev = buf + runs, *steps = buf + 2 * runs, *wall = buf + 3 * runs;
  double *gx = buf + 4 * runs, *gm = gx + GRID, *gh = gm + GRID, *em = gh + GRID, *eh = em + GRID;
  int rc = 0, solved = 0;
  double xmax = 0;
  for (int r = 0; r < runs && rc == 0; r++) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/run-%ld", out, (long)cfg->seed + r);
    if (lrun_load(&rs[r], dir)) {
      fprintf(stderr, "rlserve study: cannot read %s/metrics.jsonl\n", dir);
      rc = 2;
      break;
    }
    if (rs[r].n) xmax = fmax(xmax, rs[r].steps[rs[r].n - 1]);
    solved += rs[r].solved == 1;
    steps[r] = rs[r].solved == 1 ? rs[r].env_steps : NAN;
    wall[r] = rs[r].solved == 1 ? rs[r].wall : NAN;
  }
  char path[800];
  snprintf(path, sizeof path, "%s/curve.csv", out);
  FILE *f = rc == 0 ? fopen(path, "w") : NULL;
  if (rc == 0 && !f) {
    fprintf(stderr, "rlserve study: cannot write %s\n", path);
    rc = 2;
  }
  if (f) {
    /* runs_live: runs still training at that step; a run that ended (solved) before it counts
     * with its last values. */
    fprintf(f,
            "env_steps,runs_live,train_return_mean,train_return_ci_low,train_return_ci_high,"
            "eval_mean,eval_ci_low,eval_ci_high\n");
    for (int g = 0; g < GRID; g++) {
      double x = xmax * g / (GRID - 1);
      int live = 0, k;
      for (int r = 0; r < runs; r++) {
        int l;
        tv[r] = lrun_train_at(&rs[r], x, &l);
        ev[r] = lrun_eval_at(&rs[r], x);
        live += l;
      }
      gx[g] = x;
      mean_ci(tv, runs, 1, &gm[g], &gh[g], &k);
      mean_ci(ev, runs, 1, &em[g], &eh[g], &k);
      fprintf(f, "%.0f,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", x, live, gm[g], gm[g] - gh[g],
              gm[g] + gh[g], em[g], em[g] - eh[g], em[g] + eh[g]);
    }
    fclose(f);
    char title[1024], ylabel[256];
    snprintf(title, sizeof title, "%s (%s on %s), %d runs", o->preset, cfg->algo, cfg->env, runs);
    snprintf(ylabel, sizeof ylabel, "greedy eval return (mean of %d runs, 95%% interval)", runs);
    snprintf(path, sizeof path, "%s/curve.svg", out);
    write_band_svg(path, GRID, gx, em, eh, title, "env steps", ylabel);
    snprintf(ylabel, sizeof ylabel, "training return, last 100 episodes (mean of %d runs, 95%%)",
             runs);
    snprintf(path, sizeof path, "%s/curve-train.svg", out);
    write_band_svg(path, GRID, gx, gm, gh, title, "env steps", ylabel);
  }
  if (rc == 0) {
    double sm = NAN, slo = NAN, shi = NAN, wm = NAN, wlo = NAN, whi = NAN;
    median_range(steps, runs, &sm, &slo, &shi);
    median_range(wall, runs, &wm, &wlo, &whi);
    snprintf(path, sizeof path, "%s/study.json", out);
    f = fopen(path, "w");
    if (f) {
      fprintf(f,
              "{\"preset\": \"%s\", \"algo\": \"%s\", \"env\": \"%s\", \"runs\": %d, "
              "\"solved\": %d, \"workers\": %lld, \"jobs\": %d",
              o->preset, cfg->algo, cfg->env, runs, solved, (long long)cfg->workers, o->jobs);
      if (solved)
        fprintf(f,
                ", \"solve_env_steps_median\": %.0f, \"solve_env_steps_min\": %.0f, "
                "\"solve_env_steps_max\": %.0f, \"solve_wall_s_median\": %.1f, "
                "\"solve_wall_s_min\": %.1f, \"solve_wall_s_max\": %.1f",
                sm, slo, shi, wm, wlo, whi);
      fprintf(f, ", \"final_eval_mean\": %.6g, \"final_eval_ci95\": %.6g}\n", em[GRID - 1],
              isfinite(eh[GRID - 1]) ? eh[GRID - 1] : 0);
      fclose(f);
    }
    /* The README's table: one row for the study, then one per seed. */
    snprintf(path, sizeof path, "%s/table.md", out);
    f = fopen(path, "w");
    if (f) {
      fprintf(f,
              "| preset | runs (seeds) | solved | env steps to a confirmed solve: median (range) "
              "| wall s: median (range) |\n|---|---|---|---|---|\n");
      if (solved)
        fprintf(f, "| %s | %d (%lld-%lld) | %d/%d | %.0f (%.0f-%.0f) | %.1f (%.1f-%.1f) |\n",
                o->preset, runs, (long long)cfg->seed, (long long)cfg->seed + runs - 1, solved,
                runs, sm, slo, shi, wm, wlo, whi);
      else
        fprintf(f, "| %s | %d (%lld-%lld) | 0/%d | - | - |\n", o->preset, runs,
                (long long)cfg->seed, (long long)cfg->seed + runs - 1, runs);
      fprintf(
          f,
          "\n| seed | solved | env steps | wall s | confirmation mean |\n|---|---|---|---|---|\n");
      for (int r = 0; r < runs; r++) {
        char conf[32] = "-";
        if (isfinite(rs[r].confirm)) snprintf(conf, sizeof conf, "%.1f", rs[r].confirm);
        fprintf(f, "| %lld | %s | %.0f | %.1f | %s |\n", (long long)cfg->seed + r,
                rs[r].solved == 1 ? "yes" : "no", rs[r].env_steps, rs[r].wall, conf);
      }
      fclose(f);
    }
    printf("rlserve study: %s: %d/%d runs solved (confirmed)", o->preset, solved, runs);
    if (solved)
      printf("; env steps to solve median %.0f (%.0f-%.0f), wall s median %.1f (%.1f-%.1f)", sm,
             slo, shi, wm, wlo, whi);
    printf(
        "\nrlserve study: %s/curve.csv, %s/curve.svg, %s/curve-train.svg, %s/study.json, "
        "%s/table.md\n",
        out, out, out, out, out);
    rc = solved == runs ? 0 : 1;
  }
  for (int r = 0; r < runs; r++) free(rs[r].steps);
  free(rs);
  free(buf);
  return rc;
}

int study_main(int argc, char **argv) {
  study_opts_t o;
  int rc = parse_opts(argc, argv, &o);
  if (rc >= 0) return rc;
  config_t cfg;
  int learner = 0;
  if (resolve_config(&o, &cfg, &learner) != 0) return 2;
  /* A learner run is 1 + workers processes: by default as many side by side as the cores hold. */
  if (learner && !o.jobs_given) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.jobs = (int)(cores / (1 + cfg.workers));
    if (o.jobs < 1) o.jobs = 1;
  }
  char outbuf[512], err[1024];
  const char *out = o.out;
  if (!out) {
    snprintf(outbuf, sizeof outbuf, "study-%s", o.preset);
    out = outbuf;
  }
  if (rundir_mkdir(out, err, sizeof err)) {
    fprintf(stderr, "rlserve study: %s\n", err);
    return 2;
  }
  const long seed0 = (long)cfg.seed;
  printf("rlserve study: %s, %d runs (seeds %ld..%ld), %d at a time, into %s\n", o.preset, o.runs,
         seed0, seed0 + o.runs - 1, o.jobs, out);
  fflush(stdout);
  if (run_seeds(&o, &cfg, out, o.jobs, learner) != 0) return 2;
  return learner ? summarize_learner(&o, &cfg, out) : summarize(&o, &cfg, out);
}
