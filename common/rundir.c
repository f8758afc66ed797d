/* rundir: the run folder, summary.json and metrics.jsonl (rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errmsg.h"

int rundir_mkdir(const char *path, char *err, size_t errlen) {
  char *buf = strdup(path);
  if (!buf || !buf[0]) {
    free(buf);
    return errmsg(err, errlen, "cannot create '%s': %s", path,
                  buf ? "empty path" : "out of memory");
  }
  for (char *p = buf + 1;; p++) { /* each prefix ending before a '/', then the whole path */
    if (*p != '/' && *p != 0) continue;
    char c = *p;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
      int e = errno;
      free(buf);
      return errmsg(err, errlen, "cannot create %s: %s", path, strerror(e));
    }
    *p = c;
    if (c == 0) break;
  }
  free(buf);
  struct stat st; /* an existing file of that name is EEXIST too */
  int e = stat(path, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  return e ? errmsg(err, errlen, "cannot create %s: %s", path, strerror(e)) : 0;
}

/* ---- one-line JSON --------------------------------------------------------------------- */

typedef struct text {
  char *s;
  size_t len, cap;
  int bad; /* out of memory: the text is incomplete */
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...) {
  if (t->bad) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->bad = 1;
      return;
    }
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = 2 * t->cap + (size_t)n + 1;
    char *s = realloc(t->s, cap);
    if (!s) {
      t->bad = 1;
      return;
    }
    t->s = s;
    t->cap = cap;
  }
}

static void put_string(text_t *t, const char *s) {
  put(t, "\"");
  for (const unsigned char *c = (const unsigned char *)s; c && *c; c++) {
    if (*c == '"' || *c == '\\')
      put(t, "\\%c", *c);
    else if (*c < 0x20)
      put(t, "\\u%04x", *c);
    else
      put(t, "%c", *c);
  }
  put(t, "\"");
}

char *rundir_json_line(const cJSON *obj) {
  text_t t = {malloc(256), 0, 256, 0};
  if (!t.s) return NULL;
  t.s[0] = 0;
  put(&t, "{");
  for (const cJSON *i = obj ? obj->child : NULL; i; i = i->next) {
    put_string(&t, i->string);
    put(&t, ": ");
    if (cJSON_IsTrue(i) || cJSON_IsFalse(i))
      put(&t, "%s", cJSON_IsTrue(i) ? "true" : "false");
    else if (cJSON_IsNumber(i) && isfinite(i->valuedouble))
      put(&t, "%.10g", i->valuedouble);
    else if (cJSON_IsString(i))
      put_string(&t, i->valuestring);
    else if (cJSON_IsRaw(i))
      put(&t, "%s", i->valuestring);
    else
      put(&t, "null");
    if (i->next) put(&t, ", ");
  }
  put(&t, "}");
  if (t.bad) {
    free(t.s);
    return NULL;
  }
  return t.s;
}

void rundir_add_number(cJSON *obj, const char *key, double v) {
  if (isfinite(v))
    cJSON_AddNumberToObject(obj, key, v);
  else
    cJSON_AddNullToObject(obj, key);
}

void rundir_add_int(cJSON *obj, const char *key, long long v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", v);
  cJSON_AddRawToObject(obj, key, buf);
}

/* ---- files ----------------------------------------------------------------------------- */

int rundir_write_summary(const char *dir, const cJSON *summary, rundir_layout_t layout, char *err,
                         size_t errlen) {
  size_t n = strlen(dir) + sizeof "/summary.json.tmp";
  char *path = malloc(2 * n), *tmp = path + n;
  char *text = layout == RUNDIR_LINE ? rundir_json_line(summary) : cJSON_Print(summary);
  if (!path || !text) {
    free(path);
    free(text);
    return errmsg(err, errlen, "cannot write %s/summary.json: out of memory", dir);
  }
  snprintf(path, n, "%s/summary.json", dir);
  snprintf(tmp, n, "%s/summary.json.tmp", dir);
  FILE *f = fopen(tmp, "w");
  int ok = f && fprintf(f, "%s\n", text) >= 0;
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  int rc = ok ? 0 : errmsg(err, errlen, "cannot write %s: %s", path, strerror(errno));
  if (!ok) remove(tmp);
  free(path);
  free(text);
  return rc;
}

FILE *rundir_metrics_open(const char *dir, int append, char *err, size_t errlen) {
  size_t n = strlen(dir) + sizeof "/metrics.jsonl";
  char *path = malloc(n);
  if (!path) {
    errmsg(err, errlen, "cannot write %s/metrics.jsonl: out of memory", dir);
    return NULL;
  }
  snprintf(path, n, "%s/metrics.jsonl", dir);
  FILE *f = fopen(path, append ? "a" : "w");
  if (!f) errmsg(err, errlen, "cannot write %s: %s", path, strerror(errno));
  free(path);
  return f;
}

int rundir_metrics_write(FILE *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vfprintf(f, fmt, ap);
  va_end(ap);
  if (n < 0 || fputc('\n', f) == EOF || fflush(f) != 0) return -1;
  return 0;
}
