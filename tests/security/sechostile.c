/* sechostile: hostile peers for the security tests (the tests/security/ scripts), on 127.0.0.1
 * only.
 *
 *   fake-learner PORTFILE MODE SECONDS   a learner that does not prove the token (MODE
 *       no-challenge: Welcome, Weights and Credit straight away; no-proof: Challenge, then the
 *       same without a Proof; bad-proof: Challenge, then a Proof of random bytes). Serves every
 *       connection for SECONDS; exits 0 when the worker sent no transitions and no stats.
 *   sealed-worker HOST PORT TOKENFILE CASE   a worker with the token that does the handshake
 *       and then: good (a sealed batch of 64, stays connected), replay (one sealed heartbeat
 *       sent twice), reorder (sealed heartbeats 1 then 0), alter (a sealed batch with a bit
 *       flipped), plain (an unsealed batch). The attacks exit 0 when the learner closes within 5 s.
 *   client HOST PORT CASE ...   bigframe (a 64 KiB HELLO header before authentication: refused
 *       within 2 s); trickle MS SECONDS (a Hello one byte every MS ms: closed within SECONDS);
 *       hold ADDR N [ADDR N ...] (N silent connections from each local ADDR; prints how many are
 *       still open after 1.5 s, then holds them 5 s more); errnl (Hello, then an Error whose reason
 *       holds a newline and a forged log line); failing SECONDS (a 4 KiB receive buffer, Hello,
 *       never reads, a bad frame after 1 s, then holds the socket SECONDS).
 * Frames carry protocol version $RLSERVE_WIRE_VERSION (default this build's), so the same
 * attacks run against an older binary; received headers are read without a version check. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "frame.h"
#include "seal.h"
#include "sock.h"
#include "tbatch.h"
#include "wire.h"

static int wirev = FRAME_PROTOCOL_VERSION;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sends a frame with the wire version under test; frees it. */
static int send_frame(int fd, uint8_t *f, size_t len) {
  if (!f) return -1;
  f[10] = (uint8_t)wirev;
  f[11] = (uint8_t)(wirev >> 8);
  int rc = sock_send_all(fd, f, len);
  free(f);
  return rc;
}

/* Reads one frame within ms: 1 (header in h, payload malloc'd in *p), 0 EOF or error, -1 timeout.
 */
static int read_frame(int fd, int ms, frame_header_t *h, uint8_t **p) {
  uint8_t hdr[FRAME_HEADER_SIZE];
  size_t got = 0, want = FRAME_HEADER_SIZE;
  uint8_t *buf = hdr;
  double end = now_s() + ms / 1000.0;
  *p = NULL;
  for (int phase = 0; phase < 2; phase++) {
    while (got < want) {
      int left = (int)((end - now_s()) * 1000);
      struct pollfd pf = {fd, POLLIN, 0};
      if (left <= 0 || poll(&pf, 1, left) == 0) {
        if (buf != hdr) free(buf);
        return -1;
      }
      ssize_t n = recv(fd, buf + got, want - got, 0);
      if (n <= 0) {
        if (buf != hdr) free(buf);
        return 0;
      }
      got += (size_t)n;
    }
    if (phase == 0) {
      h->length = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 | (uint32_t)hdr[6] << 16 |
                  (uint32_t)hdr[7] << 24;
      h->type = (uint16_t)(hdr[8] | hdr[9] << 8);
      h->version = (uint16_t)(hdr[10] | hdr[11] << 8);
      if (h->length > FRAME_MAX_PAYLOAD) return 0;
      buf = malloc(h->length + 1);
      got = 0;
      want = h->length;
    }
  }
  *p = buf;
  return 1;
}

static uint8_t *hello_frame(const uint8_t *mac, const uint8_t *nonce, size_t *len) {
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = (uint32_t)wirev;
  h.worker_name = "sechostile";
  h.host = "test";
  if (mac) {
    h.auth.data = (uint8_t *)mac;
    h.auth.len = AUTH_MAC;
    h.nonce.data = (uint8_t *)nonce;
    h.nonce.len = AUTH_NONCE;
  }
  return wire_encode(FRAME_HELLO, &h.base, len);
}

/* A valid CartPole batch of n transitions. */
static uint8_t *batch_frame(int n, size_t *len) {
  static float obs[64 * 4], a[64], r[64];
  static uint8_t flags[64];
  for (int i = 0; i < n * 4; i++) obs[i] = 0.01f * (float)(i % 7);
  for (int i = 0; i < n; i++) a[i] = (float)(i % 2), r[i] = 1.0f;
  tbatch_t b = {.n = (uint32_t)n,
                .obs_dim = 4,
                .act_dim = 1,
                .obs = obs,
                .act = a,
                .rew = r,
                .next_obs = obs,
                .flags = flags};
  return tbatch_encode(&b, len);
}

/* ---- fake-learner ---- */

/* Welcome for CartPole DQN with hidden = 16 (4*16+16 + 16*2+2 = 114 parameters), weights and a
 * credit window: everything a worker needs to act. */
static void send_run(int fd) {
  static config_t c;
  config_init(&c);
  char e[256];
  config_set(&c, "hidden", "16", e, sizeof e);
  size_t nf = config_field_count();
  Rlserve__ConfigEntry *ent = calloc(nf, sizeof *ent);
  Rlserve__ConfigEntry **ptrs = calloc(nf, sizeof *ptrs);
  char(*vals)[CONFIG_STR_MAX + 32] = calloc(nf, sizeof *vals);
  for (size_t i = 0; i < nf; i++) {
    rlserve__config_entry__init(&ent[i]);
    config_format(&c, config_field_at(i), vals[i], sizeof vals[i]);
    ent[i].key = (char *)config_field_at(i)->name;
    ent[i].value = vals[i];
    ptrs[i] = &ent[i];
  }
  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  w.worker_id = 1;
  w.n_config = nf;
  w.config = ptrs;
  w.seed = 7;
  w.epsilon_final = 0.05;
  w.obs_dim = 4;
  w.act_dim = 2;
  size_t len;
  {
    uint8_t *fr_ = wire_encode(FRAME_WELCOME, &w.base, &len);
    send_frame(fd, fr_, len);
  }
  free(ent);
  free(ptrs);
  free(vals);
  float params[114] = {0};
  {
    uint8_t *fr_ = wire_encode_weights(1, 0, params, 114, &len);
    send_frame(fd, fr_, len);
  }
  Rlserve__Credit cr = RLSERVE__CREDIT__INIT;
  cr.transitions = 1 << 20;
  {
    uint8_t *fr_ = wire_encode(FRAME_CREDIT, &cr.base, &len);
    send_frame(fd, fr_, len);
  }
}

static int fake_learner(const char *portfile, const char *mode, double seconds) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 8) != 0) return 2;
  getsockname(ls, (struct sockaddr *)&a, &al);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
  FILE *f = fopen(tmp, "w");
  fprintf(f, "%d\n", ntohs(a.sin_port));
  fclose(f);
  rename(tmp, portfile);
  int transitions = 0, stats = 0, conns = 0;
  double end = now_s() + seconds;
  while (now_s() < end) {
    struct pollfd pf = {ls, POLLIN, 0};
    if (poll(&pf, 1, 200) <= 0) continue;
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) continue;
    conns++;
    frame_header_t h;
    uint8_t *p;
    if (strcmp(mode, "no-challenge") != 0) {
      uint8_t nonce[AUTH_NONCE];
      auth_nonce(nonce);
      Rlserve__Challenge ch = RLSERVE__CHALLENGE__INIT;
      ch.nonce.data = nonce;
      ch.nonce.len = sizeof nonce;
      size_t len;
      {
        uint8_t *fr_ = wire_encode(FRAME_CHALLENGE, &ch.base, &len);
        send_frame(fd, fr_, len);
      }
      int rc = read_frame(fd, 5000, &h, &p); /* the worker's Hello */
      free(p);
      if (rc != 1) {
        close(fd);
        continue;
      }
      if (!strcmp(mode, "bad-proof")) {
        uint8_t junk[AUTH_MAC];
        auth_nonce(junk);
        Rlserve__Proof pr = RLSERVE__PROOF__INIT;
        pr.proof.data = junk;
        pr.proof.len = sizeof junk;
        {
          uint8_t *fr_ = wire_encode(FRAME_PROOF, &pr.base, &len);
          send_frame(fd, fr_, len);
        }
      }
    }
    send_run(fd);
    int rc;
    while (now_s() < end && (rc = read_frame(fd, 200, &h, &p)) != 0) {
      if (rc == 1 && h.type == FRAME_TRANSITIONS) transitions++;
      if (rc == 1 && h.type == FRAME_STATS) stats++;
      free(p);
    }
    close(fd);
  }
  close(ls);
  printf("fake learner (%s): %d connections; the worker sent %d transition and %d stats frames\n",
         mode, conns, transitions, stats);
  return transitions || stats ? 1 : 0;
}

/* ---- sealed-worker ---- */

/* Reads frames until EOF within ms (opening sealed ones with rx when given): 1 when the peer
 * closed, 0 when it was still open at the end. Prints any Error reason. */
static int await_close(int fd, int ms, seal_dir_t *rx) {
  double end = now_s() + ms / 1000.0;
  for (;;) {
    int left = (int)((end - now_s()) * 1000);
    if (left <= 0) return 0;
    frame_header_t h;
    uint8_t *p;
    int rc = read_frame(fd, left, &h, &p);
    if (rc == 0) return 1;
    if (rc < 0) return 0;
    size_t n = h.length;
    if (rx && seal_open(rx, &h, p, &n) != SEAL_OK) n = 0;
    if (h.type == FRAME_ERROR) {
      Rlserve__Error *e;
      char err[256];
      if (wire_decode_error(p, n, &e, err, sizeof err) == 0) {
        printf("  learner's error: %s\n", e->reason);
        rlserve__error__free_unpacked(e, NULL);
      }
    }
    free(p);
  }
}

static int sealed_worker(const char *host, int port, const char *tokenfile, const char *cas) {
  uint8_t key[AUTH_KEY], nl[AUTH_NONCE], nw[AUTH_NONCE], mac[AUTH_MAC];
  char err[512];
  if (auth_key_from_file(tokenfile, key, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  int fd = sock_dial(host, port, NULL, 0);
  frame_header_t h;
  uint8_t *p;
  Rlserve__Challenge *ch;
  if (read_frame(fd, 5000, &h, &p) != 1 || h.type != FRAME_CHALLENGE ||
      wire_decode_challenge(p, h.length, &ch, err, sizeof err) != 0 ||
      ch->nonce.len != AUTH_NONCE) {
    printf("no challenge from the learner\n");
    return 1;
  }
  memcpy(nl, ch->nonce.data, AUTH_NONCE);
  rlserve__challenge__free_unpacked(ch, NULL);
  free(p);
  auth_nonce(nw);
  auth_prove(key, AUTH_WORKER, nl, nw, mac);
  size_t len;
  {
    uint8_t *fr_ = hello_frame(mac, nw, &len);
    send_frame(fd, fr_, len);
  }
  Rlserve__Proof *pr;
  if (read_frame(fd, 5000, &h, &p) != 1 || h.type != FRAME_PROOF ||
      wire_decode_proof(p, h.length, &pr, err, sizeof err) != 0) {
    printf("no proof from the learner\n");
    return 1;
  }
  int ok = auth_verify(key, AUTH_LEARNER, nl, nw, pr->proof.data, pr->proof.len);
  rlserve__proof__free_unpacked(pr, NULL);
  free(p);
  if (!ok) {
    printf("the learner's proof does not verify\n");
    return 1;
  }
  seal_t s;
  seal_init(&s, key, nl, nw, SEAL_AS_WORKER);
  /* Welcome, Weights, Credit: sealed (the env name must not travel in the clear). */
  int got_credit = 0;
  for (int i = 0; i < 10 && !got_credit; i++) {
    if (read_frame(fd, 5000, &h, &p) != 1) {
      printf("the learner closed during the handshake\n");
      return 1;
    }
    if (h.type == FRAME_WELCOME && memmem(p, h.length, "CartPole", 8)) {
      printf("the Welcome travels in the clear\n");
      return 1;
    }
    size_t n;
    int rc = seal_open(&s.rx, &h, p, &n);
    if (rc != SEAL_OK) {
      printf("%s frame from the learner does not open: %s\n", frame_type_name(h.type),
             seal_strerror(rc));
      return 1;
    }
    got_credit = h.type == FRAME_CREDIT;
    free(p);
  }
  uint8_t *f, *a, *b;
  size_t alen, blen;
  int rc;
  if (!strcmp(cas, "good")) {
    f = batch_frame(64, &len);
    f[10] = (uint8_t)wirev;
    a = seal_frame_alloc(&s.tx, f, len, &alen, &rc);
    free(f);
    sock_send_all(fd, a, alen);
    free(a);
    int closed = await_close(fd, 1500, &s.rx);
    printf("good sealed batch: %s\n", closed ? "CLOSED" : "accepted");
    close(fd);
    return closed;
  }
  if (!strcmp(cas, "replay") || !strcmp(cas, "reorder")) {
    uint8_t *hb0 = wire_encode_empty(FRAME_HEARTBEAT, &len);
    a = seal_frame_alloc(&s.tx, hb0, len, &alen, &rc);
    b = seal_frame_alloc(&s.tx, hb0, len, &blen, &rc);
    free(hb0);
    if (!strcmp(cas, "replay")) {
      sock_send_all(fd, a, alen);
      sock_send_all(fd, a, alen);
    } else {
      sock_send_all(fd, b, blen);
      sock_send_all(fd, a, alen);
    }
    free(a);
    free(b);
  } else if (!strcmp(cas, "alter")) {
    f = batch_frame(64, &len);
    a = seal_frame_alloc(&s.tx, f, len, &alen, &rc);
    free(f);
    a[FRAME_HEADER_SIZE + 40] ^= 0x04;
    sock_send_all(fd, a, alen);
    free(a);
  } else if (!strcmp(cas, "plain")) {
    f = batch_frame(64, &len);
    send_frame(fd, f, len);
  } else {
    fprintf(stderr, "unknown case %s\n", cas);
    return 2;
  }
  int closed = await_close(fd, 5000, &s.rx);
  printf("%s: %s\n", cas, closed ? "connection closed" : "NOT CLOSED");
  close(fd);
  return closed ? 0 : 1;
}

/* ---- client ---- */

static int client(const char *host, int port, int argc, char **argv) {
  const char *cas = argv[0];
  size_t len;
  if (!strcmp(cas, "bigframe")) {
    int fd = sock_dial(host, port, NULL, 0);
    uint8_t hdr[FRAME_HEADER_SIZE];
    frame_header_encode(hdr, FRAME_HELLO, 64u << 10);
    uint8_t *f = malloc(sizeof hdr);
    memcpy(f, hdr, sizeof hdr);
    double t0 = now_s();
    send_frame(fd, f, sizeof hdr);
    int closed = await_close(fd, 2000, NULL);
    printf("64 KiB HELLO before authentication: %s after %.2f s\n",
           closed ? "refused" : "NOT REFUSED", now_s() - t0);
    close(fd);
    return closed ? 0 : 1;
  }
  if (!strcmp(cas, "trickle") && argc >= 3) {
    int ms = atoi(argv[1]);
    double limit = atof(argv[2]);
    int fd = sock_dial(host, port, NULL, 0);
    uint8_t *f = hello_frame(NULL, NULL, &len);
    f[10] = (uint8_t)wirev;
    double t0 = now_s();
    int closed = 0;
    for (size_t i = 0; now_s() - t0 < limit; i = (i + 1) % len) {
      if (sock_send_all(fd, f + i, 1) != 0 || await_close(fd, ms, NULL)) {
        closed = 1;
        break;
      }
    }
    free(f);
    printf("trickle (1 byte / %d ms): %s after %.2f s\n", ms, closed ? "closed" : "STILL OPEN",
           now_s() - t0);
    close(fd);
    return closed ? 0 : 1;
  }
  if (!strcmp(cas, "hold")) {
    int fds[1024], nfd = 0;
    const char *ip_of[1024];
    for (int i = 1; i + 1 < argc; i += 2)
      for (int k = 0; k < atoi(argv[i + 1]) && nfd < 1024; k++) {
        ip_of[nfd] = argv[i];
        fds[nfd++] = sock_dial(host, port, argv[i], 0);
        usleep(20000); /* accepted in order */
      }
    usleep(1500000);
    for (int i = 1; i + 1 < argc; i += 2) {
      int open = 0, n = 0;
      for (int k = 0; k < nfd; k++) {
        if (strcmp(ip_of[k], argv[i]) != 0) continue;
        n++;
        char buf[4096];
        ssize_t r;
        int closed = 0;
        while ((r = recv(fds[k], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        } /* a Challenge may be waiting */
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed = 1;
        open += !closed;
      }
      printf("%s: %d of %d open\n", argv[i], open, n);
    }
    fflush(stdout);
    usleep(5000000);
    for (int k = 0; k < nfd; k++) close(fds[k]);
    return 0;
  }
  if (!strcmp(cas, "errnl")) {
    int fd = sock_dial(host, port, NULL, 0);
    {
      uint8_t *fr_ = hello_frame(NULL, NULL, &len);
      send_frame(fd, fr_, len);
    }
    usleep(300000);
    Rlserve__Error e = RLSERVE__ERROR__INIT;
    e.code = 500;
    e.reason = "bye\n2099-01-01T00:00:00.000Z ERROR net: forged line\tend";
    {
      uint8_t *fr_ = wire_encode(FRAME_ERROR, &e.base, &len);
      send_frame(fd, fr_, len);
    }
    await_close(fd, 3000, NULL);
    close(fd);
    return 0;
  }
  if (!strcmp(cas, "failing") && argc >= 2) {
    int fd = sock_dial(host, port, NULL, 4096);
    {
      uint8_t *fr_ = hello_frame(NULL, NULL, &len);
      send_frame(fd, fr_, len);
    }
    usleep(1000000);
    {
      uint8_t *fr_ = hello_frame(NULL, NULL, &len);
      send_frame(fd, fr_, len);
    } /* a second Hello: refused */
    printf("holding a connection that never reads for %s s\n", argv[1]);
    fflush(stdout);
    usleep((useconds_t)(atof(argv[1]) * 1e6));
    close(fd);
    return 0;
  }
  fprintf(stderr, "unknown client case %s\n", cas);
  return 2;
}

int main(int argc, char **argv) {
  const char *v = getenv("RLSERVE_WIRE_VERSION");
  if (v && *v) wirev = atoi(v);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 5 && !strcmp(argv[1], "fake-learner"))
    return fake_learner(argv[2], argv[3], atof(argv[4]));
  if (argc == 6 && !strcmp(argv[1], "sealed-worker"))
    return sealed_worker(argv[2], atoi(argv[3]), argv[4], argv[5]);
  if (argc >= 5 && !strcmp(argv[1], "client"))
    return client(argv[2], atoi(argv[3]), argc - 4, argv + 4);
  fprintf(stderr, "usage: see the comment at the top of tests/security/sechostile.c\n");
  return 2;
}
