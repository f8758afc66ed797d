/* promtext: Prometheus text exposition format writer. See promtext.h. */
#include "promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void promtext_init(promtext_t *p) { memset(p, 0, sizeof(*p)); }

void promtext_free(promtext_t *p) {
  free(p->buf);
  for (size_t i = 0; i < p->nfamilies; i++) free(p->families[i]);
  free(p->families);
  memset(p, 0, sizeof(*p));
}

static int fail(promtext_t *p, int err) {
  if (!p->err) p->err = err;
  return p->err;
}

/* Makes room for n more bytes plus the terminating NUL. */
static int reserve(promtext_t *p, size_t n) {
  if (p->len + n + 1 <= p->cap) return 0;
  size_t cap = p->cap ? p->cap : 1024;
  while (cap < p->len + n + 1) cap *= 2;
  char *b = realloc(p->buf, cap);
  if (!b) return fail(p, PROMTEXT_ENOMEM);
  p->buf = b;
  p->cap = cap;
  return 0;
}

static void put(promtext_t *p, const char *s, size_t n) {
  if (p->err || reserve(p, n)) return;
  memcpy(p->buf + p->len, s, n);
  p->len += n;
  p->buf[p->len] = '\0';
}

static void puts_(promtext_t *p, const char *s) { put(p, s, strlen(s)); }

/* Escapes \ and newline, and " when quote is set (label values; HELP leaves quotes alone). */
static void put_escaped(promtext_t *p, const char *s, int quote) {
  for (; *s; s++) {
    if (*s == '\\')
      puts_(p, "\\\\");
    else if (*s == '\n')
      puts_(p, "\\n");
    else if (*s == '"' && quote)
      puts_(p, "\\\"");
    else
      put(p, s, 1);
  }
}

/* The shortest of %.15g..%.17g that reads back to the same double. */
static void put_value(promtext_t *p, double v) {
  char s[40];
  if (isnan(v))
    snprintf(s, sizeof(s), "NaN");
  else if (isinf(v))
    snprintf(s, sizeof(s), v > 0 ? "+Inf" : "-Inf");
  else {
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(s, sizeof(s), "%.*g", prec, v);
      if (strtod(s, NULL) == v) break;
    }
  }
  puts_(p, s);
}

static int valid_name(const char *s, int colon) {
  if (!s || !*s) return 0;
  for (const char *c = s; *c; c++) {
    int alpha =
        (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || (colon && *c == ':');
    if (!alpha && !(c > s && *c >= '0' && *c <= '9')) return 0;
  }
  return 1;
}

static const char *type_name(promtext_type_t t) {
  return t == PROMTEXT_COUNTER ? "counter" : t == PROMTEXT_GAUGE ? "gauge" : "untyped";
}

int promtext_family(promtext_t *p, const char *name, promtext_type_t type, const char *help) {
  if (p->err) return p->err;
  if (!valid_name(name, 1)) return fail(p, PROMTEXT_ENAME);
  for (size_t i = 0; i < p->nfamilies; i++)
    if (strcmp(p->families[i], name) == 0) return fail(p, PROMTEXT_EDUPLICATE);
  if (p->nfamilies == p->capfamilies) {
    size_t cap = p->capfamilies ? 2 * p->capfamilies : 16;
    char **f = realloc(p->families, cap * sizeof(*f));
    if (!f) return fail(p, PROMTEXT_ENOMEM);
    p->families = f;
    p->capfamilies = cap;
  }
  char *copy = strdup(name);
  if (!copy) return fail(p, PROMTEXT_ENOMEM);
  p->families[p->nfamilies++] = copy;
  p->type = type;
  if (help) {
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    put_escaped(p, help, 0);
    puts_(p, "\n");
  }
  puts_(p, "# TYPE ");
  puts_(p, name);
  puts_(p, " ");
  puts_(p, type_name(type));
  puts_(p, "\n");
  return p->err;
}

int promtext_sample(promtext_t *p, const promtext_label_t *labels, size_t nlabels, double value) {
  if (p->err) return p->err;
  if (!p->nfamilies) return fail(p, PROMTEXT_ENOFAMILY);
  for (size_t i = 0; i < nlabels; i++)
    if (!valid_name(labels[i].name, 0) || strncmp(labels[i].name, "__", 2) == 0)
      return fail(p, PROMTEXT_ELABEL);
  if (p->type == PROMTEXT_COUNTER && value < 0) return fail(p, PROMTEXT_ENEGATIVE);
  puts_(p, p->families[p->nfamilies - 1]);
  for (size_t i = 0; i < nlabels; i++) {
    puts_(p, i ? "," : "{");
    puts_(p, labels[i].name);
    puts_(p, "=\"");
    put_escaped(p, labels[i].value ? labels[i].value : "", 1);
    puts_(p, "\"");
  }
  if (nlabels) puts_(p, "}");
  puts_(p, " ");
  put_value(p, value);
  puts_(p, "\n");
  return p->err;
}

int promtext_value(promtext_t *p, const char *name, promtext_type_t type, const char *help,
                   double value) {
  if (promtext_family(p, name, type, help)) return p->err;
  return promtext_sample(p, NULL, 0, value);
}

char *promtext_take(promtext_t *p, int *err) {
  if (!p->err && reserve(p, 0) == 0) p->buf[p->len] = '\0'; /* an empty writer gives "" */
  int e = p->err;
  char *text = e ? NULL : p->buf;
  if (!e) p->buf = NULL;
  promtext_free(p);
  if (err) *err = e;
  return text;
}

const char *promtext_strerror(int err) {
  switch (err) {
    case PROMTEXT_OK:
      return "no error";
    case PROMTEXT_ENOMEM:
      return "out of memory";
    case PROMTEXT_ENAME:
      return "invalid metric name";
    case PROMTEXT_ELABEL:
      return "invalid or reserved label name";
    case PROMTEXT_EDUPLICATE:
      return "metric family written twice";
    case PROMTEXT_ENOFAMILY:
      return "sample before any metric family";
    case PROMTEXT_ENEGATIVE:
      return "negative counter value";
    default:
      return "unknown promtext error";
  }
}
