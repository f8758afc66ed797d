/* status_cmd: fetches GET /status over a plain blocking TCP socket, reads the response with
 * http_parser and prints it. */
#include "status_cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"

#define STATUS_CMD_TIMEOUT_MS 5000
#define STATUS_CMD_MAX_BODY (64u << 20) /* a status document is kilobytes; refuse runaway */

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve status HOST:PORT [--json]\n"
          "  Prints what a learner is doing, read from its status socket (GET /status).\n"
          "  --json  print the raw JSON instead of a table\n");
}

/* Connects with a timeout; returns the fd or -errno of the last attempt. */
static int connect_timeout(const struct addrinfo *ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    if (errno != EINPROGRESS) {
      int e = -errno;
      close(fd);
      return e;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int n = poll(&pfd, 1, STATUS_CMD_TIMEOUT_MS);
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (n == 0)
      soerr = ETIMEDOUT;
    else if (n < 0)
      soerr = errno;
    else
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
      close(fd);
      return -soerr;
    }
  }
  /* Back to blocking, with timeouts on every send and receive. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  struct timeval tv = {STATUS_CMD_TIMEOUT_MS / 1000, (STATUS_CMD_TIMEOUT_MS % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

typedef struct response {
  char *body;
  size_t len, cap;
  int complete;
  int too_big;
} response_t;

static int on_body(http_parser *p, const char *at, size_t len) {
  response_t *r = p->data;
  if (r->len + len > STATUS_CMD_MAX_BODY) {
    r->too_big = 1;
    return 1;
  }
  if (r->len + len + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 16384;
    while (cap < r->len + len + 1) cap *= 2;
    char *b = realloc(r->body, cap);
    if (!b) return 1;
    r->body = b;
    r->cap = cap;
  }
  memcpy(r->body + r->len, at, len);
  r->len += len;
  r->body[r->len] = '\0';
  return 0;
}

static int on_message_complete(http_parser *p) {
  ((response_t *)p->data)->complete = 1;
  return 0;
}

/* GET path from host:port. Returns 0 with the HTTP status in *code and the body in r, or
 * with a message printed 2 (the host does not resolve: bad input) or 1 (no answer). */
static int fetch(const char *addr, const addr_t *a, const char *path, int *code, response_t *r) {
  /* Every address the name has is tried in turn (addr_resolve keeps only the first, for a
   * listener): "localhost" may be ::1 first while the learner listens on 127.0.0.1. */
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(a->host, a->service, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "rlserve status: cannot resolve '%s': %s\n", a->host, gai_strerror(rc));
    return 2;
  }
  int fd = -ECONNREFUSED;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = connect_timeout(ai);
    if (fd >= 0) break;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    if (fd == -ECONNREFUSED)
      fprintf(stderr, "rlserve status: nothing listens on %s (connection refused)\n", addr);
    else if (fd == -ETIMEDOUT)
      fprintf(stderr, "rlserve status: %s did not answer within %d s (connection timed out)\n",
              addr, STATUS_CMD_TIMEOUT_MS / 1000);
    else
      fprintf(stderr, "rlserve status: cannot connect to %s (%s)\n", addr, strerror(-fd));
    return 1;
  }
  char req[512];
  int n = snprintf(req, sizeof(req),
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rlserve-status\r\n"
                   "Accept: application/json\r\nConnection: close\r\n\r\n",
                   path, addr);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    fprintf(stderr, "rlserve status: sending to %s: %s\n", addr, strerror(errno));
    close(fd);
    return 1;
  }
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = r;
  char buf[16384];
  int ret = 0;
  while (!r->complete) {
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      fprintf(stderr, "rlserve status: reading from %s: %s\n", addr,
              errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within 5 s" : strerror(errno));
      ret = 1;
      break;
    }
    /* got == 0 tells the parser about EOF, which ends a body without Content-Length. */
    size_t used = http_parser_execute(&parser, &settings, buf, (size_t)got);
    if (r->too_big) {
      fprintf(stderr, "rlserve status: %s sent more than %u bytes\n", addr, STATUS_CMD_MAX_BODY);
      ret = 1;
      break;
    }
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK || used != (size_t)got) {
      fprintf(stderr, "rlserve status: %s did not answer HTTP (%s)\n", addr,
              http_errno_description(HTTP_PARSER_ERRNO(&parser)));
      ret = 1;
      break;
    }
    if (got == 0 && !r->complete) {
      fprintf(stderr, "rlserve status: %s closed the connection before a full answer\n", addr);
      ret = 1;
      break;
    }
  }
  close(fd);
  *code = parser.status_code;
  return ret;
}

/* ---- the table ---- */

static const cJSON *get(const cJSON *o, const char *key) {
  return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* Formats a JSON number (integers without decimals) or a string into out; "-" otherwise. */
static const char *fmt(const cJSON *v, int decimals, char *out, size_t len) {
  if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 1e15)
      snprintf(out, len, "%.0f", d);
    else
      snprintf(out, len, "%.*f", decimals, d);
  } else if (cJSON_IsString(v)) {
    snprintf(out, len, "%s", v->valuestring);
  } else if (cJSON_IsBool(v)) {
    snprintf(out, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
  } else {
    snprintf(out, len, "-");
  }
  return out;
}

/* "host:pid" of a worker row in at most 24 columns: the host is cut (at a UTF-8 character, with
 * '~' marking the cut) so the table keeps its shape; "-" for a part the worker did not send. The
 * learner sends valid UTF-8 without control bytes; anything else is shown as '?'. */
static void host_pid(const cJSON *w, char *out, size_t len) {
  const cJSON *h = get(w, "host"), *p = get(w, "pid");
  char pid[24] = "-";
  if (cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble < 4294967296.0)
    snprintf(pid, sizeof pid, "%.0f", p->valuedouble);
  const char *host = cJSON_IsString(h) && h->valuestring[0] ? h->valuestring : "-";
  size_t room = 24 - 1 - strlen(pid); /* columns left for the host */
  size_t o = 0, cols = 0, hl = strlen(host);
  for (size_t i = 0; i < hl && o + 8 < len;) {
    unsigned char c = (unsigned char)host[i];
    size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (i + n > hl) n = hl - i;
    if (cols + 1 > room || (cols + 1 == room && i + n < hl)) { /* last column: the cut mark */
      out[o++] = '~';
      break;
    }
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xc0)) {
      out[o++] = '?';
      n = 1;
    } else {
      memcpy(out + o, host + i, n);
      o += n;
    }
    i += n;
    cols++;
  }
  snprintf(out + o, len - o, ":%s", pid);
}

/* F(obj, key, decimals, i) formats into b[i]; the arguments of one printf use distinct i. */
#define F(obj, key, dec, i) fmt(get(obj, key), dec, b[i], sizeof(b[0]))

static void print_table(const cJSON *st) {
  char b[16][128];
  const cJSON *run = get(st, "run"), *l = get(st, "learner"), *ev = get(st, "eval");
  const cJSON *ws = get(st, "workers");
  printf("run      %s on %s, preset %s, started %s, up %s s\n", F(run, "algo", 0, 0),
         F(run, "env", 0, 1), F(run, "preset", 0, 2), F(run, "started", 0, 3),
         F(run, "uptime_s", 1, 4));
  printf("learner  updates %s (%s/s)  env steps %s (%s/s)  replay %s/%s  samples/insert %s\n",
         F(l, "updates", 0, 0), F(l, "updates_per_s", 1, 1), F(l, "env_steps", 0, 2),
         F(l, "env_steps_per_s", 1, 3), F(l, "replay_size", 0, 4), F(l, "replay_capacity", 0, 5),
         F(l, "samples_per_insert", 2, 6));
  printf("         loss %s  mean Q %s  weights v%s  train return (100) %s\n", F(l, "loss", 5, 0),
         F(l, "mean_q", 3, 1), F(l, "weights_version", 0, 2), F(l, "train_return_mean100", 2, 3));
  printf("         last checkpoint %s\n", F(l, "last_checkpoint", 0, 0));
  if (cJSON_IsObject(ev))
    printf("eval     %s +- %s over %s episodes at %s env steps (%s)\n", F(ev, "mean", 2, 0),
           F(ev, "std", 2, 1), F(ev, "episodes", 0, 2), F(ev, "env_steps", 0, 3),
           F(ev, "at", 0, 4));
  else
    printf("eval     none yet\n");
  int nw = cJSON_IsArray(ws) ? cJSON_GetArraySize(ws) : 0;
  printf("workers  %d\n", nw);
  if (!nw) return;
  printf("  %4s  %-22s %-24s %5s %12s %10s %9s %11s %8s %8s %4s %12s %12s  %s\n", "id", "address",
         "host:pid", "envs", "env_steps", "steps/s", "episodes", "return100", "len100", "epsilon",
         "lag", "bytes_in", "bytes_out", "connected_since");
  const cJSON *w;
  cJSON_ArrayForEach(w, ws) {
    char hp[128];
    host_pid(w, hp, sizeof hp);
    printf("  %4s  %-22s %-24s %5s %12s %10s %9s %11s %8s %8s %4s %12s %12s  %s\n",
           F(w, "id", 0, 0), F(w, "addr", 0, 1), hp, F(w, "envs", 0, 2), F(w, "env_steps", 0, 3),
           F(w, "steps_per_s", 1, 4), F(w, "episodes", 0, 5), F(w, "return_mean100", 2, 6),
           F(w, "episode_length_mean100", 1, 12), F(w, "epsilon", 3, 7), F(w, "version_lag", 0, 8),
           F(w, "bytes_in", 0, 9), F(w, "bytes_out", 0, 10), F(w, "connected_since", 0, 11));
  }
}

#undef F

int status_main(int argc, char **argv) {
  const char *addr = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-' || addr) {
      fprintf(stderr, "rlserve status: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      addr = argv[i];
    }
  }
  if (!addr) {
    fprintf(stderr, "rlserve status: missing HOST:PORT of the learner's status socket\n");
    usage(stderr);
    return 2;
  }
  addr_t a;
  char aerr[512];
  if (addr_split(addr, &a, aerr, sizeof(aerr)) != 0) {
    fprintf(stderr, "rlserve status: bad address %s\n", aerr);
    return 2;
  }
  if (a.port == 0) {
    fprintf(stderr, "rlserve status: bad address '%s': port 0 is not a port to connect to\n", addr);
    return 2;
  }
  response_t r = {0};
  int code = 0;
  int rc = fetch(addr, &a, "/status", &code, &r);
  if (rc == 0 && code != 200) {
    fprintf(stderr, "rlserve status: %s answered HTTP %d for /status (is it an rlserve learner?)\n",
            addr, code);
    rc = 1;
  }
  if (rc == 0 && json) {
    fwrite(r.body ? r.body : "", 1, r.len, stdout);
    if (!r.len || r.body[r.len - 1] != '\n') putchar('\n');
  } else if (rc == 0) {
    cJSON *st = cJSON_ParseWithLength(r.body ? r.body : "", r.len);
    if (!cJSON_IsObject(st)) {
      fprintf(stderr,
              "rlserve status: %s answered /status with something that is not a JSON "
              "object\n",
              addr);
      rc = 1;
    } else {
      print_table(st);
    }
    cJSON_Delete(st);
  }
  free(r.body);
  if (fflush(stdout) != 0 && rc == 0) rc = 1;
  return rc;
}
