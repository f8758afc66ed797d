/* loadgen: a synthetic worker fleet for the learner's ingest path (server/learner/net.c).
 *
 * Opens N connections to a learner on 127.0.0.1, each doing a worker's token handshake
 * (Challenge -> Hello with its proof -> the learner's Proof; everything after it sealed,
 * common/seal.h), then replays one pre-encoded, valid TRANSITIONS frame (CartPole-v1: a batch
 * of --batch transitions of obs 4 inside the env's bounds) as fast as the learner's credit
 * lets it. Each sealed frame needs its connection's next counter, so during the handshake every
 * connection seals a stream of frames ahead (--presealed frames in all, split across the
 * connections); one that runs out seals its next stream during the window (that CPU time is
 * printed as "sealing in window"). The sealing cost per frame is measured and printed on its
 * own. No env steps and no encoding in the window: what is measured is the learner, which
 * opens, decodes, checks and inserts every frame.
 *
 * Accepted transitions are counted by the learner's credit: it grants a top-up for each batch it
 * inserted into replay (flow.h), so the credit granted during the window is what it accepted in
 * it. Prints, per connection count, accepted transitions/s (wall clock over --seconds; the best
 * of --rounds rounds, default 3, the levels taking turns so that each sees the machine's
 * moments).
 *
 * Usage: loadgen --port P --token-file F [--conns 1,4,16,64,256] [--seconds S] [--batch B]
 *                [--presealed FRAMES] (default 131072 frames, ~360 MB at batch 64) [--rounds R]
 * The learner must run with credit_window at least --batch, max_workers, max_unauth_conns and
 * max_unauth_per_addr at least the largest N, learning_starts and env_steps_budget so high
 * that ingest never waits for training, and eval_interval = 0: tests/bench/loadgen.sh starts
 * one so and stops it by PID. One thread, poll(). */
#define _GNU_SOURCE /* bench_machine.h */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bench_machine.h"
#include "frame.h"
#include "seal.h"
#include "tbatch.h"
#include "wire.h"

#define MAX_CONNS 1024
#define OBS 4
#define RBUF 65536
#define OUTQ 65536 /* bytes of handshake frames queued per connection at most */

typedef struct conn {
  int fd;
  int proven; /* the learner's Proof verified: what it sends now is sealed */
  int hello_sent;
  uint8_t nonce_l[AUTH_NONCE], nonce_w[AUTH_NONCE];
  seal_t seal;
  frame_reader_t reader;
  uint64_t credit, granted; /* credit not yet turned into bytes; all credit received */
  uint8_t *out;             /* handshake frames (plain) */
  size_t out_len, out_off;
  uint8_t *stream; /* stream_frames sealed batches, sent in order as the credit allows */
  size_t stream_frames, stream_off, allowed; /* bytes of the stream sent; bytes allowed */
} conn_t;

static uint8_t key[AUTH_KEY];
static uint8_t *plain_frame;
static size_t plain_len;
static uint32_t batch_n = 64;
static double seal_cpu; /* CPU seconds in seal_frame */
static size_t per_conn_frames = 1;

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

_Noreturn static void die(const char *what) {
  fprintf(stderr, "loadgen: %s\n", what);
  exit(1);
}

/* One CartPole-v1 batch inside the observation bounds, as a plain TRANSITIONS frame. */
static void build_frame(void) {
  float *obs = malloc(batch_n * OBS * sizeof(float)), *act = malloc(batch_n * sizeof(float));
  float *rew = malloc(batch_n * sizeof(float));
  uint8_t *flags = calloc(batch_n, 1);
  if (!obs || !act || !rew || !flags) die("out of memory");
  for (uint32_t i = 0; i < batch_n * OBS; i++) obs[i] = 0.01f * (float)(i % 13) - 0.05f;
  for (uint32_t i = 0; i < batch_n; i++) act[i] = (float)(i % 2), rew[i] = 1.0f;
  tbatch_t b = {.n = batch_n,
                .obs_dim = OBS,
                .act_dim = 1,
                .weights_version = 0,
                .worker_id = 1,
                .obs = obs,
                .act = act,
                .rew = rew,
                .next_obs = obs,
                .flags = flags};
  plain_frame = tbatch_encode(&b, &plain_len);
  if (!plain_frame) die("cannot encode the batch");
  free(obs);
  free(act);
  free(rew);
  free(flags);
}

static size_t frame_size(void) { return plain_len + SEAL_TAG; }

/* Seals the connection's next stream_frames batches (the counter advances per frame). */
static void seal_stream(conn_t *c) {
  double t0 = bench_now();
  for (size_t i = 0; i < c->stream_frames; i++)
    if (seal_frame(&c->seal.tx, plain_frame, plain_len, c->stream + i * frame_size()) != SEAL_OK)
      die("seal_frame failed");
  seal_cpu += bench_now() - t0;
  c->stream_off = 0;
}

/* Turns credit into bytes of the stream that may go out, a whole batch at a time. */
static void fill(conn_t *c) {
  while (c->proven && c->credit >= batch_n) {
    c->credit -= batch_n;
    c->allowed += frame_size();
  }
}

static void send_hello(conn_t *c) {
  uint8_t mac[AUTH_MAC];
  auth_nonce(c->nonce_w);
  auth_prove(key, AUTH_WORKER, c->nonce_l, c->nonce_w, mac);
  Rlserve__Hello hello = RLSERVE__HELLO__INIT;
  hello.protocol_version = FRAME_PROTOCOL_VERSION;
  hello.worker_name = "loadgen";
  hello.host = "127.0.0.1";
  hello.pid = (uint32_t)getpid();
  hello.num_envs = batch_n;
  hello.auth.data = mac;
  hello.auth.len = AUTH_MAC;
  hello.nonce.data = c->nonce_w;
  hello.nonce.len = AUTH_NONCE;
  size_t len;
  uint8_t *f = wire_encode(FRAME_HELLO, &hello.base, &len);
  if (!f || c->out_len + len > OUTQ) die("cannot queue the Hello");
  memcpy(c->out + c->out_len, f, len);
  c->out_len += len;
  free(f);
  c->hello_sent = 1;
  seal_init(&c->seal, key, c->nonce_l, c->nonce_w, SEAL_AS_WORKER);
  c->stream_frames = per_conn_frames;
  c->stream = malloc(c->stream_frames * frame_size());
  if (!c->stream) die("out of memory for the sealed streams");
  seal_stream(c); /* before the clock starts: the handshake is not measured */
}

/* One frame from the learner; -1 when it refused us. */
static int on_frame(conn_t *c, frame_header_t *h, uint8_t *p) {
  char err[512];
  if (c->proven) {
    size_t n;
    if (seal_open(&c->seal.rx, h, p, &n) != SEAL_OK) die("a sealed frame did not open");
    h->length = (uint32_t)n;
  }
  switch (h->type) {
    case FRAME_CHALLENGE: {
      Rlserve__Challenge *ch = NULL;
      if (c->hello_sent || wire_decode_challenge(p, h->length, &ch, err, sizeof err) != 0)
        die("bad or second challenge");
      if (ch->nonce.len != AUTH_NONCE) die("challenge nonce of the wrong size");
      memcpy(c->nonce_l, ch->nonce.data, AUTH_NONCE);
      rlserve__challenge__free_unpacked(ch, NULL);
      send_hello(c);
      return 0;
    }
    case FRAME_PROOF: {
      Rlserve__Proof *pr = NULL;
      if (wire_decode_proof(p, h->length, &pr, err, sizeof err) != 0) die(err);
      int ok =
          auth_verify(key, AUTH_LEARNER, c->nonce_l, c->nonce_w, pr->proof.data, pr->proof.len);
      rlserve__proof__free_unpacked(pr, NULL);
      if (!ok) die("the learner's proof does not verify (another token?)");
      c->proven = 1;
      frame_reader_set_limit(&c->reader, FRAME_MAX_PAYLOAD);
      return 0;
    }
    case FRAME_CREDIT: {
      Rlserve__Credit *cr;
      if (wire_decode_credit(p, h->length, &cr, err, sizeof err) != 0) die(err);
      c->credit += cr->transitions;
      c->granted += cr->transitions;
      rlserve__credit__free_unpacked(cr, NULL);
      fill(c);
      return 0;
    }
    case FRAME_ERROR: {
      Rlserve__Error *e;
      if (wire_decode_error(p, h->length, &e, err, sizeof err) == 0) {
        fprintf(stderr, "loadgen: the learner refused a connection: %s\n", e->reason);
        rlserve__error__free_unpacked(e, NULL);
      }
      return -1;
    }
    default: /* Welcome, Weights, Heartbeat: nothing to do */
      return 0;
  }
}

static int conn_open(conn_t *c, int port) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(c->fd);
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  frame_reader_init(&c->reader, FRAME_PREAUTH_MAX);
  c->out = malloc(OUTQ);
  return c->out ? 0 : -1;
}

static void conn_close(conn_t *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  frame_reader_free(&c->reader);
  free(c->out);
  free(c->stream);
  c->out = NULL;
  c->stream = NULL;
  seal_wipe(&c->seal);
}

/* Reads and handles what arrived; -1 when the connection ended. */
static int conn_read(conn_t *c) {
  static uint8_t buf[RBUF];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0) return -1;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (frame_reader_feed(&c->reader, buf, (size_t)n) != FRAME_OK) die("out of memory");
    frame_header_t h;
    const uint8_t *p;
    int rc;
    while ((rc = frame_reader_next(&c->reader, &h, &p)) == 1)
      if (on_frame(c, &h, (uint8_t *)(uintptr_t)p) != 0) return -1;
    if (rc < 0) die(frame_strerror(rc));
  }
}

static int wants_write(const conn_t *c) { return c->out_off < c->out_len || c->allowed > 0; }

static int conn_write(conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->out_off += (size_t)n;
  }
  c->out_len = c->out_off = 0;
  size_t total = c->stream_frames * frame_size();
  while (c->allowed > 0) {
    if (c->stream_off == total) seal_stream(c); /* ran out: the next stream, in the window */
    size_t len = total - c->stream_off < c->allowed ? total - c->stream_off : c->allowed;
    ssize_t n = write(c->fd, c->stream + c->stream_off, len);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->stream_off += (size_t)n;
    c->allowed -= (size_t)n;
  }
  return 0;
}

/* n connections for `seconds` after all have their first credit; accepted transitions/s.
 * *seal_in: CPU seconds spent sealing during the window. */
static double run_level(int port, int n, double seconds, size_t presealed, double *seal_in) {
  static conn_t conns[MAX_CONNS];
  static struct pollfd pfd[MAX_CONNS];
  per_conn_frames = (presealed + (size_t)n - 1) / (size_t)n;
  for (int i = 0; i < n; i++)
    if (conn_open(&conns[i], port) != 0) die("cannot connect to the learner");
  double t_start = wall(), t0 = 0, s0 = 0;
  uint64_t g0 = 0;
  int measuring = 0;
  for (;;) {
    double now = wall();
    if (!measuring) {
      int ready = 0;
      for (int i = 0; i < n; i++) ready += conns[i].proven && conns[i].granted > 0;
      if (ready == n) { /* every connection has its first window: start the clock */
        measuring = 1;
        t0 = now;
        s0 = seal_cpu;
        for (int i = 0; i < n; i++) g0 += conns[i].granted;
      } else if (now - t_start > 60) {
        die("the connections did not complete the handshake within 60 s");
      }
    } else if (now - t0 >= seconds) {
      break;
    }
    for (int i = 0; i < n; i++) {
      pfd[i].fd = conns[i].fd;
      pfd[i].events = POLLIN | (wants_write(&conns[i]) ? POLLOUT : 0);
      pfd[i].revents = 0;
    }
    if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR) die("poll failed");
    for (int i = 0; i < n; i++) {
      if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && conn_read(&conns[i]) != 0)
        die("the learner closed a connection");
      if (wants_write(&conns[i]) && conn_write(&conns[i]) != 0)
        die("a write to the learner failed");
    }
  }
  double dt = wall() - t0;
  uint64_t g1 = 0;
  for (int i = 0; i < n; i++) g1 += conns[i].granted;
  *seal_in = seal_cpu - s0;
  for (int i = 0; i < n; i++) conn_close(&conns[i]);
  return (double)(g1 - g0) / dt;
}

int main(int argc, char **argv) {
  int port = 0, levels[16], n_levels = 0;
  double seconds = 1;
  long presealed = 131072;
  int rounds = 3;
  const char *token = NULL, *conns = "1,4,16,64,256";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--token-file") && i + 1 < argc)
      token = argv[++i];
    else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
      conns = argv[++i];
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch_n = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--presealed") && i + 1 < argc)
      presealed = atol(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: %s --port P --token-file F [--conns 1,4,16,64,256] [--seconds S] "
              "[--batch B] [--presealed FRAMES] [--rounds R]\n",
              argv[0]);
      return 2;
    }
  }
  for (const char *p = conns; *p && n_levels < 16;) {
    int v = atoi(p);
    if (v < 1 || v > MAX_CONNS) die("--conns: each count must be 1..1024");
    levels[n_levels++] = v;
    p = strchr(p, ',');
    if (!p) break;
    p++;
  }
  if (port <= 0 || port > 65535 || !token || batch_n < 1 || batch_n > 65536 || seconds <= 0 ||
      presealed < 1 || rounds < 1 || rounds > 100) {
    fprintf(stderr,
            "loadgen: give --port, --token-file, a --batch of 1..65536, --seconds > 0 and "
            "--presealed >= 1, --rounds 1..100\n");
    return 2;
  }
  char err[512];
  if (auth_key_from_file(token, key, err, sizeof err) != 0) die(err);
  bench_print_machine(argc, argv);
  build_frame();
  printf(
      "frame:    CartPole-v1 TRANSITIONS, %u transitions of obs %d: %zu bytes plain, %zu sealed\n",
      batch_n, OBS, plain_len, frame_size());
  { /* The sealing cost on its own: frames sealed back to back on this thread. */
    seal_t s;
    uint8_t nl[AUTH_NONCE] = {1}, nw[AUTH_NONCE] = {2};
    seal_init(&s, key, nl, nw, SEAL_AS_WORKER);
    uint8_t *o = malloc(frame_size());
    if (!o) die("out of memory");
    double t0 = bench_now();
    long k = 0;
    for (; bench_now() - t0 < 0.2; k++) seal_frame(&s.tx, plain_frame, plain_len, o);
    double us = 1e6 * (bench_now() - t0) / (double)k;
    printf("sealing:  %.2f us per frame, %.1f ns per transition, %.0f MB/s (one thread)\n", us,
           1e3 * us / batch_n, (double)frame_size() / us);
    free(o);
    seal_wipe(&s);
  }
  printf("window:   %.1f s per level, %ld frames sealed ahead per level\n", seconds, presealed);
  printf("rounds:   %d; each level once per round, in turn; the best round of each counts\n",
         rounds);
  double best[16] = {0}, seal_at_best[16] = {0};
  for (int r = 0; r < rounds; r++)
    for (int l = 0; l < n_levels; l++) {
      double seal_in;
      double rate = run_level(port, levels[l], seconds, (size_t)presealed, &seal_in);
      if (rate > best[l]) best[l] = rate, seal_at_best[l] = seal_in;
    }
  printf("%8s %16s %20s\n", "conns", "accepted/s", "sealing in window");
  for (int l = 0; l < n_levels; l++)
    printf("%8d %16.0f %18.3f s\n", levels[l], best[l], seal_at_best[l]);
  return 0;
}
