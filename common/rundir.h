/* rundir: the files every run folder has, written one way: the folder itself (mkdir -p),
 * summary.json (written whole to summary.json.tmp, then renamed over it, so a reader never sees
 * half a summary) and metrics.jsonl (one JSON object a line, flushed as each line is written, so
 * a live run can be followed). Any thread; no shared state.
 *
 * summary.json comes from a cJSON object in one of two layouts: RUNDIR_PRETTY is cJSON_Print's
 * (indented, the learner's), RUNDIR_LINE one line `{"key": value, "key": value}` with numbers
 * as %.10g (the in-process runner's). In both, non-finite numbers are null and items made by
 * rundir_add_int print their exact integer. */
#ifndef RLSERVE_RUNDIR_H
#define RLSERVE_RUNDIR_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { RUNDIR_PRETTY = 0, RUNDIR_LINE = 1 } rundir_layout_t;

/* Creates path and every missing folder above it (existing ones are fine). 0, or -1 with
 * "cannot create PATH: reason". */
int rundir_mkdir(const char *path, char *err, size_t errlen);

/* Writes dir/summary.json atomically. 0, or -1 with "cannot write PATH: reason". */
int rundir_write_summary(const char *dir, const cJSON *summary, rundir_layout_t layout, char *err,
                         size_t errlen);

/* obj as one RUNDIR_LINE line without the newline (malloc'd; NULL when out of memory). Strings,
 * numbers, booleans, null and raw items; nested objects and arrays are not part of the layout. */
char *rundir_json_line(const cJSON *obj);

/* A number, or null when v is NaN or infinite (cJSON would store it as a number). */
void rundir_add_number(cJSON *obj, const char *key, double v);
/* An integer printed exactly (a raw item: a double would round beyond 2^53). */
void rundir_add_int(cJSON *obj, const char *key, long long v);

/* Opens dir/metrics.jsonl, truncated (append = 0) or appended to. The FILE is the caller's, to
 * fclose. NULL with "cannot write PATH: reason". */
FILE *rundir_metrics_open(const char *dir, int append, char *err, size_t errlen);
/* Writes one line (the formatted text and a newline) and flushes. 0, or -1 (errno set). */
int rundir_metrics_write(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
