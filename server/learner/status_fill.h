/* status_fill: the learner's state copied into a status snapshot (status_snapshot.h) for the
 * status socket, and the status_http_sources_t callbacks that fill, render and free.
 *
 * Threads: net thread only. Net-thread fields of learner_t and worker_conn_t are read
 * directly; the counters the trainer and eval threads write are copied under L->mu (held only
 * for the copy) and the replay counts under the replay's own lock. */
#ifndef RLSERVE_STATUS_FILL_H
#define RLSERVE_STATUS_FILL_H

#include "learner.h"
#include "status_snapshot.h"

/* Fills s (its worker rows malloc'd). 0, or -1 when out of memory (s then holds no rows). */
int status_fill(learner_t *L, status_snapshot_t *s);
/* Frees what status_fill allocated. */
void status_fill_free(status_snapshot_t *s);

/* For status_http_sources_t, ctx = the learner_t *: malloc'd GET /status JSON and GET
 * /metrics text, or NULL when out of memory. */
char *status_fill_json(void *learner);
char *status_fill_metrics(void *learner);

#endif
