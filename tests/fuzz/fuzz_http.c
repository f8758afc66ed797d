/* libFuzzer target: the status socket's request handling, end to end. status_http has no
 * pure parsing function (it parses inside its read callback), so the real server runs on a
 * libuv loop in this process, started once on 127.0.0.1:0 with fake sources. Each input is
 * sent over a fresh TCP connection, then the client half-closes and reads until EOF while
 * the loop runs (UV_RUN_NOWAIT steps, bounded).
 *
 * Input: byte 0 picks the piece sizes the request is written in (1, 7, 300 bytes or all at
 * once; the loop runs between pieces, so the server sees them as separate reads), the rest
 * is the request. Sources fail (a 500) when the request contains "fail". /history serves a
 * small history (server/status/history.c) through its query parser.
 *
 * Checks: the answer is "HTTP/1.1 <code> " with code one of 200 400 404 405 431 500 503 and
 * its length is head + Content-Length (head only for HEAD); a request head that is
 * complete, malformed or over 8 KiB is answered, one that is cut short gets no bytes (the
 * connection just closes); the connection is never reset; afterwards the server has closed
 * every connection handle (only the listener is left on the loop). */
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "history.h"
#include "log.h"
#include "status_http.h"

#define MAX_HEAD 8192   /* STATUS_MAX_HEAD in status_http.c */
#define MAX_STEPS 20000 /* loop steps per phase; a step polls for at most 1 ms when idle */
#define KEEP 1024       /* response bytes kept for checking (the head is far shorter) */

#define FAIL(...)                               \
  do {                                          \
    fprintf(stderr, "fuzz_http: " __VA_ARGS__); \
    fputc('\n', stderr);                        \
    abort();                                    \
  } while (0)

static uv_loop_t loop;
static status_http_t *srv;
static struct sockaddr_in srv_addr;
static int sources_fail;

static char *dup_or_fail(const char *s) { return sources_fail ? NULL : strdup(s); }
static char *fake_status(void *ctx) {
  (void)ctx;
  return dup_or_fail("{\"ok\":true}\n");
}
static char *fake_metrics(void *ctx) {
  (void)ctx;
  return dup_or_fail("# TYPE rlserve_up gauge\nrlserve_up 1\n");
}

static history_t hist;
static int fake_history(void *ctx, const char *query, size_t qlen, char **out) {
  (void)ctx;
  uint64_t since = 0;
  if (history_query_u64(query, qlen, "since", &since) < 0) {
    *out = dup_or_fail("since must be a row number\n");
    return 400;
  }
  *out = sources_fail ? NULL : history_json(&hist, since);
  return 200;
}

static void start_once(void) {
  if (srv) return;
  signal(SIGPIPE, SIG_IGN);
  log_set_level(LOG_OFF);
  if (uv_loop_init(&loop) != 0) FAIL("uv_loop_init");
  if (history_init(&hist, 8) != 0) FAIL("history_init");
  for (int i = 0; i < 20; i++) {
    char row[64];
    int n = snprintf(row, sizeof row, "{\"env_steps\":%d}", 100 * i);
    history_add(&hist, row, (size_t)n);
  }
  status_http_sources_t src = {
      .status_json = fake_status, .metrics_text = fake_metrics, .history_json = fake_history};
  char err[256];
  if (status_http_start(&loop, "127.0.0.1:0", &src, &srv, err, sizeof err) != 0)
    FAIL("status_http_start: %s", err);
  memset(&srv_addr, 0, sizeof srv_addr);
  srv_addr.sin_family = AF_INET;
  srv_addr.sin_port = htons((uint16_t)status_http_port(srv));
  srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* What the server must do with this request, by the same parser: answer it (the head is
 * complete, malformed or too long) or close without a word (the head is cut short). */
static int head_done;
static int on_head(http_parser *p) {
  head_done = 1;
  http_parser_pause(p, 1);
  return 0;
}
static int expect_answer(const uint8_t *req, size_t n, int *is_head) {
  static const http_parser_settings settings = {.on_headers_complete = on_head};
  http_parser p;
  http_parser_init(&p, HTTP_REQUEST);
  head_done = 0;
  size_t used = http_parser_execute(&p, &settings, (const char *)req, n);
  /* Past MAX_HEAD the server may have answered 431 before it saw the end of the head, so
   * a HEAD request may or may not get the body: -1 accepts either. */
  *is_head = !(head_done && p.method == HTTP_HEAD) ? 0 : used > MAX_HEAD ? -1 : 1;
  return head_done || used > MAX_HEAD || HTTP_PARSER_ERRNO(&p) != HPE_OK;
}

static void count_handle(uv_handle_t *h, void *arg) {
  (void)h;
  ++*(int *)arg;
}
static int loop_handles(void) {
  int n = 0;
  uv_walk(&loop, count_handle, &n);
  return n;
}

/* One loop step; after the first few idle ones, waits up to 1 ms for the loop or the
 * client so a slow step does not spin. */
static void step(int fd, int idle) {
  uv_run(&loop, UV_RUN_NOWAIT);
  if (idle > 8) {
    struct pollfd pf[2] = {{uv_backend_fd(&loop), POLLIN, 0}, {fd, POLLIN, 0}};
    poll(pf, fd >= 0 ? 2 : 1, 1);
  }
}

static void check_response(const char *r, size_t kept, size_t total, int is_head) {
  static const char *const codes[] = {"200", "400", "404", "405", "431", "500", "503"};
  if (kept < 13 || memcmp(r, "HTTP/1.1 ", 9) != 0 || r[12] != ' ')
    FAIL("response does not start with a status line: '%.*s'", (int)(kept < 40 ? kept : 40), r);
  int ok = 0;
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) ok |= memcmp(r + 9, codes[i], 3) == 0;
  if (!ok) FAIL("unexpected status '%.3s'", r + 9);
  const char *end = NULL;
  for (size_t i = 0; i + 4 <= kept; i++)
    if (memcmp(r + i, "\r\n\r\n", 4) == 0) {
      end = r + i + 4;
      break;
    }
  if (!end) FAIL("response head not terminated in its first %zu bytes", kept);
  const char *cl = NULL;
  for (const char *p = r; p + 17 < end; p++)
    if (memcmp(p, "\r\nContent-Length: ", 18) == 0) {
      cl = p + 18;
      break;
    }
  if (!cl) FAIL("response without Content-Length");
  size_t body = (size_t)strtoull(cl, NULL, 10);
  size_t want = (size_t)(end - r) + (is_head == 1 ? 0 : body);
  if (total != want && !(is_head == -1 && total == (size_t)(end - r)))
    FAIL("response of %zu bytes; head and Content-Length %zu say %zu", total, body, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  start_once();
  size_t maxpiece = (data[0] & 3) == 0   ? 1
                    : (data[0] & 3) == 1 ? 7
                    : (data[0] & 3) == 2 ? 300
                                         : size;
  data++;
  size--;
  int is_head;
  int answer = expect_answer(data, size, &is_head);
  sources_fail = 0;
  for (size_t i = 0; i + 4 <= size && !sources_fail; i++)
    sources_fail = !memcmp(data + i, "fail", 4);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) FAIL("socket: %s", strerror(errno));
  /* Loopback connects complete in the backlog without the loop accepting. */
  if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0)
    FAIL("connect: %s", strerror(errno));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  char resp[KEEP];
  size_t sent = 0, kept = 0, total = 0;
  int shut = 0, eof = 0, idle = 0;
  for (int i = 0; !eof; i++) {
    if (i >= MAX_STEPS + (int)size)
      FAIL("no EOF after %d loop steps (sent %zu of %zu, got %zu)", i, sent, size, total);
    int progress = 0;
    if (sent < size) {
      size_t n = size - sent < maxpiece ? size - sent : maxpiece;
      ssize_t w = send(fd, data + sent, n, MSG_NOSIGNAL);
      if (w > 0) {
        sent += (size_t)w;
        progress = 1;
      } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        FAIL("send after %zu bytes: %s", sent, strerror(errno));
      }
    }
    if (sent == size && !shut) {
      shutdown(fd, SHUT_WR);
      shut = 1;
    }
    step(fd, idle);
    for (;;) {
      char buf[16384];
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r > 0) {
        size_t k = (size_t)r < KEEP - kept ? (size_t)r : KEEP - kept;
        memcpy(resp + kept, buf, k);
        kept += k;
        total += (size_t)r;
        progress = 1;
      } else if (r == 0) {
        eof = 1;
        break;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        break;
      } else {
        FAIL("recv after %zu response bytes: %s (the server reset the connection)", total,
             strerror(errno));
      }
    }
    idle = progress ? 0 : idle + 1;
  }
  close(fd);

  if (!answer && total) FAIL("a request cut short was answered: '%.*s'", (int)kept, resp);
  if (answer && !total) FAIL("a complete or malformed request head got no answer");
  if (total) check_response(resp, kept, total, is_head);

  /* The server closes its side once it has our EOF; wait for every handle but the
   * listener to be gone, so connections never pile up between inputs. */
  for (int i = 0, idle_steps = 0; loop_handles() > 1; i++, idle_steps++) {
    if (i >= MAX_STEPS) FAIL("%d connection handles still open", loop_handles() - 1);
    step(-1, idle_steps);
  }
  return 0;
}
