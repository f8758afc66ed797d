/* report: metrics.jsonl + summary.json -> one HTML page with inline SVG charts (report.h). */
#define _GNU_SOURCE /* getline */
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define REPORT_MAX_POINTS 2000        /* per series in a chart; longer runs are thinned by stride */
#define REPORT_MAX_SUMMARY (1u << 20) /* summary.json is a few hundred bytes; refuse runaway */
#define REPORT_MAX_LINE (1u << 20)    /* a metrics line is ~300 bytes */

/* Chart geometry in SVG user units (the SVG scales to the page width). */
#define CH_W 760.0
#define CH_H 280.0
#define CH_L 64.0 /* left margin: y tick labels */
#define CH_R 16.0
#define CH_T 26.0 /* top margin: legend */
#define CH_B 40.0 /* bottom margin: x tick labels and axis title */

/* One metrics.jsonl line; NAN where the value is null or absent. */
typedef struct {
  double t, env_steps, env_steps_per_s, updates, updates_per_s, replay_size, loss, mean_q,
      train_return_mean100, eval_mean, eval_std, eval_env_steps, workers, episodes;
} report_row_t;

typedef struct {
  report_row_t *rows;
  size_t n, cap;
} report_rows_t;

/* ---- a growable text buffer; an allocation failure sticks and is reported once at the end */

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} sbuf_t;

static void sb_reserve(sbuf_t *b, size_t more) {
  if (b->oom || b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return;
  }
  b->p = p;
  b->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->oom = 1;
    return;
  }
  sb_reserve(b, (size_t)n);
  if (b->oom) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void sb_puts(sbuf_t *b, const char *s) { sb_printf(b, "%s", s); }

/* Text for HTML element content or a quoted attribute. */
static void sb_esc(sbuf_t *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<':
        sb_puts(b, "&lt;");
        break;
      case '>':
        sb_puts(b, "&gt;");
        break;
      case '&':
        sb_puts(b, "&amp;");
        break;
      case '"':
        sb_puts(b, "&quot;");
        break;
      default:
        sb_printf(b, "%c", *s);
    }
  }
}

/* ---- reading ---- */

static double num_field(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static int rows_push(report_rows_t *r, const report_row_t *row) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    report_row_t *p = realloc(r->rows, cap * sizeof *p);
    if (!p) return -ENOMEM;
    r->rows = p;
    r->cap = cap;
  }
  r->rows[r->n++] = *row;
  return 0;
}

static int read_metrics(const char *path, report_rows_t *out, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "cannot open metrics %s: %s", path, strerror(e));
    return -e;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned long lineno = 0;
  int rc = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    int terminated = len > 0 && line[len - 1] == '\n';
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    size_t skip = strspn(line, " \t");
    if ((size_t)len == skip) continue; /* blank */
    if ((size_t)len > REPORT_MAX_LINE) {
      snprintf(err, errlen, "%s:%lu: line of %zd bytes exceeds limit %u", path, lineno, len,
               REPORT_MAX_LINE);
      rc = -EINVAL;
      break;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, (size_t)len, &end, 0);
    if (!cJSON_IsObject(o)) {
      long col = o ? 1 : (end && end >= line && end <= line + len ? (long)(end - line) + 1 : 0);
      cJSON_Delete(o);
      if (!terminated) { /* the last line, cut short: a learner killed while writing it */
        LOG_W("report", "%s:%lu: incomplete last line (no newline, not JSON) skipped", path,
              lineno);
        break;
      }
      if (o)
        snprintf(err, errlen, "%s:%lu: not a JSON object", path, lineno);
      else
        snprintf(err, errlen, "%s:%lu: malformed JSON near column %ld", path, lineno, col);
      rc = -EINVAL;
      break;
    }
    report_row_t r = {
        .t = num_field(o, "t"),
        .env_steps = num_field(o, "env_steps"),
        .env_steps_per_s = num_field(o, "env_steps_per_s"),
        .updates = num_field(o, "updates"),
        .updates_per_s = num_field(o, "updates_per_s"),
        .replay_size = num_field(o, "replay_size"),
        .loss = num_field(o, "loss"),
        .mean_q = num_field(o, "mean_q"),
        .train_return_mean100 = num_field(o, "train_return_mean100"),
        .eval_mean = num_field(o, "eval_mean"),
        .eval_std = num_field(o, "eval_std"),
        .eval_env_steps = num_field(o, "eval_env_steps"),
        .workers = num_field(o, "workers"),
        .episodes = num_field(o, "episodes"),
    };
    cJSON_Delete(o);
    if ((rc = rows_push(out, &r)) != 0) {
      snprintf(err, errlen, "%s: out of memory at line %lu", path, lineno);
      break;
    }
  }
  if (rc == 0 && ferror(f)) {
    int e = errno;
    snprintf(err, errlen, "cannot read metrics %s: %s", path, strerror(e));
    rc = e ? -e : -EIO;
  }
  free(line);
  fclose(f);
  return rc;
}

static int read_summary(const char *path, cJSON **out, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "cannot open summary %s: %s", path, strerror(e));
    return -e;
  }
  char *buf = malloc(REPORT_MAX_SUMMARY + 1);
  if (!buf) {
    fclose(f);
    snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  size_t n = fread(buf, 1, REPORT_MAX_SUMMARY + 1, f);
  int rd_err = ferror(f) ? errno : 0;
  fclose(f);
  int rc = 0;
  if (rd_err) {
    snprintf(err, errlen, "cannot read summary %s: %s", path, strerror(rd_err));
    rc = -rd_err;
  } else if (n > REPORT_MAX_SUMMARY) {
    snprintf(err, errlen, "summary %s exceeds %u bytes", path, REPORT_MAX_SUMMARY);
    rc = -EINVAL;
  } else {
    *out = cJSON_ParseWithLength(buf, n);
    if (!cJSON_IsObject(*out)) {
      cJSON_Delete(*out);
      *out = NULL;
      snprintf(err, errlen, "summary %s: not a JSON object", path);
      rc = -EINVAL;
    }
  }
  free(buf);
  return rc;
}

/* ---- numbers ---- */

/* Short human form for axis labels: 12.5k, 3M, 0.25. */
static void fmt_short(char *s, size_t n, double v) {
  double a = fabs(v);
  if (a >= 1e9)
    snprintf(s, n, "%.4gG", v / 1e9);
  else if (a >= 1e6)
    snprintf(s, n, "%.4gM", v / 1e6);
  else if (a >= 1e4)
    snprintf(s, n, "%.4gk", v / 1e3);
  else if (a < 1e-12)
    snprintf(s, n, "0");
  else
    snprintf(s, n, "%.4g", v);
}

/* A "nice" number near x (1, 2, 5 times a power of ten); rounded or the next above. */
static double nice_num(double x, int round) {
  double e = floor(log10(x)), f = x / pow(10, e), nf;
  if (round)
    nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * pow(10, e);
}

/* Axis bounds widened to nice tick positions; *step is the tick spacing. */
static void nice_axis(double *lo, double *hi, double *step) {
  if (!(*hi > *lo)) {
    double pad = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
    *lo -= pad;
    *hi += pad;
  }
  *step = nice_num(nice_num(*hi - *lo, 0) / 4, 1);
  *lo = floor(*lo / *step) * *step;
  *hi = ceil(*hi / *step) * *step;
}

/* ---- charts ---- */

typedef struct {
  const char *name, *color;
  const double *x, *y;             /* n points; a NAN y is a gap */
  const double *band_lo, *band_hi; /* optional shaded band around y */
  size_t n;
  int dots; /* mark every point (sparse series such as evaluations) */
} series_t;

typedef struct {
  const char *title, *ylabel;
  int logy;     /* log10 y axis; non-positive values are gaps */
  double hline; /* a dashed reference line (NAN: none) */
  const char *hline_label;
} chart_opts_t;

typedef struct {
  double x0, x1, y0, y1;
  int logy;
} frame_t;

static double fx(const frame_t *fr, double x) {
  return CH_L + (x - fr->x0) / (fr->x1 - fr->x0) * (CH_W - CH_L - CH_R);
}
static double fy(const frame_t *fr, double y) {
  double v = fr->logy ? log10(y) : y;
  return CH_T + (1 - (v - fr->y0) / (fr->y1 - fr->y0)) * (CH_H - CH_T - CH_B);
}
static int usable(const frame_t *fr, double x, double y) {
  return isfinite(x) && isfinite(y) && (!fr->logy || y > 0);
}

/* The indices a series draws: all of them, or every k-th and the last when there are more
 * than REPORT_MAX_POINTS. */
static size_t stride_of(size_t n) {
  return n > REPORT_MAX_POINTS ? (n + REPORT_MAX_POINTS - 1) / REPORT_MAX_POINTS : 1;
}
static int drawn(size_t i, size_t n, size_t stride) { return i % stride == 0 || i + 1 == n; }

static void draw_series(sbuf_t *b, const frame_t *fr, const series_t *s) {
  size_t stride = stride_of(s->n);
  if (s->band_lo && s->band_hi) { /* closed polygon: upper edge forward, lower edge back */
    int any = 0;
    for (size_t i = 0; i < s->n; i++) {
      if (!drawn(i, s->n, stride) || !usable(fr, s->x[i], s->band_lo[i]) ||
          !usable(fr, s->x[i], s->band_hi[i]))
        continue;
      if (!any)
        sb_printf(b, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"",
                  s->color);
      sb_printf(b, "%s%.1f,%.1f", any ? " " : "", fx(fr, s->x[i]), fy(fr, s->band_hi[i]));
      any = 1;
    }
    for (size_t i = s->n; any && i-- > 0;) {
      if (!drawn(i, s->n, stride) || !usable(fr, s->x[i], s->band_lo[i]) ||
          !usable(fr, s->x[i], s->band_hi[i]))
        continue;
      sb_printf(b, " %.1f,%.1f", fx(fr, s->x[i]), fy(fr, s->band_lo[i]));
    }
    if (any) sb_puts(b, "\"/>\n");
  }
  /* One polyline per run of usable points; a gap (null) ends the run. */
  size_t run = 0;
  double lx = 0, ly = 0;
  for (size_t i = 0; i <= s->n; i++) {
    int ok = i < s->n && usable(fr, s->x[i], s->y[i]);
    if (i < s->n && !drawn(i, s->n, stride) && ok) continue;
    if (ok) {
      if (run == 0)
        sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                  s->color);
      lx = fx(fr, s->x[i]);
      ly = fy(fr, s->y[i]);
      sb_printf(b, "%s%.1f,%.1f", run ? " " : "", lx, ly);
      run++;
    } else if (run) {
      sb_puts(b, "\"/>\n");
      /* A lone point draws no line: mark it. */
      if (run == 1)
        sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", lx, ly, s->color);
      run = 0;
    }
  }
  if (s->dots) {
    for (size_t i = 0; i < s->n; i++)
      if (drawn(i, s->n, stride) && usable(fr, s->x[i], s->y[i]))
        sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", fx(fr, s->x[i]),
                  fy(fr, s->y[i]), s->color);
  }
}

static void chart(sbuf_t *b, const chart_opts_t *o, const series_t *ser, int nser) {
  frame_t fr = {INFINITY, -INFINITY, INFINITY, -INFINITY, o->logy};
  size_t points = 0;
  for (int k = 0; k < nser; k++) {
    const series_t *s = &ser[k];
    for (size_t i = 0; i < s->n; i++) {
      const double ys[3] = {s->y[i], s->band_lo ? s->band_lo[i] : NAN,
                            s->band_hi ? s->band_hi[i] : NAN};
      for (int j = 0; j < 3; j++) {
        if (!usable(&fr, s->x[i], ys[j])) continue;
        double v = o->logy ? log10(ys[j]) : ys[j];
        fr.x0 = fmin(fr.x0, s->x[i]);
        fr.x1 = fmax(fr.x1, s->x[i]);
        fr.y0 = fmin(fr.y0, v);
        fr.y1 = fmax(fr.y1, v);
        points += j == 0;
      }
    }
  }
  if (points && isfinite(o->hline) && (!o->logy || o->hline > 0)) {
    double v = o->logy ? log10(o->hline) : o->hline;
    fr.y0 = fmin(fr.y0, v);
    fr.y1 = fmax(fr.y1, v);
  }
  sb_puts(b, "<section class=\"chart\"><h2>");
  sb_esc(b, o->title);
  sb_printf(b,
            "</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" aria-label=\"",
            CH_W, CH_H);
  sb_esc(b, o->title);
  sb_puts(b, "\">\n");
  sb_printf(b,
            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\" "
            "stroke=\"#ccc\"/>\n",
            CH_L, CH_T, CH_W - CH_L - CH_R, CH_H - CH_T - CH_B);
  /* Legend across the top. */
  double lx = CH_L;
  for (int k = 0; k < nser; k++) {
    sb_printf(b,
              "<line x1=\"%.0f\" y1=\"12\" x2=\"%.0f\" y2=\"12\" stroke=\"%s\" stroke-width=\"3\"/>"
              "<text x=\"%.0f\" y=\"16\">",
              lx, lx + 18, ser[k].color, lx + 22);
    sb_esc(b, ser[k].name);
    sb_puts(b, "</text>\n");
    lx += 22 + 7.0 * (double)strlen(ser[k].name) + 20;
  }
  if (!points) {
    sb_printf(b,
              "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" class=\"nodata\">no data</text>\n"
              "</svg></section>\n",
              (CH_L + CH_W - CH_R) / 2, (CH_T + CH_H - CH_B) / 2);
    return;
  }
  double xstep, ystep;
  nice_axis(&fr.x0, &fr.x1, &xstep);
  if (o->logy) { /* whole decades */
    fr.y0 = floor(fr.y0);
    fr.y1 = ceil(fr.y1);
    if (fr.y1 <= fr.y0) fr.y1 = fr.y0 + 1;
    ystep = fr.y1 - fr.y0 > 8 ? 2 : 1;
  } else {
    nice_axis(&fr.y0, &fr.y1, &ystep);
  }
  char lab[32];
  /* Grid and tick labels; the loop bound has half a step of slack for rounding. */
  for (double v = fr.y0; v <= fr.y1 + ystep / 2; v += ystep) {
    double py = CH_T + (1 - (v - fr.y0) / (fr.y1 - fr.y0)) * (CH_H - CH_T - CH_B);
    fmt_short(lab, sizeof lab, o->logy ? pow(10, v) : v);
    sb_printf(b,
              "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#eee\"/>"
              "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
              CH_L, py, CH_W - CH_R, py, CH_L - 4, py + 4, lab);
  }
  for (double v = fr.x0; v <= fr.x1 + xstep / 2; v += xstep) {
    double px = fx(&fr, v);
    fmt_short(lab, sizeof lab, v);
    sb_printf(b,
              "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#eee\"/>"
              "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
              px, CH_T, px, CH_H - CH_B, px, CH_H - CH_B + 14, lab);
  }
  sb_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">env steps</text>\n",
            (CH_L + CH_W - CH_R) / 2, CH_H - 6);
  sb_printf(b, "<text transform=\"translate(12 %.0f) rotate(-90)\" text-anchor=\"middle\">",
            (CH_T + CH_H - CH_B) / 2);
  sb_esc(b, o->ylabel);
  sb_puts(b, o->logy ? " (log)</text>\n" : "</text>\n");
  if (isfinite(o->hline) && (!o->logy || o->hline > 0)) {
    double py = fy(&fr, o->hline);
    sb_printf(b,
              "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#888\" "
              "stroke-dasharray=\"5 4\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">",
              CH_L, py, CH_W - CH_R, py, CH_W - CH_R - 4, py - 4);
    sb_esc(b, o->hline_label ? o->hline_label : "");
    sb_puts(b, "</text>\n");
  }
  for (int k = 0; k < nser; k++) draw_series(b, &fr, &ser[k]);
  sb_puts(b, "</svg></section>\n");
}

/* ---- the page ---- */

static void summary_row(sbuf_t *b, const char *name, const char *value) {
  sb_puts(b, "<tr><th>");
  sb_esc(b, name);
  sb_puts(b, "</th><td>");
  sb_esc(b, value);
  sb_puts(b, "</td></tr>\n");
}

/* A row for summary.json's numeric field key, formatted with fmt (one double), if present. */
static void number_row(sbuf_t *b, const cJSON *s, const char *key, const char *fmt,
                       const char *name) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
  if (!cJSON_IsNumber(x)) return;
  char v[64];
  snprintf(v, sizeof v, fmt, x->valuedouble);
  summary_row(b, name, v);
}

static void summary_table(sbuf_t *b, const cJSON *s) {
  char v[160];
  const cJSON *x;
  sb_puts(b, "<table class=\"summary\">\n");
  if (cJSON_IsBool(x = cJSON_GetObjectItemCaseSensitive(s, "solved")))
    summary_row(b, "solved", cJSON_IsTrue(x) ? "yes" : "no");
  if (cJSON_IsBool(x = cJSON_GetObjectItemCaseSensitive(s, "interrupted")) && cJSON_IsTrue(x))
    summary_row(b, "interrupted", "yes");
  if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(s, "env_steps"))) {
    const cJSON *solved = cJSON_GetObjectItemCaseSensitive(s, "solved");
    snprintf(v, sizeof v, "%.0f", x->valuedouble);
    summary_row(b, cJSON_IsTrue(solved) ? "env steps to solve" : "env steps", v);
  }
  number_row(b, s, "env_steps_total", "%.0f", "env steps (total)");
  number_row(b, s, "updates", "%.0f", "updates");
  number_row(b, s, "wall_seconds", "%.1f s", "wall time");
  x = cJSON_GetObjectItemCaseSensitive(s, "eval_mean");
  if (x) {
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(s, "eval_std");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(s, "eval_episodes");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(s, "eval_env_steps");
    if (!cJSON_IsNumber(x)) {
      snprintf(v, sizeof v, "none");
    } else {
      int n = snprintf(v, sizeof v, "%.2f", x->valuedouble);
      if (cJSON_IsNumber(sd))
        n += snprintf(v + n, sizeof v - (size_t)n, " \u00b1 %.2f", sd->valuedouble);
      if (cJSON_IsNumber(ep))
        n += snprintf(v + n, sizeof v - (size_t)n, " (%.0f episodes", ep->valuedouble);
      if (cJSON_IsNumber(ep) && cJSON_IsNumber(at))
        n += snprintf(v + n, sizeof v - (size_t)n, " at %.0f env steps", at->valuedouble);
      if (cJSON_IsNumber(ep)) snprintf(v + n, sizeof v - (size_t)n, ")");
    }
    summary_row(b, "greedy eval mean \u00b1 std", v);
  }
  const cJSON *cm = cJSON_GetObjectItemCaseSensitive(s, "confirm_mean");
  if (cJSON_IsNumber(cm)) { /* the confirmation on fresh seeds that decides "solved" */
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(s, "confirm_std");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(s, "confirm_episodes");
    snprintf(v, sizeof v, "%.2f \u00b1 %.2f (%.0f episodes)", cm->valuedouble,
             cJSON_IsNumber(sd) ? sd->valuedouble : NAN,
             cJSON_IsNumber(ep) ? ep->valuedouble : NAN);
    summary_row(b, "confirmation mean \u00b1 std", v);
  }
  number_row(b, s, "threshold", "%g", "solve threshold");
  number_row(b, s, "episodes", "%.0f", "training episodes");
  static const char *const strings[] = {"env", "algo", "preset"};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (cJSON_IsString(x = cJSON_GetObjectItemCaseSensitive(s, strings[i])) && x->valuestring[0])
      summary_row(b, strings[i], x->valuestring);
  if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(s, "seed"))) {
    snprintf(v, sizeof v, "%.0f", x->valuedouble);
    summary_row(b, "seed", v);
  }
  sb_puts(b, "</table>\n");
}

/* Column views of the rows, and the evaluations once each (a metrics line repeats the latest
 * evaluation until the next one); one allocation, col. */
typedef struct {
  double *col;
  double *x, *train, *loss, *sps, *ups; /* n values each */
  double *ex, *em, *elo, *ehi;          /* ne values each */
  size_t n, ne;
} columns_t;

static int columns_init(columns_t *c, const report_rows_t *r) {
  size_t n = r->n;
  double *col = malloc(sizeof(double) * (n ? n : 1) * 11);
  if (!col) return -ENOMEM;
  *c = (columns_t){.col = col,
                   .x = col,
                   .train = col + n,
                   .loss = col + 2 * n,
                   .sps = col + 3 * n,
                   .ups = col + 4 * n,
                   .ex = col + 5 * n,
                   .em = col + 6 * n,
                   .elo = col + 7 * n,
                   .ehi = col + 8 * n,
                   .n = n};
  double last_eval_at = NAN;
  for (size_t i = 0; i < n; i++) {
    const report_row_t *w = &r->rows[i];
    c->x[i] = w->env_steps;
    c->train[i] = w->train_return_mean100;
    c->loss[i] = w->loss;
    c->sps[i] = w->env_steps_per_s;
    c->ups[i] = w->updates_per_s;
    if (isfinite(w->eval_mean) && isfinite(w->eval_env_steps) &&
        w->eval_env_steps != last_eval_at) {
      c->ex[c->ne] = w->eval_env_steps;
      c->em[c->ne] = w->eval_mean;
      c->elo[c->ne] = isfinite(w->eval_std) ? w->eval_mean - w->eval_std : NAN;
      c->ehi[c->ne] = isfinite(w->eval_std) ? w->eval_mean + w->eval_std : NAN;
      last_eval_at = w->eval_env_steps;
      c->ne++;
    }
  }
  return 0;
}

/* From the doctype to the opening of the source line, the page title naming env if known. */
static void page_head(sbuf_t *b, const char *env) {
  sb_puts(b,
          "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">\n<title>rlserve run report");
  if (env) {
    sb_puts(b, " \u2014 ");
    sb_esc(b, env);
  }
  sb_puts(b,
          "</title>\n<style>\n"
          "body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 12px 18px; "
          "max-width: 820px; background: #fafafa; color: #222; }\n"
          "h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 0 0 4px; color: "
          "#444; }\n"
          ".tables { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }\n"
          ".src { color: #666; font-size: 12px; margin-bottom: 12px; }\n"
          "table { border-collapse: collapse; background: #fff; margin-bottom: 14px; "
          "font-variant-numeric: tabular-nums; }\n"
          "th, td { border: 1px solid #e2e2e2; padding: 3px 10px; text-align: left; }\n"
          "th { background: #f0f0f0; font-weight: 600; }\n"
          ".chart { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px; "
          "margin-bottom: 12px; }\n"
          "svg { width: 100%; height: auto; display: block; font: 11px system-ui, sans-serif; "
          "fill: #555; }\n"
          "svg text { fill: #555; } svg .nodata { fill: #999; font-size: 14px; }\n"
          "</style>\n</head>\n<body>\n<h1>rlserve run report</h1>\n<div class=\"src\">");
}

/* Where the run stood at its last progress line, w. */
static void last_table(sbuf_t *b, const report_row_t *w) {
  char v[64];
  sb_puts(b, "<table class=\"last\">\n<tr><th>at the last progress line</th><th></th></tr>\n");
#define LAST(name, val, f)         \
  if (isfinite(val)) {             \
    snprintf(v, sizeof v, f, val); \
    summary_row(b, name, v);       \
  }
  LAST("time", w->t, "%.1f s");
  LAST("env steps", w->env_steps, "%.0f");
  LAST("updates", w->updates, "%.0f");
  LAST("episodes", w->episodes, "%.0f");
  LAST("replay size", w->replay_size, "%.0f");
  LAST("training return (100)", w->train_return_mean100, "%.2f");
  LAST("loss", w->loss, "%.4g");
  LAST("mean Q", w->mean_q, "%.4g");
  LAST("workers", w->workers, "%.0f");
#undef LAST
  sb_puts(b, "</table>\n");
}

static void return_chart(sbuf_t *b, const columns_t *c, double threshold) {
  const series_t ret[2] = {
      {.name = "training return (mean of last 100)",
       .color = "#1f77b4",
       .x = c->x,
       .y = c->train,
       .n = c->n},
      {.name = "greedy eval mean \u00b1 std",
       .color = "#2ca02c",
       .x = c->ex,
       .y = c->em,
       .band_lo = c->elo,
       .band_hi = c->ehi,
       .n = c->ne,
       .dots = 1},
  };
  const chart_opts_t ret_o = {.title = "Return vs env steps",
                              .ylabel = "return",
                              .hline = threshold,
                              .hline_label = "solve threshold"};
  chart(b, &ret_o, ret, 2);
}

static void loss_chart(sbuf_t *b, const columns_t *c) {
  /* Log scale only when every loss is positive (a zero or negative loss would be a gap). */
  int logy = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (!isfinite(c->loss[i])) continue;
    if (c->loss[i] <= 0) {
      logy = 0;
      break;
    }
    logy = 1;
  }
  const series_t lo[1] = {{.name = "loss", .color = "#d62728", .x = c->x, .y = c->loss, .n = c->n}};
  const chart_opts_t lo_o = {
      .title = "Loss vs env steps", .ylabel = "loss", .logy = logy, .hline = NAN};
  chart(b, &lo_o, lo, 1);
}

static void throughput_chart(sbuf_t *b, const columns_t *c) {
  const series_t th[2] = {
      {.name = "env steps/s", .color = "#9467bd", .x = c->x, .y = c->sps, .n = c->n},
      {.name = "updates/s", .color = "#ff7f0e", .x = c->x, .y = c->ups, .n = c->n},
  };
  const chart_opts_t th_o = {
      .title = "Throughput vs env steps", .ylabel = "per second", .hline = NAN};
  chart(b, &th_o, th, 2);
}

static void render(sbuf_t *b, const report_rows_t *r, const cJSON *summary, const char *mpath) {
  columns_t c;
  if (columns_init(&c, r) != 0) {
    b->oom = 1;
    return;
  }
  const cJSON *j;
  const char *env = summary && cJSON_IsString(j = cJSON_GetObjectItemCaseSensitive(summary, "env"))
                        ? j->valuestring
                        : NULL;
  double threshold =
      summary && cJSON_IsNumber(j = cJSON_GetObjectItemCaseSensitive(summary, "threshold"))
          ? j->valuedouble
          : NAN;
  page_head(b, env);
  sb_esc(b, mpath);
  sb_printf(b, ": %zu progress lines, %zu evaluations</div>\n", c.n, c.ne);
  sb_puts(b, "<div class=\"tables\">\n");
  if (summary) summary_table(b, summary);
  if (c.n) last_table(b, &r->rows[c.n - 1]);
  sb_puts(b, "</div>\n");
  return_chart(b, &c, threshold);
  loss_chart(b, &c);
  throughput_chart(b, &c);
  sb_puts(b, "</body>\n</html>\n");
  free(c.col);
}

static int write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen) {
  size_t plen = strlen(path) + 32;
  char *tmp = malloc(plen);
  if (!tmp) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  int rc = 0;
  if (!f) {
    rc = -errno;
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(-rc));
  } else {
    int ok = fwrite(text, 1, len, f) == len;
    int e = ok ? 0 : errno;
    if (fclose(f) != 0 && ok) {
      ok = 0;
      e = errno;
    }
    if (!ok) {
      rc = e ? -e : -EIO;
      snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e ? e : EIO));
    } else if (rename(tmp, path) != 0) {
      rc = -errno;
      snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(-rc));
    }
    if (rc) unlink(tmp);
  }
  free(tmp);
  return rc;
}

int report_write(const char *metrics_jsonl_path, const char *summary_json_path_or_NULL,
                 const char *out_html_path, char *err, size_t errlen) {
  report_rows_t rows = {0};
  cJSON *summary = NULL;
  sbuf_t b = {0};
  int rc = read_metrics(metrics_jsonl_path, &rows, err, errlen);
  if (rc == 0 && summary_json_path_or_NULL)
    rc = read_summary(summary_json_path_or_NULL, &summary, err, errlen);
  if (rc == 0) {
    render(&b, &rows, summary, metrics_jsonl_path);
    if (b.oom) {
      snprintf(err, errlen, "report %s: out of memory", out_html_path);
      rc = -ENOMEM;
    } else {
      rc = write_atomic(out_html_path, b.p, b.len, err, errlen);
    }
  }
  free(b.p);
  cJSON_Delete(summary);
  free(rows.rows);
  return rc;
}
