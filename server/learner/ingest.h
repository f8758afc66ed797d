/* ingest: TRANSITIONS frames opened, decoded, checked and inserted into replay, on the net
 * thread or on a pool of decode threads (config ingest_threads).
 *
 * ingest_transitions is the work on one opened payload: decode (common/tbatch.h), the env's
 * bounds, the connection's credit, the run's budget, the replay insert. It runs on the net
 * thread when ingest_threads = 1 (no pool) and on a decode thread otherwise.
 *
 * With a pool the net thread keeps the socket reads, the framing and the seal counters: each
 * sealed TRANSITIONS frame gets its connection's next counter when it is handed over
 * (ingest_submit copies it out of the reader), so a decode thread can open it alone; every
 * other frame is opened and handled on the net thread as before. A connection's frames are
 * processed in arrival order by one decode thread at a time (a connection sits in the run
 * queue at most once), so the first bad frame fails the connection exactly as on the net
 * thread and the frames behind it are dropped; different connections run in parallel. Each
 * frame processed is handed back (ingest_take_done, after the pool's notify callback): the net
 * thread then counts it, grants credit (after the insert, as before: flow.h), or fails the
 * connection with the frame's Error code and reason.
 *
 * Memory: a connection has at most INGEST_CONN_FRAMES frames and INGEST_CONN_BYTES bytes
 * handed over and not yet back (at least one frame); while it is at the cap the net thread stops
 * reading it (ingest_conn_full), so what a worker sends beyond that waits in its socket and its
 * own bounded outbox, as when credit runs out.
 *
 * Threads: ingest_transitions from the net thread (no pool) or a decode thread; everything
 * else from the net thread. The pool's lock also covers each connection's flow_credit_t while
 * the pool runs (ingest_lock / ingest_unlock around the net thread's credit updates). */
#ifndef RLSERVE_INGEST_H
#define RLSERVE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "frame.h"
#include "seal.h"

#define INGEST_CONN_FRAMES 8
#define INGEST_CONN_BYTES (1u << 20)
#define INGEST_MAX_THREADS 64

struct learner;
struct worker_conn;
typedef struct ingest ingest_t;
typedef struct ingest_job ingest_job_t;

/* A connection's part of the pool (in worker_conn_t). */
typedef struct ingest_conn {
  /* under the pool's lock */
  ingest_job_t *head, *tail; /* handed over, waiting for a decode thread, in arrival order */
  struct ingest_conn *next_run;
  int scheduled; /* in the run queue or being processed */
  int failed;    /* a frame was refused: the frames behind it are dropped */
  /* net thread only */
  unsigned inflight;     /* frames handed over and not yet taken back */
  size_t inflight_bytes; /* their payload bytes */
  int blocked;           /* reading stopped at the cap (ingest_conn_full) */
  int free_pending;      /* the handle closed while frames were in flight: freed by the last */
} ingest_conn_t;

/* What ingest_transitions did with one batch. */
typedef struct ingest_result {
  int code;      /* 0, or the Error code that fails the connection (400, 422, 429) */
  int counted;   /* 1: inserted (n transitions, maybe 0 past the budget) and credit is due */
  uint64_t n;    /* transitions inserted */
  uint64_t wv;   /* the weights version the batch names */
  char err[256]; /* the reason when code != 0 */
} ingest_result_t;

/* A frame the pool has finished with (ingest_take_done); ingest_job_free after use. */
struct ingest_job {
  ingest_job_t *next;
  struct worker_conn *c;
  frame_header_t h; /* as received (sealed: its length includes the tag) */
  int sealed;
  seal_dir_t rx; /* sealed: the connection's key and this frame's counter */
  int dropped;   /* not processed: an earlier frame of its connection failed, or shutdown */
  ingest_result_t res;
  size_t bytes;
  uint8_t data[]; /* h.length payload bytes */
};

/* The decode threads ingest_threads = T asks for: T when T > 0; for 0 (auto) a quarter of the
 * cores left to the learner (this process's cores minus the local workers, config `workers`),
 * at most 4, and 1 (the net thread alone, no pool) when that is under 2. 1 means no pool. */
int ingest_threads_for(const config_t *c);

/* Starts n decode threads (n >= 2) for L; notify(arg) is called from a decode thread after it
 * handed frames back (e.g. uv_async_send). NULL (and a message) when a thread cannot start. */
ingest_t *ingest_start(struct learner *L, int n, void (*notify)(void *), void *arg, char *err,
                       size_t errlen);
/* Stops and joins the decode threads (the frames they hold are finished first); the frames
 * still waiting become dropped and go to the done list. NULL or stopped: nothing. */
void ingest_stop(ingest_t *q);
/* After ingest_stop: frees the pool (ingest_take_done it empty first). */
void ingest_free(ingest_t *q);
int ingest_size(const ingest_t *q);

/* Hands one TRANSITIONS frame of c over (payload copied); sealed: with its counter (the caller
 * advanced the connection's). 0, or -1 when out of memory. */
int ingest_submit(ingest_t *q, struct worker_conn *c, const frame_header_t *h,
                  const uint8_t *payload, const seal_dir_t *rx);
/* Wakes decode threads for the connections ingest_submit scheduled since the last call (one
 * wake-up per read, not per frame). q NULL: nothing. */
void ingest_kick(ingest_t *q);
/* Whether c is at its cap (INGEST_CONN_FRAMES / INGEST_CONN_BYTES): hand nothing more over. */
int ingest_conn_full(const struct worker_conn *c);
/* The frames processed since the last call, oldest first (a list through ->next). */
ingest_job_t *ingest_take_done(ingest_t *q);
void ingest_job_free(ingest_job_t *j);

/* The pool's lock, for the net thread's updates of a connection's flow_credit_t (q NULL: no-op). */
void ingest_lock(ingest_t *q);
void ingest_unlock(ingest_t *q);

/* Decodes, checks and inserts one opened TRANSITIONS payload from c (see the top). q: the pool
 * whose lock covers c's credit, or NULL on the net thread without a pool. */
void ingest_transitions(struct learner *L, struct worker_conn *c, ingest_t *q, const uint8_t *p,
                        size_t len, ingest_result_t *res);

#endif
