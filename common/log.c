#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void log_set_level(log_level_t level) { atomic_store(&log_level, (int)level); }
log_level_t log_get_level(void) { return (log_level_t)atomic_load(&log_level); }

int log_parse_level(const char *name) {
  static const char *const names[] = {"debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 5; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

/* Messages carry text from the network (an Error reason, a worker name): a control byte could
 * forge a log line or drive a terminal, so each is written as \n, \r, \t or \xNN; a
 * backslash is not escaped, so escaped and literal text can look alike but never spans lines. */
static void escape_into(char *out, size_t cap, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (; *s && o + 5 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != 0x7f) {
      out[o++] = (char)c;
      continue;
    }
    out[o++] = '\\';
    if (c == '\n' || c == '\r' || c == '\t') {
      out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
    } else {
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
}

void log_write(log_level_t level, const char *tag, const char *fmt, ...) {
  if ((int)level < atomic_load(&log_level) || level >= LOG_OFF) return;
  char line[1024];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n =
      snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
               level_names[level], tag);
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n > 0 && n < (int)sizeof line) escape_into(line + n, sizeof line - (size_t)n, msg);
  fprintf(stderr, "%s\n", line);
}
