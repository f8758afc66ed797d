/* hostile: a client (or a fake learner) that holds the run's token but not its good faith,
 * for the security tests (tests/security_data.cmake). One mode per attack:
 *
 *   hostile poison HOST PORT TOKEN SECONDS   streams CartPole-v1 batches whose unbounded
 *       velocity dims hold +-3e38 (finite, within the declared bounds) for SECONDS, within
 *       the credit the learner grants; prints how many transitions went in.
 *   hostile oob HOST PORT TOKEN   one batch with obs[0] = 100 (CartPole's bound is 4.8), one
 *       with reward 5 (its range is [0, 1]); each must be refused with an Error naming the
 *       value. Exit 0 when both were.
 *   hostile stats HOST PORT TOKEN   a Stats frame claiming env_steps = episodes = dropped =
 *       weights_version = 2^64-1, the connection then held for 3 s; prints the learner's
 *       answer.
 *   hostile fake-learner PORTFILE ENV PLUGIN   listens on 127.0.0.1:0 (port into PORTFILE),
 *       takes one worker's Hello and answers with a Welcome whose config names env_plugin =
 *       PLUGIN and env = ENV, then prints what the worker answers (it must refuse, and must not
 *       have loaded PLUGIN).
 *
 * The handshake a worker does is in one function, handshake(), so a change of the handshake
 * is one edit here. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "frame.h"
#include "rlserve.pb-c.h"
#include "seal.h"
#include "sock.h"
#include "tbatch.h"
#include "wire.h"

typedef struct conn {
  int fd;
  frame_reader_t r;
  uint64_t credit; /* transitions the learner granted and we have not sent */
  char error[512]; /* the reason of an Error frame from the peer, "" if none */
  int closed;
  int sealed; /* after the handshake every frame is sealed both ways (common/seal.h) */
  seal_t s;
} conn_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int send_frame(conn_t *c, uint8_t *f, size_t len) {
  if (f && c->sealed) {
    size_t slen;
    int src;
    uint8_t *sf = seal_frame_alloc(&c->s.tx, f, len, &slen, &src);
    free(f);
    f = sf;
    len = slen;
  }
  int rc = f ? sock_send_all(c->fd, f, len) : -1;
  free(f);
  return rc;
}

/* Reads what has arrived within ms milliseconds and handles it: Credit adds to c->credit, an
 * Error is kept in c->error; the type of the last frame of interest (want) is returned
 * through *got and its payload decoded by the caller via c->r (0 if none). */
static int pump(conn_t *c, int ms, int want, uint8_t **payload, size_t *plen) {
  double end = now_s() + ms / 1000.0;
  uint8_t buf[65536];
  do {
    frame_header_t h;
    const uint8_t *pl;
    while (frame_reader_next(&c->r, &h, &pl) == 1) {
      if (c->sealed) {
        size_t n;
        if (seal_open(&c->s.rx, &h, (uint8_t *)pl, &n) != SEAL_OK) {
          c->closed = 1;
          return 0;
        }
        h.length = (uint32_t)n;
      }
      if (h.type == FRAME_CREDIT) {
        Rlserve__Credit *cr;
        char err[128];
        if (wire_decode_credit(pl, h.length, &cr, err, sizeof err) == 0) {
          c->credit += cr->transitions;
          rlserve__credit__free_unpacked(cr, NULL);
        }
      } else if (h.type == FRAME_ERROR) {
        Rlserve__Error *e;
        char err[128];
        if (wire_decode_error(pl, h.length, &e, err, sizeof err) == 0) {
          snprintf(c->error, sizeof c->error, "%u %s", e->code, e->reason);
          rlserve__error__free_unpacked(e, NULL);
        }
      }
      if (want && (int)h.type == want) {
        *payload = malloc(h.length ? h.length : 1);
        memcpy(*payload, pl, h.length);
        *plen = h.length;
        return want;
      }
    }
    if (c->closed) return 0;
    int left = (int)((end - now_s()) * 1000);
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, left > 0 ? left : 0) <= 0) continue;
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0) {
      c->closed = 1;
      return 0;
    }
    frame_reader_feed(&c->r, buf, (size_t)n);
  } while (now_s() < end);
  return 0;
}

/* The worker's side of the handshake (protocol 2, common/auth.h): the Challenge, the Hello
 * with our nonce and proof, the learner's Proof checked, then sealed frames and the Welcome.
 * 0, or -1 with a message on stderr. */
static int handshake(conn_t *c, const uint8_t key[AUTH_KEY]) {
  uint8_t *pl = NULL, nl[AUTH_NONCE], nw[AUTH_NONCE], mac[AUTH_MAC];
  size_t len = 0;
  char err[256];
  if (pump(c, 5000, FRAME_CHALLENGE, &pl, &len) != FRAME_CHALLENGE) {
    fprintf(stderr, "hostile: no Challenge from the learner (%s)\n", c->error);
    return -1;
  }
  Rlserve__Challenge *ch;
  if (wire_decode_challenge(pl, len, &ch, err, sizeof err) != 0 || ch->nonce.len != AUTH_NONCE) {
    fprintf(stderr, "hostile: bad Challenge %s\n", err);
    free(pl);
    return -1;
  }
  memcpy(nl, ch->nonce.data, AUTH_NONCE);
  rlserve__challenge__free_unpacked(ch, NULL);
  free(pl);
  auth_nonce(nw);
  auth_prove(key, AUTH_WORKER, nl, nw, mac);
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = FRAME_PROTOCOL_VERSION;
  h.worker_name = "hostile";
  h.host = "hostile";
  h.num_envs = 4;
  h.auth.data = mac;
  h.auth.len = AUTH_MAC;
  h.nonce.data = nw;
  h.nonce.len = AUTH_NONCE;
  size_t flen;
  uint8_t *hf = wire_encode(FRAME_HELLO, &h.base, &flen);
  if (send_frame(c, hf, flen) != 0) return -1;
  if (pump(c, 5000, FRAME_PROOF, &pl, &len) != FRAME_PROOF) {
    fprintf(stderr, "hostile: no Proof (%s)\n", c->error);
    return -1;
  }
  Rlserve__Proof *pr;
  int ok = wire_decode_proof(pl, len, &pr, err, sizeof err) == 0;
  ok = ok && auth_verify(key, AUTH_LEARNER, nl, nw, pr->proof.data, pr->proof.len);
  if (pr && ok) rlserve__proof__free_unpacked(pr, NULL);
  free(pl);
  if (!ok) {
    fprintf(stderr, "hostile: the learner's proof does not verify\n");
    return -1;
  }
  seal_init(&c->s, key, nl, nw, SEAL_AS_WORKER);
  c->sealed = 1;
  if (pump(c, 5000, FRAME_WELCOME, &pl, &len) != FRAME_WELCOME) {
    fprintf(stderr, "hostile: no Welcome (%s)\n", c->error);
    return -1;
  }
  free(pl);
  return 0;
}

static void open_conn(conn_t *c, const char *host, int port, const char *token) {
  memset(c, 0, sizeof *c);
  uint8_t key[AUTH_KEY];
  char err[512];
  if (auth_key_from_file(token, key, err, sizeof err) != 0) {
    fprintf(stderr, "hostile: %s\n", err);
    exit(2);
  }
  c->fd = sock_dial(host, port, NULL, 0);
  frame_reader_init(&c->r, FRAME_MAX_PAYLOAD);
  if (handshake(c, key) != 0) exit(2);
}

static void close_conn(conn_t *c) {
  close(c->fd);
  frame_reader_free(&c->r);
}

/* A CartPole-v1 batch of n rows: obs and next_obs from `fill`, actions 0/1, reward `rew`. */
static uint8_t *cartpole_batch(uint32_t n, float velocity, float x, float rew, size_t *len) {
  float *obs = malloc(n * 4 * sizeof(float)), *act = malloc(n * sizeof(float));
  float *r = malloc(n * sizeof(float));
  uint8_t *flags = calloc(n, 1);
  for (uint32_t i = 0; i < n; i++) {
    float s = i % 2 ? 1.0f : -1.0f;
    obs[i * 4 + 0] = x;
    obs[i * 4 + 1] = s * velocity;
    obs[i * 4 + 2] = 0.01f;
    obs[i * 4 + 3] = -s * velocity;
    act[i] = (float)(i % 2);
    r[i] = rew;
  }
  tbatch_t b = {.n = n,
                .obs_dim = 4,
                .act_dim = 1,
                .weights_version = 1,
                .worker_id = 1,
                .obs = obs,
                .act = act,
                .rew = r,
                .next_obs = obs,
                .flags = flags};
  uint8_t *f = tbatch_encode(&b, len);
  free(obs);
  free(act);
  free(r);
  free(flags);
  return f;
}

static int mode_poison(const char *host, int port, const char *token, double seconds) {
  conn_t c;
  open_conn(&c, host, port, token);
  uint64_t sent = 0;
  double end = now_s() + seconds;
  while (now_s() < end && !c.closed && !c.error[0]) {
    uint8_t *pl;
    size_t len;
    pump(&c, c.credit >= 32 ? 0 : 50, 0, &pl, &len);
    while (c.credit >= 32) {
      size_t flen;
      uint8_t *f = cartpole_batch(32, 3e38f, 0.0f, 1.0f, &flen);
      if (send_frame(&c, f, flen) != 0) break;
      c.credit -= 32;
      sent += 32;
    }
  }
  printf("hostile poison: %llu transitions with +-3e38 velocities sent%s%s\n",
         (unsigned long long)sent, c.error[0] ? "; learner said: " : "", c.error);
  close_conn(&c);
  return 0;
}

/* Sends one batch on a fresh connection; 1 when the learner answers with an Error naming
 * `want`. */
static int refused(const char *host, int port, const char *token, const char *what, float x,
                   float rew, const char *want) {
  conn_t c;
  open_conn(&c, host, port, token);
  uint8_t *pl;
  size_t len, flen;
  pump(&c, 500, 0, &pl, &len); /* the first credit */
  uint8_t *bf = cartpole_batch(8, 0.5f, x, rew, &flen);
  send_frame(&c, bf, flen);
  for (int i = 0; i < 50 && !c.error[0] && !c.closed; i++) pump(&c, 100, 0, &pl, &len);
  int ok = strstr(c.error, want) != NULL;
  printf("hostile oob: %-24s %s (%s)\n", what, ok ? "refused" : "NOT REFUSED",
         c.error[0] ? c.error : "no error frame");
  close_conn(&c);
  return ok;
}

static int mode_oob(const char *host, int port, const char *token) {
  int a = refused(host, port, token, "obs[0] = 100", 100.0f, 1.0f, "obs[0] = 100");
  int b = refused(host, port, token, "reward = 5", 0.0f, 5.0f, "reward = 5");
  return a && b ? 0 : 1;
}

static int mode_stats(const char *host, int port, const char *token) {
  conn_t c;
  open_conn(&c, host, port, token);
  Rlserve__Stats s = RLSERVE__STATS__INIT;
  s.env_steps = s.episodes = s.dropped = s.weights_version = UINT64_MAX;
  s.steps_per_sec = 1e300;
  size_t len;
  uint8_t *sf = wire_encode(FRAME_STATS, &s.base, &len);
  send_frame(&c, sf, len);
  printf("hostile stats: Stats sent\n");
  fflush(stdout);
  uint8_t *pl;
  /* Held open for 3 s, so the status socket shows what the learner made of it. */
  for (int i = 0; i < 30 && !c.error[0] && !c.closed; i++) pump(&c, 100, 0, &pl, &len);
  printf("hostile stats: sent env_steps = 2^64-1; learner said: %s\n", c.error[0] ? c.error
                                                                       : c.closed ? "(closed)"
                                                                                  : "(nothing)");
  close_conn(&c);
  return 0;
}

static int mode_fake_learner(const char *portfile, const char *env, const char *plugin) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0 ||
      getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
    perror("fake-learner: listen");
    return 2;
  }
  FILE *f = fopen(portfile, "w");
  fprintf(f, "%d\n", ntohs(a.sin_port));
  fclose(f);
  struct pollfd p = {ls, POLLIN, 0};
  if (poll(&p, 1, 20000) <= 0) {
    fprintf(stderr, "fake-learner: no worker came\n");
    return 2;
  }
  conn_t c;
  memset(&c, 0, sizeof c);
  c.fd = accept(ls, NULL, NULL);
  frame_reader_init(&c.r, FRAME_MAX_PAYLOAD);
  uint8_t *pl;
  size_t len;
  if (pump(&c, 5000, FRAME_HELLO, &pl, &len) != FRAME_HELLO) {
    fprintf(stderr, "fake-learner: no Hello\n");
    return 2;
  }
  free(pl);
  Rlserve__ConfigEntry e[3] = {RLSERVE__CONFIG_ENTRY__INIT, RLSERVE__CONFIG_ENTRY__INIT,
                               RLSERVE__CONFIG_ENTRY__INIT};
  e[0].key = "env_plugin";
  e[0].value = (char *)plugin;
  e[1].key = "env";
  e[1].value = (char *)env;
  e[2].key = "hidden";
  e[2].value = "16";
  Rlserve__ConfigEntry *ep[3] = {&e[0], &e[1], &e[2]};
  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  w.worker_id = 1;
  w.n_config = 3;
  w.config = ep;
  w.seed = 1;
  w.obs_dim = 2;
  w.act_dim = 2;
  uint8_t *wf = wire_encode(FRAME_WELCOME, &w.base, &len);
  send_frame(&c, wf, len);
  for (int i = 0; i < 50 && !c.error[0] && !c.closed; i++) pump(&c, 100, 0, &pl, &len);
  printf("fake-learner: worker said: %s\n", c.error[0] ? c.error
                                            : c.closed ? "(closed)"
                                                       : "(nothing)");
  close_conn(&c);
  close(ls);
  return 0;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "";
  if (!strcmp(m, "poison") && argc == 6)
    return mode_poison(argv[2], atoi(argv[3]), argv[4], atof(argv[5]));
  if (!strcmp(m, "oob") && argc == 5) return mode_oob(argv[2], atoi(argv[3]), argv[4]);
  if (!strcmp(m, "stats") && argc == 5) return mode_stats(argv[2], atoi(argv[3]), argv[4]);
  if (!strcmp(m, "fake-learner") && argc == 5) return mode_fake_learner(argv[2], argv[3], argv[4]);
  fprintf(stderr,
          "usage: hostile poison HOST PORT TOKEN SECONDS | oob HOST PORT TOKEN |\n"
          "       stats HOST PORT TOKEN | fake-learner PORTFILE ENV PLUGIN\n");
  return 2;
}
