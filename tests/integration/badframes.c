/* badframes HOST PORT: a hostile client for the learner. For every class of bad input it opens
 * a connection, says Hello, sends the bad frame and requires the learner to answer with an
 * Error frame (or to close) within 5 s; then it sends one good batch of 64 transitions on a
 * fresh connection. The driver script checks that the learner kept running and ingested
 * exactly those 64 transitions: nothing from a bad frame reached replay. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "rlserve.pb-c.h"
#include "sock.h"
#include "tbatch.h"
#include "wire.h"

static const char *host;
static int port;

static int dial(void) { return sock_dial(host, port, NULL, 0); }
/* The learner may already have closed: that is fine. */
static void send_all(int fd, const void *p, size_t n) { (void)sock_send_all(fd, p, n); }

/* Reads frames for up to 5 s. Returns the type of an Error frame (FRAME_ERROR) with its reason
 * copied out, 0 when the learner closed without one, -1 on timeout. Skips Welcome/Weights. */
static int await_error(int fd, char *reason, size_t rlen) {
  frame_reader_t r;
  frame_reader_init(&r, FRAME_MAX_PAYLOAD);
  uint8_t buf[65536];
  reason[0] = 0;
  for (int waited = 0; waited < 5000;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) == 0) {
      waited += 100;
      continue;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      frame_reader_free(&r);
      return 0;
    }
    frame_reader_feed(&r, buf, (size_t)n);
    frame_header_t h;
    const uint8_t *pl;
    while (frame_reader_next(&r, &h, &pl) == 1) {
      if (h.type == FRAME_ERROR) {
        Rlserve__Error *e;
        char err[256];
        if (wire_decode_error(pl, h.length, &e, err, sizeof err) == 0) {
          snprintf(reason, rlen, "%s", e->reason);
          rlserve__error__free_unpacked(e, NULL);
        }
        frame_reader_free(&r);
        return FRAME_ERROR;
      }
    }
  }
  frame_reader_free(&r);
  return -1;
}

static void hello(int fd, uint32_t version) {
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = version;
  h.worker_name = "badframes";
  h.host = "test";
  size_t len;
  uint8_t *f = wire_encode(FRAME_HELLO, &h.base, &len);
  send_all(fd, f, len);
  free(f);
}

/* A CartPole batch of n transitions, optionally damaged. */
static uint8_t *batch(int n, int obs_dim, float act, float rew0, size_t *len) {
  static float obs[256 * 8], next[256 * 8], a[256], r[256];
  static uint8_t flags[256];
  for (int i = 0; i < n * obs_dim; i++) obs[i] = next[i] = 0.01f * (float)(i % 7);
  for (int i = 0; i < n; i++) {
    a[i] = act;
    r[i] = i == 0 ? rew0 : 1.0f;
    flags[i] = 0;
  }
  tbatch_t b = {.n = (uint32_t)n,
                .obs_dim = (uint32_t)obs_dim,
                .act_dim = 1,
                .obs = obs,
                .act = a,
                .rew = r,
                .next_obs = next,
                .flags = flags};
  return tbatch_encode(&b, len);
}

static int failures = 0;

/* One case: connect, optionally Hello, send `bytes`, optionally half-close, expect refusal. */
static void expect_refused(const char *name, int say_hello, const uint8_t *bytes, size_t n,
                           int half_close, const char *want) {
  int fd = dial();
  if (say_hello) hello(fd, FRAME_PROTOCOL_VERSION);
  send_all(fd, bytes, n);
  if (half_close) shutdown(fd, SHUT_WR);
  char reason[512];
  int rc = await_error(fd, reason, sizeof reason);
  close(fd);
  int ok = rc == 0 || (rc == FRAME_ERROR && (!want || strstr(reason, want)));
  printf("%-28s %s  (%s%s)\n", name, ok ? "refused" : "NOT REFUSED",
         rc == FRAME_ERROR ? "error frame: " : (rc == 0 ? "closed" : "timeout"), reason);
  if (!ok) failures++;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: badframes HOST PORT\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  uint8_t hdr[FRAME_HEADER_SIZE + 16];
  size_t len;

  frame_header_encode(hdr, FRAME_TRANSITIONS, 1000);
  expect_refused("truncated frame", 1, hdr, FRAME_HEADER_SIZE + 10, 1, NULL);

  frame_header_encode(hdr, FRAME_TRANSITIONS, 0x7fffffff);
  expect_refused("oversized length", 1, hdr, FRAME_HEADER_SIZE, 0, "exceeds limit");

  frame_header_encode(hdr, 99, 0);
  expect_refused("unknown frame type", 1, hdr, FRAME_HEADER_SIZE, 0, "type");

  frame_header_encode(hdr, FRAME_HEARTBEAT, 0);
  hdr[10] = 7; /* protocol version field */
  expect_refused("other protocol version", 1, hdr, FRAME_HEADER_SIZE, 0, "version");

  const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  expect_refused("garbage bytes", 0, (const uint8_t *)garbage, sizeof garbage - 1, 0, NULL);

  {
    int fd = dial();
    hello(fd, 99);
    char reason[512];
    int rc = await_error(fd, reason, sizeof reason);
    close(fd);
    int ok = rc == FRAME_ERROR && strstr(reason, "protocol version");
    printf("%-28s %s  (%s)\n", "hello with version 99", ok ? "refused" : "NOT REFUSED", reason);
    if (!ok) failures++;
  }

  uint8_t *f = batch(64, 4, 0, 1, &len);
  expect_refused("transitions before hello", 0, f, len, 0, "Hello");
  free(f);

  f = batch(64, 5, 0, 1, &len);
  expect_refused("wrong obs dimension", 1, f, len, 0, "obs_dim");
  free(f);

  f = batch(64, 4, 0, NAN, &len);
  expect_refused("NaN reward", 1, f, len, 0, NULL);
  free(f);

  f = batch(64, 4, 0, INFINITY, &len);
  expect_refused("Inf reward", 1, f, len, 0, NULL);
  free(f);

  f = batch(64, 4, 2, 1, &len); /* CartPole has actions 0 and 1 */
  expect_refused("action out of range", 1, f, len, 0, NULL);
  free(f);

  { /* packed-bit observations ("obs_enc" = "bits") for CartPole, whose are not binary */
    static uint8_t bits[64];
    static float a[64], r[64];
    static uint8_t fl[64];
    tbatch_t b = {.n = 64, .obs_dim = 4, .act_dim = 1, .obs = bits, .act = a, .rew = r,
                  .next_obs = bits, .flags = fl, .obs_enc = TBATCH_OBS_BITS};
    f = tbatch_encode(&b, &len);
    expect_refused("bits for a float env", 1, f, len, 0, "not binary");
    free(f);
  }

  f = batch(64, 4, 0, 1, &len);
  f[FRAME_HEADER_SIZE + 3] ^= 0xff; /* damage the msgpack map */
  expect_refused("corrupt msgpack", 1, f, len, 0, NULL);
  free(f);

  /* One good batch on a fresh connection. */
  int fd = dial();
  hello(fd, FRAME_PROTOCOL_VERSION);
  f = batch(64, 4, 1, 1, &len);
  send_all(fd, f, len);
  free(f);
  sleep(1);
  close(fd);
  printf("good batch of 64 sent\n");
  return failures ? 1 : 0;
}
