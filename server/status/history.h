/* history: a run's metrics rows (the lines of metrics.jsonl) kept in memory, so the status
 * socket can serve the whole run (GET /history) to a page opened late, and the board can
 * follow run folders.
 *
 * Memory is bounded: at most `limit` rows of at most HISTORY_MAX_ROW bytes each. When the
 * buffer fills, the stride doubles and the older rows whose line number is not a multiple of
 * it are dropped (the run's first row and the newest quarter always stay), so the older part
 * is an even sample of the whole run and the recent rows stay at full resolution. Each row keeps
 * its sequence number (its line number in metrics.jsonl, from 0): a client asks for `since` = the
 * `next` of its last answer and gets only newer rows.
 *
 * Threads: one owner; no locking (the learner's net thread, or the board's loop). */
#ifndef RLSERVE_HISTORY_H
#define RLSERVE_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HISTORY_MAX_ROW 4096 /* bytes of one row; longer lines are counted and skipped */
#define HISTORY_MIN_LIMIT 8

typedef struct history {
  char **rows;      /* JSON object text without the newline, owned */
  uint64_t *seq;    /* each row's line number in the run */
  size_t n, limit;  /* rows held, the most ever held */
  uint64_t total;   /* rows ever added: the next row's sequence number */
  uint64_t dropped; /* rows removed by downsampling */
  uint64_t stride;  /* the older rows kept are those whose line number is a multiple of it */
  uint64_t skipped; /* lines refused (too long or not a JSON object) */
  long file_offset; /* history_follow: bytes of the file already read */
} history_t;

/* limit is raised to HISTORY_MIN_LIMIT. 0, or -1 out of memory (nothing to free). */
int history_init(history_t *h, size_t limit);
void history_free(history_t *h);
/* Appends one row (len bytes, a JSON object; copied). 0; -1 when refused (too long, not an
 * object: counted in skipped) or out of memory. */
int history_add(history_t *h, const char *row, size_t len);
/* Reads the lines of path appended since the last call (complete lines only: a line still
 * being written is read next time) into h. A file shorter than what was read (truncated,
 * replaced) is read again from the start into an emptied history. 0, or -1 when the file
 * cannot be opened (a run folder whose metrics.jsonl is not there yet). */
int history_follow(history_t *h, const char *path);
/* The rows with sequence number >= since, as malloc'd JSON:
 *   {"total":T,"next":T,"kept":N,"limit":L,"downsampled":bool,"dropped":D,"stride":K,"skipped":S,
 *    "seq":[...],"rows":[{...},...]}
 * rows are the stored text verbatim. NULL out of memory. */
char *history_json(const history_t *h, uint64_t since);

/* Finds key=value in a URL query string (a=1&b=2, not NUL-terminated) and parses value as a
 * non-negative decimal integer. 1 found, 0 absent, -1 present but not such a number. */
int history_query_u64(const char *query, size_t qlen, const char *key, uint64_t *out);

#endif
