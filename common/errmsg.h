/* errmsg: writes a formatted reason into a caller's (err, errlen) buffer and returns -1, the
 * default error convention (common/README.md, Errors). Header-only: the codecs are also built
 * alone for fuzzing. */
#ifndef RLSERVE_ERRMSG_H
#define RLSERVE_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int errmsg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int errmsg(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

#endif
