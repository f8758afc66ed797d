/* log: one logger for the whole program, levels and a component tag per line.
 * Lines go to stderr as "2026-11-25T08:30:01.123Z INFO  learner: text".
 * Any thread may call it; a line is written with one call, so lines never mix. Control bytes in
 * the message (text from the network) are escaped (\n, \xNN): one call is always one line. */
#ifndef RLSERVE_LOG_H
#define RLSERVE_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 } log_level_t;

void log_set_level(log_level_t level);
log_level_t log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int log_parse_level(const char *name);
void log_write(log_level_t level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_D(tag, ...) log_write(LOG_DEBUG, tag, __VA_ARGS__)
#define LOG_I(tag, ...) log_write(LOG_INFO, tag, __VA_ARGS__)
#define LOG_W(tag, ...) log_write(LOG_WARN, tag, __VA_ARGS__)
#define LOG_E(tag, ...) log_write(LOG_ERROR, tag, __VA_ARGS__)

#endif
