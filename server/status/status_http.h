/* status_http: the learner's status socket, a small HTTP/1.1 server on a libuv loop.
 *
 *   GET /         the dashboard page (text/html, embedded at build time)
 *   GET /status   JSON from src->status_json
 *   GET /metrics  Prometheus text from src->metrics_text
 *   GET /history  JSON from src->history_json (the run's metrics rows; ?since=N for newer ones)
 *   GET /runs     JSON from src->runs_json (the board's run folders)
 *   GET /healthz  "ok" (text/plain): the loop is alive; calls no source (a liveness probe)
 *
 * HEAD is allowed; other methods get 405, unknown paths 404, malformed requests 400, a
 * request head over 8 KiB 431. Every response carries Content-Length and Connection: close
 * and the connection is closed after it. At most 64 connections at once and 16 from one
 * peer address; a connection silent for 10 s, or whose request head is not complete 5 s
 * after accept (however slowly its bytes trickle in), is closed. A new connection that finds
 * the table (or its address's share) full closes the oldest one still waiting for its
 * request, so slow clients cannot keep real requests out. The module knows nothing of
 * training: content comes from the callbacks.
 *
 * Threads: every function runs on the loop's thread (or before the loop runs). */
#ifndef RLSERVE_STATUS_HTTP_H
#define RLSERVE_STATUS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct status_http status_http_t; /* opaque */

typedef struct status_http_sources {
  void *ctx;
  char *(*status_json)(void *ctx);  /* malloc'd JSON text for GET /status; loop thread */
  char *(*metrics_text)(void *ctx); /* malloc'd Prometheus exposition text for GET /metrics */
  /* GET /history: query is the request's query string (qlen bytes, not NUL-terminated; NULL
   * when none). Returns an HTTP status: 200 with malloc'd JSON in *out, or 400 / 404 with a
   * malloc'd message a person can read in *out (*out NULL: 500). NULL: no /history. */
  int (*history_json)(void *ctx, const char *query, size_t qlen, char **out);
  char *(*runs_json)(void *ctx); /* malloc'd JSON for GET /runs; NULL: no /runs */
  const char *page;              /* GET /: this page (page_len bytes); NULL: the dashboard */
  size_t page_len;
} status_http_sources_t;

/* Binds host:port ("127.0.0.1:8080", "[::1]:0", "localhost:8080"; port 0 = any free port;
 * parsed by addr.h) on loop. Returns 0, or a negative uv error (UV_EINVAL for an address that
 * does not parse or resolve) with a message naming the address in err; the caller has
 * nothing to close after an error. */
int status_http_start(uv_loop_t *loop, const char *host_port, const status_http_sources_t *src,
                      status_http_t **out, char *err, size_t errlen);
/* The bound port. */
int status_http_port(const status_http_t *s);
/* Idle timeout in ms for connections accepted from now on (default 10000). */
void status_http_set_idle_timeout(status_http_t *s, uint64_t ms);
/* Deadline in ms after accept for a complete request head, for connections accepted from now
 * on (default 5000). */
void status_http_set_request_timeout(status_http_t *s, uint64_t ms);
/* Closes the listener and every client; calls done(arg) (done may be NULL) once all
 * handles are closed, then frees s. Loop thread only. */
void status_http_close(status_http_t *s, void (*done)(void *arg), void *arg);

#endif
