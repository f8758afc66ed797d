/* study: R seeds of an on-policy preset in parallel processes, mean curve with 95% interval
 * as CSV and SVG (study.h). */
#include "study.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "algo.h"
#include "config.h"
#include "onpolicy.h"
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
      "  runs seeds 1..R of an on-policy preset (gmc, td0, sarsa, qlearning, reinforce,\n"
      "  reinforce_baseline, actor_critic), J processes at a time, and writes DIR/curve.csv,\n"
      "  DIR/curve.svg and DIR/study.json (mean and 95%% interval over runs)\n");
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

static void write_svg(const char *path, const curve_t *c, int runs, int m, const char *title) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  const double W = 800, H = 480, L = 70, R = 20, T = 40, B = 50;
  double lo = INFINITY, hi = -INFINITY;
  double *mean = malloc((size_t)c->rows * 3 * sizeof *mean);
  if (!mean || c->rows < 1) {
    free(mean);
    fclose(f);
    return;
  }
  double *h = mean + c->rows, *ep = h + c->rows;
  for (long i = 0; i < c->rows; i++) {
    int k;
    mean_ci(c->val[m] + (size_t)i * (size_t)runs, runs, 1, &mean[i], &h[i], &k);
    if (!isfinite(h[i])) h[i] = 0.0;
    ep[i] = (double)c->episode[i];
    if (isfinite(mean[i])) {
      lo = fmin(lo, mean[i] - h[i]);
      hi = fmax(hi, mean[i] + h[i]);
    }
  }
  if (!(hi > lo)) hi = lo + 1.0;
  double x0 = ep[0], x1 = ep[c->rows - 1] > x0 ? ep[c->rows - 1] : x0 + 1;
#define SX(x) (L + ((x)-x0) / (x1 - x0) * (W - L - R))
#define SY(y) (T + (hi - (y)) / (hi - lo) * (H - T - B))
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
          "fill=\"white\"/>\n<text x=\"%g\" y=\"22\" font-size=\"15\">%s</text>\n",
          W, H, L, title);
  fprintf(f, "<polygon fill=\"#9ecae1\" fill-opacity=\"0.6\" stroke=\"none\" points=\"");
  for (long i = 0; i < c->rows; i++)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(ep[i]), SY(mean[i] + h[i]));
  for (long i = c->rows; i-- > 0;)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(ep[i]), SY(mean[i] - h[i]));
  fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"1.5\" points=\"");
  for (long i = 0; i < c->rows; i++)
    if (isfinite(mean[i])) fprintf(f, "%.1f,%.1f ", SX(ep[i]), SY(mean[i]));
  fprintf(f, "\"/>\n");
  fprintf(f,
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n"
          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n",
          L, H - B, W - R, H - B, L, T, L, H - B);
  for (int k = 0; k <= 4; k++) {
    double y = lo + (hi - lo) * k / 4, x = x0 + (x1 - x0) * k / 4;
    fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6, SY(y) + 4, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%.6g</text>\n", SX(x), H - B + 18,
            x);
  }
  fprintf(f,
          "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">episode</text>\n"
          "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">%s "
          "(mean of %d runs, 95%% interval)</text>\n</svg>\n",
          (L + W - R) / 2, H - 12, (T + H - B) / 2, (T + H - B) / 2, metric_key[m], runs);
#undef SX
#undef SY
  free(mean);
  fclose(f);
}

/* What the command line asked for. */
typedef struct study_opts {
  const char *preset, *out;
  int runs, jobs;
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
      o->jobs = atoi(v), i++;
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

/* The preset and the settings, validated, for an in-process algorithm. 0, or 2 after a
 * message. */
static int resolve_config(const study_opts_t *o, config_t *cfg) {
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
  if (algo->mode != ALGO_IN_PROCESS) {
    fprintf(stderr, "rlserve study: algo %s is not an on-policy algorithm (use rlserve run)\n",
            cfg->algo);
    return 2;
  }
  return 0;
}

/* Seeds seed0 .. seed0 + runs - 1, each an onpolicy_run in a child process into
 * out/run-SEED, jobs at a time. 0, or 2 after a message (a fork or a run failed). */
static int run_seeds(const config_t *cfg, const char *out, int runs, int jobs) {
  const long seed0 = (long)cfg->seed;
  int running = 0, failed = 0, next = 0, done = 0;
  while (done < runs) {
    while (running < jobs && next < runs) {
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
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 2) failed++;
    printf("rlserve study: %d/%d runs finished\n", done, runs);
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

int study_main(int argc, char **argv) {
  study_opts_t o;
  int rc = parse_opts(argc, argv, &o);
  if (rc >= 0) return rc;
  config_t cfg;
  if (resolve_config(&o, &cfg) != 0) return 2;
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
  if (run_seeds(&cfg, out, o.runs, o.jobs) != 0) return 2;
  return summarize(&o, &cfg, out);
}
