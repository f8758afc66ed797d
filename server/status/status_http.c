/* status_http: the status socket. One struct per connection, reached through handle->data;
 * every handle is counted in s->handles when initialised and uncounted in its close callback,
 * so status_http_close knows when the last one is gone. A connection reads one request head,
 * answers it, shuts its write side down and discards input until the peer closes (or the
 * linger timer fires): closing with unread input would reset the connection and could
 * destroy the response before the client reads it.
 *
 * Slow clients cannot hold the socket: a request head must be complete within
 * STATUS_REQUEST_MS of accept however its bytes trickle in, one address holds at most
 * STATUS_MAX_PER_ADDR connections, and when a new connection finds its address's share or the
 * whole table full, the oldest connection still waiting for its request (or already answered)
 * is closed to make room, so a real request is not refused while others dawdle. */
#include "status_http.h"

#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

#define STATUS_MAX_CONNS 64    /* connections at once; more are closed on accept */
#define STATUS_MAX_PER_ADDR 16 /* connections at once from one peer address */
#define STATUS_REQUEST_MS 5000 /* a complete request head within this long of accept */
#define STATUS_MAX_HEAD 8192   /* bytes of request line + headers */
#define STATUS_IDLE_MS 10000   /* a connection silent this long is closed */
#define STATUS_LINGER_MS 2000  /* after the response, wait this long for the peer to close */
#define STATUS_READ_BUF 4096   /* per-connection read buffer */
#define STATUS_MAX_URL 512     /* longer request targets are not routes: 404 */
#define STATUS_BACKLOG 128

/* The dashboard page, generated from dashboard.html by embed.cmake. */
extern const char status_dashboard_html[];
extern const size_t status_dashboard_html_len;

typedef struct status_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wreq;
  uv_shutdown_t sreq;
  http_parser parser;
  status_http_t *srv;
  struct status_conn *prev, *next;
  int open_handles; /* of tcp and timer, not yet closed */
  int closing;
  int responded; /* a response is queued: further input is discarded */
  int peer_eof;  /* the peer half-closed before our response was written */
  int shut_done; /* our response is written and our side shut down */
  int head_done;
  size_t head_bytes;
  uint64_t deadline;            /* loop time (ms) by which the request head must be complete */
  struct sockaddr_storage peer; /* family AF_UNSPEC when unknown */
  char url[STATUS_MAX_URL + 1];
  size_t url_len;
  int url_too_long;
  char *resp; /* the response being written; freed in on_write */
  char rbuf[STATUS_READ_BUF];
} status_conn_t;

struct status_http {
  uv_loop_t *loop;
  uv_tcp_t listener;
  status_http_sources_t src;
  int port;
  uint64_t idle_ms;
  uint64_t request_ms;
  status_conn_t *conns; /* doubly linked, includes closing ones */
  int nconns;
  int handles; /* every open handle: listener, connections, rejected sockets */
  int closing;
  unsigned long rejected, evicted;
  void (*done)(void *arg);
  void *done_arg;
};

static void maybe_done(status_http_t *s) {
  if (!s->closing || s->handles > 0) return;
  void (*done)(void *) = s->done;
  void *arg = s->done_arg;
  free(s);
  if (done) done(arg);
}

/* ---- connection teardown ---- */

static void on_conn_closed(uv_handle_t *h) {
  status_conn_t *c = h->data;
  status_http_t *s = c->srv;
  s->handles--;
  if (--c->open_handles == 0) {
    if (c->prev)
      c->prev->next = c->next;
    else
      s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    free(c->resp);
    free(c);
  }
  maybe_done(s);
}

static void conn_close(status_conn_t *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_timeout(uv_timer_t *t) { conn_close(t->data); }

/* Before the request is complete: closed after idle_ms of silence or at the deadline,
 * whichever comes first (a client trickling bytes resets only the first). */
static void arm_request_timer(status_conn_t *c) {
  uint64_t now = uv_now(c->srv->loop);
  uint64_t left = c->deadline > now ? c->deadline - now : 0;
  uv_timer_start(&c->timer, on_timeout, left < c->srv->idle_ms ? left : c->srv->idle_ms, 0);
}

/* ---- writing the response ---- */

static void on_shutdown(uv_shutdown_t *req, int status) {
  /* Unless the peer already half-closed, keep reading (and discarding) until it closes or
   * the linger timer fires. */
  status_conn_t *c = req->data;
  c->shut_done = 1;
  if (status < 0 || c->peer_eof) conn_close(c);
}

static void on_write(uv_write_t *req, int status) {
  status_conn_t *c = req->data;
  free(c->resp);
  c->resp = NULL;
  if (status < 0 || c->closing) {
    conn_close(c);
    return;
  }
  c->sreq.data = c;
  if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) conn_close(c);
}

/* Queues one complete response; body may be NULL when len is 0. A HEAD request gets the
 * headers of the GET response without its body. */
static void respond(status_conn_t *c, int code, const char *reason, const char *ctype,
                    const char *body, size_t len) {
  int head_only = c->head_done && c->parser.method == HTTP_HEAD;
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d %s\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %zu\r\n"
                   "Cache-Control: no-store\r\n"
                   "%s"
                   "Connection: close\r\n\r\n",
                   code, reason, ctype, len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
  size_t blen = head_only ? 0 : len;
  c->responded = 1;
  c->resp = malloc((size_t)n + blen);
  if (!c->resp) {
    LOG_E("status", "out of memory for a %zu-byte response", (size_t)n + blen);
    conn_close(c);
    return;
  }
  memcpy(c->resp, head, (size_t)n);
  if (blen) memcpy(c->resp + n, body, blen);
  uv_buf_t buf = uv_buf_init(c->resp, (unsigned)((size_t)n + blen));
  c->wreq.data = c;
  int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (rc < 0) {
    free(c->resp);
    c->resp = NULL;
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_timeout, STATUS_LINGER_MS, 0);
}

static void respond_error(status_conn_t *c, int code, const char *reason) {
  char body[128];
  int n = snprintf(body, sizeof(body), "%d %s\n", code, reason);
  respond(c, code, reason, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Answers a generated document; NULL from the source is a 500. */
static void respond_generated(status_conn_t *c, char *text, const char *ctype) {
  if (!text) {
    respond_error(c, 500, "Internal Server Error");
    return;
  }
  respond(c, 200, "OK", ctype, text, strlen(text));
  free(text);
}

/* /history: the source's status code and text (JSON on 200, a message otherwise). */
static void respond_history(status_conn_t *c, const char *q, size_t qlen) {
  char *text = NULL;
  int code = c->srv->src.history_json(c->srv->src.ctx, q, qlen, &text);
  if (!text || (code != 200 && code != 400 && code != 404)) {
    free(text);
    respond_error(c, 500, "Internal Server Error");
    return;
  }
  if (code == 200)
    respond(c, 200, "OK", "application/json", text, strlen(text));
  else
    respond(c, code, code == 400 ? "Bad Request" : "Not Found", "text/plain; charset=utf-8", text,
            strlen(text));
  free(text);
}

static void route(status_conn_t *c) {
  status_http_t *s = c->srv;
  if (c->parser.method != HTTP_GET && c->parser.method != HTTP_HEAD) {
    respond_error(c, 405, "Method Not Allowed");
    return;
  }
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (c->url_too_long) {
    respond_error(c, 404, "Not Found");
    return;
  }
  if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
    respond_error(c, 400, "Bad Request");
    return;
  }
  const char *path = c->url + u.field_data[UF_PATH].off;
  size_t plen = u.field_data[UF_PATH].len;
#define PATH_IS(lit) (plen == sizeof(lit) - 1 && memcmp(path, lit, plen) == 0)
  if ((PATH_IS("/") || PATH_IS("/index.html")) && s->src.page) {
    respond(c, 200, "OK", "text/html; charset=utf-8", s->src.page, s->src.page_len);
  } else if (PATH_IS("/") || PATH_IS("/index.html")) {
    respond(c, 200, "OK", "text/html; charset=utf-8", status_dashboard_html,
            status_dashboard_html_len);
  } else if (PATH_IS("/healthz")) {
    /* Liveness: the loop answered. Touches no run state and renders nothing, so it stays cheap
     * while /status (the readiness check) builds a snapshot. */
    respond(c, 200, "OK", "text/plain; charset=utf-8", "ok\n", 3);
  } else if (PATH_IS("/status") && s->src.status_json) {
    respond_generated(c, s->src.status_json(s->src.ctx), "application/json");
  } else if (PATH_IS("/metrics") && s->src.metrics_text) {
    respond_generated(c, s->src.metrics_text(s->src.ctx),
                      "text/plain; version=0.0.4; charset=utf-8");
  } else if (PATH_IS("/history") && s->src.history_json) {
    const char *q = u.field_set & (1 << UF_QUERY) ? c->url + u.field_data[UF_QUERY].off : NULL;
    size_t qlen = q ? u.field_data[UF_QUERY].len : 0;
    respond_history(c, q, qlen);
  } else if (PATH_IS("/runs") && s->src.runs_json) {
    respond_generated(c, s->src.runs_json(s->src.ctx), "application/json");
  } else {
    respond_error(c, 404, "Not Found");
  }
#undef PATH_IS
}

/* ---- reading the request ---- */

static int on_url(http_parser *p, const char *at, size_t len) {
  status_conn_t *c = p->data;
  if (c->url_len + len > STATUS_MAX_URL) {
    c->url_too_long = 1;
    return 0;
  }
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = '\0';
  return 0;
}

/* Pauses the parser so http_parser_execute returns at the end of the head. */
static int on_headers_complete(http_parser *p) {
  status_conn_t *c = p->data;
  c->head_done = 1;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_headers_complete = on_headers_complete,
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  status_conn_t *c = h->data;
  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  status_conn_t *c = stream->data;
  if (nread < 0) {
    /* A client may half-close right after its request (nc -N, shutdown(SHUT_WR)): the
     * response still goes out, and on_shutdown closes. Otherwise the peer is gone or done. */
    if (nread == UV_EOF && c->responded && !c->shut_done && !c->closing) {
      c->peer_eof = 1;
      uv_read_stop(stream);
      return;
    }
    conn_close(c);
    return;
  }
  if (nread == 0 || c->responded || c->closing) return;
  arm_request_timer(c);
  size_t n = http_parser_execute(&c->parser, &parser_settings, buf->base, (size_t)nread);
  c->head_bytes += n;
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->head_bytes > STATUS_MAX_HEAD || e == HPE_HEADER_OVERFLOW) {
    respond_error(c, 431, "Request Header Fields Too Large");
  } else if (c->head_done) {
    route(c);
  } else if (e != HPE_OK) {
    LOG_D("status", "bad request: %s", http_errno_description(e));
    respond_error(c, 400, "Bad Request");
  }
}

/* ---- accepting ---- */

static void on_rejected_closed(uv_handle_t *h) {
  status_http_t *s = h->data;
  free(h);
  s->handles--;
  maybe_done(s);
}

/* Nothing to make room with: accept and close at once, so the backlog does not fill. */
static void reject(status_http_t *s) {
  uv_tcp_t *t = malloc(sizeof(*t));
  if (!t) return;
  uv_tcp_init(s->loop, t);
  t->data = s;
  s->handles++;
  uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
  uv_close((uv_handle_t *)t, on_rejected_closed);
  if (s->rejected++ % 1000 == 0)
    LOG_W("status", "over %d connections: closing new ones (%lu so far)", STATUS_MAX_CONNS,
          s->rejected);
}

static int same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  if (a->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
  return 0;
}

/* A live connection that may be closed for a newcomer: still waiting for its request head
 * (rank 2) or answered and shut down (rank 1); one writing its response is kept (0). */
static int evict_rank(const status_conn_t *c) {
  if (c->closing) return 0;
  if (!c->responded) return 2;
  return c->shut_done ? 1 : 0;
}

/* Makes room for new connection c: when its address holds STATUS_MAX_PER_ADDR others, or the
 * table STATUS_MAX_CONNS, closes the oldest of them of the best rank. 0 when there is room. */
static int make_room(status_http_t *s, status_conn_t *c) {
  int live = 0, from_peer = 0;
  for (status_conn_t *o = s->conns; o; o = o->next) {
    if (o == c || o->closing) continue;
    live++;
    from_peer += same_host(&o->peer, &c->peer);
  }
  int per_addr = from_peer >= STATUS_MAX_PER_ADDR;
  if (!per_addr && live < STATUS_MAX_CONNS) return 0;
  status_conn_t *victim = NULL;
  int best = 0;
  for (status_conn_t *o = s->conns; o; o = o->next) { /* newest first: ">=" keeps the oldest */
    if (o == c || (per_addr && !same_host(&o->peer, &c->peer))) continue;
    int r = evict_rank(o);
    if (r > 0 && r >= best) {
      best = r;
      victim = o;
    }
  }
  if (!victim) return -1;
  if (s->evicted++ % 1000 == 0)
    LOG_W("status", "%s full: closing the oldest waiting connection (%lu so far)",
          per_addr ? "this address's share of connections" : "connection table", s->evicted);
  conn_close(victim);
  return 0;
}

static void on_connection(uv_stream_t *server, int status) {
  status_http_t *s = server->data;
  if (status < 0) {
    LOG_W("status", "accept: %s", uv_strerror(status));
    return;
  }
  if (s->closing) return;
  /* Closed connections wait for their close callbacks; a bound on those too. */
  if (s->nconns >= 2 * STATUS_MAX_CONNS) {
    reject(s);
    return;
  }
  status_conn_t *c = calloc(1, sizeof(*c));
  if (!c) {
    reject(s);
    return;
  }
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open_handles = 2;
  s->handles += 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->deadline = uv_now(s->loop) + s->request_ms;
  int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
  int plen = sizeof(c->peer);
  if (rc == 0 && uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &plen) != 0)
    c->peer.ss_family = AF_UNSPEC;
  if (rc == 0 && make_room(s, c) != 0) {
    if (s->rejected++ % 1000 == 0)
      LOG_W("status", "over %d connections, none waiting: closing new ones (%lu so far)",
            STATUS_MAX_CONNS, s->rejected);
    conn_close(c);
    return;
  }
  if (rc == 0) rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc < 0) {
    LOG_W("status", "accept: %s", uv_strerror(rc));
    conn_close(c);
    return;
  }
  arm_request_timer(c);
}

/* ---- start / stop ---- */

/* Binds and listens on a plain socket first, so a failure leaves no libuv handle behind
 * (the caller need not run the loop to clean up after an error). */
static int bind_listen(const addr_t *a, int *fd_out, int *bound_port, char *what, size_t whatlen) {
  int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int rc = -errno;
    snprintf(what, whatlen, "socket: %s", uv_strerror(rc));
    return rc;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (const struct sockaddr *)&a->sa, a->salen) < 0 || listen(fd, STATUS_BACKLOG) < 0) {
    int rc = -errno;
    snprintf(what, whatlen, "%s", uv_strerror(rc));
    close(fd);
    return rc;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound_port = addr_port(&ss);
  *fd_out = fd;
  return 0;
}

int status_http_start(uv_loop_t *loop, const char *host_port, const status_http_sources_t *src,
                      status_http_t **out, char *err, size_t errlen) {
  char what[512];
  int fd = -1, rc;
  *out = NULL;
  addr_t a;
  if (addr_resolve(host_port, &a, what, sizeof(what)) != 0) {
    snprintf(err, errlen, "status address %s", what);
    return UV_EINVAL;
  }
  status_http_t *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "status socket %s: out of memory", host_port);
    return UV_ENOMEM;
  }
  rc = bind_listen(&a, &fd, &s->port, what, sizeof(what));
  if (rc < 0) {
    snprintf(err, errlen, "status socket %s: %s", host_port, what);
    free(s);
    return rc;
  }
  s->loop = loop;
  s->src = *src;
  s->idle_ms = STATUS_IDLE_MS;
  s->request_ms = STATUS_REQUEST_MS;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->handles = 1;
  rc = uv_tcp_open(&s->listener, fd);
  if (rc < 0) close(fd); /* not owned by the handle */
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, STATUS_BACKLOG, on_connection);
  if (rc < 0) {
    /* Not expected on a socket that already listens; the handle closes when the loop runs. */
    snprintf(err, errlen, "status socket %s: %s", host_port, uv_strerror(rc));
    status_http_close(s, NULL, NULL);
    return rc;
  }
  LOG_I("status", "status socket on http://%s%s%s:%d/", strchr(a.host, ':') ? "[" : "", a.host,
        strchr(a.host, ':') ? "]" : "", s->port);
  *out = s;
  return 0;
}

int status_http_port(const status_http_t *s) { return s->port; }

void status_http_set_idle_timeout(status_http_t *s, uint64_t ms) { s->idle_ms = ms; }

void status_http_set_request_timeout(status_http_t *s, uint64_t ms) { s->request_ms = ms; }

static void on_listener_closed(uv_handle_t *h) {
  status_http_t *s = h->data;
  s->handles--;
  maybe_done(s);
}

void status_http_close(status_http_t *s, void (*done)(void *arg), void *arg) {
  if (s->closing) return;
  s->closing = 1;
  s->done = done;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  for (status_conn_t *c = s->conns; c; c = c->next) conn_close(c);
}
