/* test_rundir: mkdir -p, summary.json in both layouts (exact text), the one-line JSON
 * (escapes, null for non-finite numbers, exact integers) and the metrics.jsonl appender. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "rundir.h"

static const char *slurp(const char *path) {
  static char buf[4096];
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdir(const char *root) {
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/a/b/c", root);
  CHECK(rundir_mkdir(path, err, sizeof err) == 0 && is_dir(path), "mkdir -p %s: %s", path, err);
  CHECK(rundir_mkdir(path, err, sizeof err) == 0, "an existing folder is fine: %s", err);
  snprintf(path, sizeof path, "%s/a/b/", root);
  CHECK(rundir_mkdir(path, err, sizeof err) == 0, "a trailing slash: %s", err);
  snprintf(path, sizeof path, "%s/file", root);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL, "create %s", path);
  if (f) fclose(f);
  err[0] = 0;
  CHECK(rundir_mkdir(path, err, sizeof err) == -1 && strstr(err, path), "over a file: '%s'", err);
  snprintf(path, sizeof path, "%s/file/sub", root);
  CHECK(rundir_mkdir(path, err, sizeof err) == -1 && strstr(err, "cannot create"),
        "below a file: '%s'", err);
}

static cJSON *sample(void) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "solved", 1);
  cJSON_AddStringToObject(j, "env", "Quote\"Back\\slash\n");
  rundir_add_int(j, "env_steps", 123456789012345678LL);
  rundir_add_number(j, "eval_mean", -12.113);
  rundir_add_number(j, "wall_seconds", 0.0025380681234);
  rundir_add_number(j, "value_rmse", NAN);
  rundir_add_number(j, "best", -INFINITY);
  return j;
}

static void test_summary(const char *root) {
  char err[256], path[512];
  cJSON *j = sample();
  char *line = rundir_json_line(j);
  const char *want =
      "{\"solved\": true, \"env\": \"Quote\\\"Back\\\\slash\\u000a\", \"env_steps\": "
      "123456789012345678, \"eval_mean\": -12.113, \"wall_seconds\": 0.002538068123, "
      "\"value_rmse\": null, \"best\": null}";
  CHECK(line && strcmp(line, want) == 0, "line\n  %s\nexpected\n  %s", line ? line : "(null)",
        want);
  free(line);
  CHECK(rundir_write_summary(root, j, RUNDIR_LINE, err, sizeof err) == 0, "%s", err);
  snprintf(path, sizeof path, "%s/summary.json", root);
  const char *text = slurp(path);
  CHECK(text && strncmp(text, want, strlen(want)) == 0 && !strcmp(text + strlen(want), "\n"),
        "summary.json (line): %s", text ? text : "(missing)");
  snprintf(path, sizeof path, "%s/summary.json.tmp", root);
  CHECK(access(path, F_OK) != 0, "%s left behind", path);

  /* The pretty layout is cJSON_Print's text and a newline. */
  CHECK(rundir_write_summary(root, j, RUNDIR_PRETTY, err, sizeof err) == 0, "%s", err);
  char *pretty = cJSON_Print(j);
  snprintf(path, sizeof path, "%s/summary.json", root);
  text = slurp(path);
  CHECK(text && pretty && strlen(text) == strlen(pretty) + 1 &&
            strncmp(text, pretty, strlen(pretty)) == 0,
        "summary.json (pretty): %s", text ? text : "(missing)");
  free(pretty);

  snprintf(path, sizeof path, "%s/no/such/folder", root);
  err[0] = 0;
  CHECK(rundir_write_summary(path, j, RUNDIR_LINE, err, sizeof err) == -1 &&
            strstr(err, "no/such/folder/summary.json"),
        "into a missing folder: '%s'", err);
  cJSON_Delete(j);
}

static void test_metrics(const char *root) {
  char err[256], path[512];
  FILE *f = rundir_metrics_open(root, 0, err, sizeof err);
  CHECK(f != NULL, "%s", err);
  if (!f) return;
  CHECK(rundir_metrics_write(f, "{\"episode\": %d}", 1) == 0, "write");
  snprintf(path, sizeof path, "%s/metrics.jsonl", root);
  const char *text = slurp(path); /* flushed: readable while the FILE is open */
  CHECK(text && !strcmp(text, "{\"episode\": 1}\n"), "after one line: '%s'", text);
  fclose(f);
  f = rundir_metrics_open(root, 1, err, sizeof err);
  CHECK(f && rundir_metrics_write(f, "{\"episode\": %d}", 2) == 0, "append: %s", err);
  if (f) fclose(f);
  text = slurp(path);
  CHECK(text && !strcmp(text, "{\"episode\": 1}\n{\"episode\": 2}\n"), "appended: '%s'", text);
  f = rundir_metrics_open(root, 0, err, sizeof err);
  if (f) fclose(f);
  text = slurp(path);
  CHECK(text && text[0] == 0, "append = 0 truncates: '%s'", text);
  snprintf(path, sizeof path, "%s/missing", root);
  err[0] = 0;
  CHECK(rundir_metrics_open(path, 0, err, sizeof err) == NULL && strstr(err, "metrics.jsonl"),
        "into a missing folder: '%s'", err);
}

int main(void) {
  char root[] = "/tmp/test_rundir_XXXXXX";
  if (!mkdtemp(root)) {
    CHECK(0, "mkdtemp");
    CHECK_DONE();
  }
  test_mkdir(root);
  test_summary(root);
  test_metrics(root);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK(system(cmd) == 0, "%s", cmd);
  CHECK_DONE();
}
