/* test_report: report_write on a small metrics.jsonl with nulls and a summary.json: the page
 * has one SVG per chart, each with a polyline whose points lie inside the plot, the summary's
 * numbers, gaps where values are null; a malformed line is an error naming the file and line;
 * an unterminated last line (a learner killed mid-write) is skipped; a missing file is an
 * error naming its path; the output is written atomically (no temporary file left). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "report.h"

static char dir[] = "/tmp/test_report_XXXXXX";

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void write_file(const char *name, const char *text) {
  char p[256];
  path_in(p, sizeof p, name);
  FILE *f = fopen(p, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s: %s\n", p, strerror(errno));
    exit(2);
  }
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0, n;
  char *s = malloc(cap);
  while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (len + 1 == cap) s = realloc(s, cap *= 2);
  }
  fclose(f);
  if (s) s[len] = '\0';
  return s;
}

static int count(const char *hay, const char *needle) {
  int c = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) c++;
  return c;
}

/* The text between the n-th "<svg" and its "</svg>" (malloc'd), or NULL. */
static char *svg_n(const char *html, int n) {
  const char *p = html;
  for (int i = 0; i <= n; i++) {
    p = strstr(p, "<svg");
    if (!p) return NULL;
    if (i < n) p += 4;
  }
  const char *e = strstr(p, "</svg>");
  if (!e) return NULL;
  return strndup(p, (size_t)(e - p));
}

/* Checks every polyline in an SVG: at least min_points x,y pairs in all, each inside the
 * 760x280 view box. Returns the number of pairs. */
static int check_polylines(const char *svg, const char *what) {
  int pairs = 0;
  for (const char *p = svg; (p = strstr(p, "<polyline"));) {
    const char *pts = strstr(p, "points=\"");
    CHECK(pts != NULL, "%s: polyline without points", what);
    if (!pts) break;
    pts += 8;
    const char *end = strchr(pts, '"');
    while (pts < end) {
      double x, y;
      int used = 0;
      if (sscanf(pts, "%lf,%lf%n", &x, &y, &used) != 2) {
        CHECK(0, "%s: bad point near \"%.20s\"", what, pts);
        break;
      }
      CHECK(x >= 0 && x <= 760 && y >= 0 && y <= 280, "%s: point %g,%g outside the chart", what, x,
            y);
      pairs++;
      pts += used;
      while (*pts == ' ') pts++;
    }
    p = end;
  }
  return pairs;
}

static int no_tmp_left(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp")) found = 1;
  if (d) closedir(d);
  return !found;
}

/* Six progress lines: training return and eval null at first, loss null once (a gap), one
 * evaluation repeated on three lines (charted once), a second one later. */
static const char *metrics =
    "{\"t\":0.5,\"env_steps\":1000,\"env_steps_per_s\":2000.0,\"updates\":0,\"updates_per_s\":0.0,"
    "\"replay_size\":1000,\"loss\":null,\"mean_q\":0,\"train_return_mean100\":null,\"eval_mean\":"
    "null,"
    "\"eval_std\":null,\"eval_env_steps\":0,\"workers\":2,\"episodes\":40}\n"
    "{\"t\":1.0,\"env_steps\":2000,\"env_steps_per_s\":2100.0,\"updates\":400,\"updates_per_s\":"
    "800.0,"
    "\"replay_size\":2000,\"loss\":0.5,\"mean_q\":1.2,\"train_return_mean100\":20.5,\"eval_mean\":"
    "null,"
    "\"eval_std\":null,\"eval_env_steps\":0,\"workers\":2,\"episodes\":90}\n"
    "\n"
    "{\"t\":1.5,\"env_steps\":3000,\"env_steps_per_s\":2050.0,\"updates\":900,\"updates_per_s\":"
    "1000.0,"
    "\"replay_size\":3000,\"loss\":0.25,\"mean_q\":2.5,\"train_return_mean100\":30.25,\"eval_"
    "mean\":55.5,"
    "\"eval_std\":5.5,\"eval_env_steps\":2500,\"workers\":2,\"episodes\":120}\n"
    "{\"t\":2.0,\"env_steps\":4000,\"env_steps_per_s\":1990.0,\"updates\":1400,\"updates_per_s\":"
    "1000.0,"
    "\"replay_size\":4000,\"loss\":null,\"mean_q\":3.5,\"train_return_mean100\":41.0,\"eval_mean\":"
    "55.5,"
    "\"eval_std\":5.5,\"eval_env_steps\":2500,\"workers\":2,\"episodes\":140}\n"
    "{\"t\":2.5,\"env_steps\":5000,\"env_steps_per_s\":2010.0,\"updates\":1900,\"updates_per_s\":"
    "990.0,"
    "\"replay_size\":5000,\"loss\":0.125,\"mean_q\":4.5,\"train_return_mean100\":80.0,\"eval_"
    "mean\":55.5,"
    "\"eval_std\":5.5,\"eval_env_steps\":2500,\"workers\":1,\"episodes\":150}\n"
    "{\"t\":3.0,\"env_steps\":6000,\"env_steps_per_s\":2020.0,\"updates\":2400,\"updates_per_s\":"
    "995.0,"
    "\"replay_size\":6000,\"loss\":0.0625,\"mean_q\":5.5,\"train_return_mean100\":150.0,"
    "\"eval_mean\":487.25,\"eval_std\":12.75,\"eval_env_steps\":5800,\"workers\":2,\"episodes\":"
    "160}\n";

static const char *summary =
    "{\"solved\":true,\"env_steps\":5800,\"env_steps_total\":6000,\"updates\":2400,"
    "\"wall_seconds\":3.14159,\"eval_mean\":487.25,\"eval_std\":12.75,\"eval_episodes\":100,"
    "\"eval_env_steps\":5800,\"threshold\":475,\"env\":\"CartPole-v1\",\"algo\":\"dqn\","
    "\"preset\":\"cartpole-<dqn>\",\"seed\":7,\"episodes\":160,\"interrupted\":false}\n";

static void test_report(void) {
  char m[256], s[256], out[256], err[512] = "";
  write_file("metrics.jsonl", metrics);
  write_file("summary.json", summary);
  path_in(m, sizeof m, "metrics.jsonl");
  path_in(s, sizeof s, "summary.json");
  path_in(out, sizeof out, "report.html");
  int rc = report_write(m, s, out, err, sizeof err);
  CHECK(rc == 0, "report_write returned %d: %s", rc, err);
  char *html = read_all(out);
  CHECK(html != NULL, "no report at %s", out);
  if (!html) return;
  CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0, "page starts \"%.20s\"", html);
  CHECK(strstr(html, "</html>") != NULL, "page not closed");
  CHECK(count(html, "<svg") == 3, "%d <svg> elements, expected 3", count(html, "<svg"));
  CHECK(strstr(html, "<script") == NULL, "page has a script");
  CHECK(strstr(html, "http://") == NULL || count(html, "http://") == count(html, "xmlns=\"http://"),
        "page refers to something external");
  /* Summary numbers. */
  const char *want[] = {
      "5800",   "6000", "3.1 s", "487.25", "12.75", "CartPole-v1", "cartpole-&lt;dqn&gt;",
      "solved", "475"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    CHECK(strstr(html, want[i]) != NULL, "summary value \"%s\" not in the page", want[i]);
  CHECK(strstr(html, "cartpole-<dqn>") == NULL, "summary text not escaped");

  /* Return chart: training return has 5 points (the first is null); eval has 2 evaluations
   * (2500 repeated three times counts once), one polyline; a band polygon. */
  char *ret = svg_n(html, 0), *loss = svg_n(html, 1), *thr = svg_n(html, 2);
  CHECK(ret && loss && thr, "charts missing");
  if (ret && loss && thr) {
    CHECK(count(ret, "<polyline") == 2, "return chart: %d polylines, expected 2",
          count(ret, "<polyline"));
    int p = check_polylines(ret, "return chart");
    CHECK(p == 5 + 2, "return chart: %d points, expected 7", p);
    CHECK(strstr(ret, "<polygon") != NULL, "return chart: no eval std band");
    CHECK(strstr(ret, "solve threshold") != NULL, "return chart: no threshold line");
    /* Loss: null at lines 1 and 4 -> two runs: [2000,3000] and [5000,6000]. */
    CHECK(count(loss, "<polyline") == 2, "loss chart: %d polylines, expected 2 (one gap)",
          count(loss, "<polyline"));
    p = check_polylines(loss, "loss chart");
    CHECK(p == 4, "loss chart: %d points, expected 4", p);
    CHECK(strstr(loss, "(log)") != NULL, "loss chart not on a log scale");
    CHECK(count(thr, "<polyline") == 2, "throughput chart: %d polylines, expected 2",
          count(thr, "<polyline"));
    p = check_polylines(thr, "throughput chart");
    CHECK(p == 12, "throughput chart: %d points, expected 12", p);
  }
  free(ret);
  free(loss);
  free(thr);
  CHECK(no_tmp_left(), "a temporary file is left in %s", dir);
  free(html);

  /* Without a summary. */
  err[0] = '\0';
  rc = report_write(m, NULL, out, err, sizeof err);
  CHECK(rc == 0, "report_write without summary returned %d: %s", rc, err);
  html = read_all(out);
  CHECK(html && count(html, "<svg") == 3 && !strstr(html, "class=\"summary\""),
        "page without summary wrong");
  free(html);
}

static void test_errors(void) {
  char m[256], out[256], err[512];
  path_in(out, sizeof out, "bad.html");

  /* A malformed line in the middle: error naming file and line 3. */
  write_file("bad.jsonl", "{\"env_steps\":1}\n{\"env_steps\":2}\n{\"env_steps\":3,,}\n{}\n");
  path_in(m, sizeof m, "bad.jsonl");
  err[0] = '\0';
  int rc = report_write(m, NULL, out, err, sizeof err);
  char want[300];
  snprintf(want, sizeof want, "%s:3:", m);
  CHECK(rc == -EINVAL, "malformed line: rc %d, expected %d", rc, -EINVAL);
  CHECK(strstr(err, want) != NULL, "malformed line: message \"%s\" does not name \"%s\"", err,
        want);
  CHECK(access(out, F_OK) != 0, "a report was written despite the error");

  /* A line that is JSON but not an object. */
  write_file("arr.jsonl", "{\"env_steps\":1}\n[1,2]\n");
  path_in(m, sizeof m, "arr.jsonl");
  rc = report_write(m, NULL, out, err, sizeof err);
  snprintf(want, sizeof want, "%s:2: not a JSON object", m);
  CHECK(rc == -EINVAL && strstr(err, want), "array line: rc %d, \"%s\"", rc, err);

  /* The last line cut short (no newline): skipped, the report is written. */
  write_file("cut.jsonl",
             "{\"env_steps\":1,\"loss\":1}\n{\"env_steps\":2,\"loss\":0.5}\n{\"env_st");
  path_in(m, sizeof m, "cut.jsonl");
  rc = report_write(m, NULL, out, err, sizeof err);
  CHECK(rc == 0, "cut last line: rc %d (%s), expected 0", rc, err);
  char *html = read_all(out);
  CHECK(html && strstr(html, "2 progress lines"), "cut last line: page does not count 2 lines");
  free(html);

  /* Missing metrics file; missing and malformed summary. */
  path_in(m, sizeof m, "nope.jsonl");
  rc = report_write(m, NULL, out, err, sizeof err);
  CHECK(rc == -ENOENT, "missing file: rc %d, expected %d", rc, -ENOENT);
  CHECK(strstr(err, m) != NULL, "missing file: message \"%s\" does not name %s", err, m);
  char s[256];
  path_in(m, sizeof m, "cut.jsonl");
  path_in(s, sizeof s, "nosummary.json");
  rc = report_write(m, s, out, err, sizeof err);
  CHECK(rc == -ENOENT && strstr(err, s), "missing summary: rc %d, \"%s\"", rc, err);
  write_file("badsummary.json", "{\"solved\":tru");
  path_in(s, sizeof s, "badsummary.json");
  rc = report_write(m, s, out, err, sizeof err);
  CHECK(rc == -EINVAL && strstr(err, s), "malformed summary: rc %d, \"%s\"", rc, err);

  /* An output folder that does not exist. */
  char o2[300];
  snprintf(o2, sizeof o2, "%s/no/such/dir/r.html", dir);
  rc = report_write(m, NULL, o2, err, sizeof err);
  CHECK(rc == -ENOENT && strstr(err, "no/such/dir"), "unwritable output: rc %d, \"%s\"", rc, err);

  /* An empty metrics file: a page with "no data" charts, not an error. */
  write_file("empty.jsonl", "");
  path_in(m, sizeof m, "empty.jsonl");
  rc = report_write(m, NULL, out, err, sizeof err);
  CHECK(rc == 0, "empty metrics: rc %d (%s)", rc, err);
  html = read_all(out);
  CHECK(html && count(html, "no data") == 3 && !strstr(html, "<polyline"),
        "empty metrics: expected 3 'no data' charts");
  free(html);
}

/* Many lines: the chart is thinned to at most 2000 points per series, the last one kept. */
static void test_long(void) {
  char m[256], out[256], err[512];
  path_in(m, sizeof m, "long.jsonl");
  path_in(out, sizeof out, "long.html");
  FILE *f = fopen(m, "w");
  if (!f) {
    CHECK(0, "cannot write %s", m);
    return;
  }
  for (int i = 1; i <= 9001; i++)
    fprintf(f,
            "{\"env_steps\":%d,\"loss\":%g,\"env_steps_per_s\":1000,\"updates_per_s\":500,"
            "\"train_return_mean100\":%d}\n",
            i * 100, 1.0 / i, i % 500);
  fclose(f);
  int rc = report_write(m, NULL, out, err, sizeof err);
  CHECK(rc == 0, "long: rc %d (%s)", rc, err);
  char *html = read_all(out);
  char *loss = html ? svg_n(html, 1) : NULL;
  int p = loss ? check_polylines(loss, "long loss") : 0;
  CHECK(p > 1000 && p <= 2001, "long: loss chart has %d points, expected at most 2001", p);
  free(loss);
  free(html);
}

int main(void) {
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_report();
  test_errors();
  test_long();
  if (!check_failures) { /* keep the folder for a look when something failed */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  } else {
    fprintf(stderr, "files kept in %s\n", dir);
  }
  CHECK_DONE();
}
