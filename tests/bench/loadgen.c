/* loadgen: a synthetic worker fleet for the learner's ingest path (server/learner/net.c,
 * ingest.c).
 *
 * Opens N connections to a learner on 127.0.0.1, each doing a worker's token handshake
 * (Challenge -> Hello with its proof -> the learner's Proof; everything after it sealed,
 * common/seal.h), then replays one pre-encoded, valid TRANSITIONS frame as fast as the
 * learner's credit lets it. Two kinds of batch (--batch transitions each):
 *   cartpole  CartPole-v1: obs 4 float32 inside the env's bounds, act 1 of 2 actions;
 *   minatar   MinAtar/Breakout-v0 sized: obs 10x10x4 binary channels (paddle, ball, trail,
 *             bricks) sent as packed bits (obs_enc "bits": 400 bits = 50 bytes per
 *             observation), act 1 of 6 actions, reward 0 or 1.
 * Each sealed frame needs its connection's next counter, so during the handshake every
 * connection seals a stream of frames ahead (--presealed-mb of frames in all, split across the
 * connections); one that runs out seals its next stream during the window (that CPU time is
 * printed as "seal in window"). The sealing cost per frame is measured and printed on its own.
 * No env steps and no encoding in the window: what is measured is the learner, which opens,
 * decodes, checks and inserts every frame.
 *
 * Accepted transitions are counted by the learner's credit: it grants a top-up for each batch it
 * inserted into replay (flow.h), so the credit granted during the window is what it accepted in
 * it. Several learners may be given (--learner, e.g. one with ingest_threads = 1 and one with
 * ingest_threads = T): each round runs every connection count against every learner in turn,
 * so the sides of a ratio see the same moments of the machine; per (learner, connection count)
 * the best of --rounds rounds counts. With the learner's PID loadgen also reads, over that
 * window, the CPU time of the learner's net thread (the main thread) and of its decode threads
 * (named rl-ingest*) from /proc, and prints accepted transitions per CPU second of the busiest
 * of them: the rate the ingest path would reach with a core of its own per thread.
 *
 * Usage: loadgen --token-file F --learner NAME,KIND,PORT[,PID] [--learner ...]
 *                [--conns 1,4,16,64,256] [--seconds S] [--batch B] [--presealed-mb MB]
 *                [--rounds R]
 *        loadgen --token-file F --learner NAME,KIND,PORT --overrun
 *   (a test: one connection sends one batch beyond its credit; exit 0 when the learner closes it
 *   with an Error naming the credit, 429)
 * Output: a header, then one "row" line per learner and connection count:
 *   row NAME KIND CONNS ACCEPTED/S NET_CPU DECODE_CPU DECODE_MAX PER_BUSIEST_CPU_S SEAL_S
 *       LOADGEN_CPU NET_WAIT (the net thread's time runnable without a core)
 * (CPU as a fraction of one core over the window; -1 without a PID).
 * A learner must run with credit_window at least --batch, max_workers, max_unauth_conns and
 * max_unauth_per_addr at least the largest N, learning_starts and env_steps_budget so high
 * that ingest never waits for training, and eval_interval = 0: tests/bench/loadgen.sh starts
 * them so and stops them by PID. One thread, epoll (only the connections that are ready cost
 * anything, so 256 connections cost loadgen little more than 16). */
#define _GNU_SOURCE /* bench_machine.h */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bench_machine.h"
#include "frame.h"
#include "obsbits.h"
#include "seal.h"
#include "tbatch.h"
#include "wire.h"

#define MAX_CONNS 1024
#define MAX_LEARNERS 8
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
  int out_armed;   /* EPOLLOUT registered: a write would block */
  uint8_t *stream; /* stream_frames sealed batches, sent in order as the credit allows */
  size_t stream_frames, stream_off, allowed; /* bytes of the stream sent; bytes allowed */
} conn_t;

static uint8_t key[AUTH_KEY];
/* The batch of the level being run (the kind of its learner). */
static uint8_t *plain_frame;
static size_t plain_len;
static uint32_t batch_n = 64;
static double seal_cpu; /* CPU seconds in seal_frame */
static size_t per_conn_frames = 1;
static char last_error[512]; /* the reason of the last Error frame a learner sent */
static int quiet_errors;     /* --overrun: the Error is expected */

enum { KIND_CARTPOLE, KIND_MINATAR, KIND_END };
static const char *const kind_names[KIND_END] = {"cartpole", "minatar"};
static uint8_t *kind_frame[KIND_END];
static size_t kind_len[KIND_END];

typedef struct learner_ref {
  char name[32];
  int kind, port, pid;
} learner_ref_t;

static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
static void build_cartpole(void) {
  const uint32_t od = 4;
  float *obs = malloc(batch_n * od * sizeof(float)), *act = malloc(batch_n * sizeof(float));
  float *rew = malloc(batch_n * sizeof(float));
  uint8_t *flags = calloc(batch_n, 1);
  if (!obs || !act || !rew || !flags) die("out of memory");
  for (uint32_t i = 0; i < batch_n * od; i++) obs[i] = 0.01f * (float)(i % 13) - 0.05f;
  for (uint32_t i = 0; i < batch_n; i++) act[i] = (float)(i % 2), rew[i] = 1.0f;
  tbatch_t b = {.n = batch_n,
                .obs_dim = od,
                .act_dim = 1,
                .worker_id = 1,
                .obs = obs,
                .act = act,
                .rew = rew,
                .next_obs = obs,
                .flags = flags};
  kind_frame[KIND_CARTPOLE] = tbatch_encode(&b, &kind_len[KIND_CARTPOLE]);
  if (!kind_frame[KIND_CARTPOLE]) die("cannot encode the CartPole batch");
  free(obs);
  free(act);
  free(rew);
  free(flags);
}

/* One MinAtar/Breakout-v0 sized batch: 10x10 cells x 4 channels (MinAtar's 10x10xC state,
 * channel innermost), a paddle on the bottom row, a ball and its trail, three rows of bricks,
 * packed 400 bits -> 50 bytes per observation (common/obsbits.h). */
static void build_minatar(void) {
  enum { ROWS = 10, COLS = 10, CH = 4, OD = ROWS * COLS * CH };
  size_t row = obsbits_bytes(OD);
  uint8_t *obs = malloc(batch_n * row), *next = malloc(batch_n * row);
  float *act = malloc(batch_n * sizeof(float)), *rew = malloc(batch_n * sizeof(float));
  uint8_t *flags = calloc(batch_n, 1);
  float cells[OD];
  if (!obs || !next || !act || !rew || !flags) die("out of memory");
  for (uint32_t i = 0; i < batch_n; i++) {
    for (int t = 0; t < 2; t++) { /* t = 1: the next observation, the ball one cell on */
      memset(cells, 0, sizeof cells);
      int px = (int)(i % COLS), bx = (int)((i + (uint32_t)t) % COLS), by = 3 + (int)((i + t) % 6);
      cells[(9 * COLS + px) * CH + 0] = 1;                            /* paddle */
      cells[(by * COLS + bx) * CH + 1] = 1;                           /* ball */
      cells[((by - 1) * COLS + (bx + COLS - 1) % COLS) * CH + 2] = 1; /* trail */
      for (int y = 1; y <= 3; y++)
        for (int x = 0; x < COLS; x++)
          if ((x + y + (int)i) % 7) cells[(y * COLS + x) * CH + 3] = 1; /* bricks, some gone */
      char err[160];
      if (obsbits_pack(cells, OD, (t ? next : obs) + i * row, err, sizeof err) != 0) die(err);
    }
    act[i] = (float)(i % 6);
    rew[i] = (i % 16 == 0) ? 1.0f : 0.0f;
  }
  tbatch_t b = {.n = batch_n,
                .obs_dim = OD,
                .act_dim = 1,
                .worker_id = 1,
                .obs = obs,
                .act = act,
                .rew = rew,
                .next_obs = next,
                .flags = flags,
                .obs_enc = TBATCH_OBS_BITS};
  kind_frame[KIND_MINATAR] = tbatch_encode(&b, &kind_len[KIND_MINATAR]);
  if (!kind_frame[KIND_MINATAR]) die("cannot encode the MinAtar batch");
  free(obs);
  free(next);
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
      /* Sealed here, after the learner's handshake deadline is met, before the clock starts. */
      c->stream_frames = per_conn_frames; /* 0: --overrun seals its own frame */
      if (c->stream_frames) {
        c->stream = malloc(c->stream_frames * frame_size());
        if (!c->stream) die("out of memory for the sealed streams");
        seal_stream(c);
      }
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
        snprintf(last_error, sizeof last_error, "%s", e->reason);
        if (!quiet_errors)
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

/* CPU seconds the learner's threads have used (/proc/PID/task/TID/schedstat, nanoseconds):
 * the net thread (TID = PID) and each decode thread (named rl-ingest*). -1 without a PID. */
typedef struct learner_cpu {
  double net, net_wait, decode_sum, decode[64];
  int tid[64], n_decode;
} learner_cpu_t;

/* CPU seconds of one thread, and in *wait the seconds it was runnable but waited for a core. */
static double task_cpu(int pid, const char *tid, double *wait) {
  char path[320];
  snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, tid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  unsigned long long ns = 0, w = 0;
  int ok = fscanf(f, "%llu %llu", &ns, &w) == 2;
  fclose(f);
  if (wait) *wait = 1e-9 * (double)w;
  return ok ? 1e-9 * (double)ns : -1;
}

static void read_cpu(int pid, learner_cpu_t *u) {
  memset(u, 0, sizeof *u);
  u->net = -1;
  if (pid <= 0) return;
  char dir[64], pids[16];
  snprintf(dir, sizeof dir, "/proc/%d/task", pid);
  snprintf(pids, sizeof pids, "%d", pid);
  u->net = task_cpu(pid, pids, &u->net_wait);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && u->n_decode < 64) {
    if (e->d_name[0] == '.') continue;
    char path[320], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", pid, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
    fclose(f);
    if (strncmp(comm, "rl-ingest", 9) != 0) continue;
    double t = task_cpu(pid, e->d_name, NULL);
    if (t < 0) continue;
    u->tid[u->n_decode] = atoi(e->d_name);
    u->decode[u->n_decode++] = t;
    u->decode_sum += t;
  }
  closedir(d);
}

/* Over a window: each thread's CPU as a fraction of a core. */
typedef struct level_result {
  double rate, net, decode_sum, decode_max, seal_in, busiest;
  double loadgen;  /* this process's CPU over the window, fraction of a core */
  double net_wait; /* the net thread's time runnable but without a core, fraction of the window */
} level_result_t;

static void cpu_delta(const learner_cpu_t *a, const learner_cpu_t *b, double dt,
                      level_result_t *r) {
  r->net = r->decode_sum = r->decode_max = r->net_wait = -1;
  if (a->net < 0 || b->net < 0) return;
  r->net = (b->net - a->net) / dt;
  r->net_wait = (b->net_wait - a->net_wait) / dt;
  r->decode_sum = r->decode_max = 0;
  for (int i = 0; i < b->n_decode; i++)
    for (int k = 0; k < a->n_decode; k++) {
      if (a->tid[k] != b->tid[i]) continue;
      double f = (b->decode[i] - a->decode[k]) / dt;
      r->decode_sum += f;
      if (f > r->decode_max) r->decode_max = f;
    }
}

/* n connections to learner l for `seconds` after all have their first credit. */
static void run_level(const learner_ref_t *l, int n, double seconds, size_t presealed_bytes,
                      level_result_t *res) {
  static conn_t conns[MAX_CONNS];
  static struct epoll_event evs[MAX_CONNS];
  plain_frame = kind_frame[l->kind];
  plain_len = kind_len[l->kind];
  size_t all = presealed_bytes / frame_size();
  per_conn_frames = (all + (size_t)n - 1) / (size_t)n;
  if (per_conn_frames < 1) per_conn_frames = 1;
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1 failed");
  for (int i = 0; i < n; i++) {
    if (conn_open(&conns[i], l->port) != 0) die("cannot connect to the learner");
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &e) != 0) die("epoll_ctl failed");
  }
  double t_start = wall(), t0 = 0, s0 = 0, p0 = 0;
  uint64_t g0 = 0;
  int measuring = 0;
  learner_cpu_t c0, c1;
  for (;;) {
    double now = wall();
    if (!measuring) {
      int ready = 0;
      for (int i = 0; i < n; i++) ready += conns[i].proven && conns[i].granted > 0;
      if (ready == n) { /* every connection has its first window: start the clock */
        measuring = 1;
        read_cpu(l->pid, &c0);
        t0 = wall();
        s0 = seal_cpu;
        p0 = process_cpu();
        for (int i = 0; i < n; i++) g0 += conns[i].granted;
      } else if (now - t_start > 60) {
        die("the connections did not complete the handshake within 60 s");
      }
    } else if (now - t0 >= seconds) {
      break;
    }
    int k = epoll_wait(ep, evs, MAX_CONNS, 100);
    if (k < 0 && errno != EINTR) die("epoll_wait failed");
    for (int i = 0; i < n; i++)
      if (conns[i].out_armed && wants_write(&conns[i]) && conn_write(&conns[i]) != 0)
        die("a write to the learner failed");
    for (int e = 0; e < k; e++) {
      conn_t *c = &conns[evs[e].data.u32];
      if ((evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(c) != 0)
        die("the learner closed a connection");
      if (wants_write(c) && conn_write(c) != 0) die("a write to the learner failed");
      int want = wants_write(c); /* still: the socket is full */
      if (want) continue;        /* retried after every wake-up below, not only on EPOLLOUT */
      if (want != c->out_armed) {
        struct epoll_event m = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                .data.u32 = evs[e].data.u32};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &m) != 0) die("epoll_ctl failed");
        c->out_armed = want;
      }
    }
  }
  uint64_t g1 = 0;
  for (int i = 0; i < n; i++) g1 += conns[i].granted;
  double dt = wall() - t0;
  read_cpu(l->pid, &c1);
  res->rate = (double)(g1 - g0) / dt;
  res->seal_in = seal_cpu - s0;
  cpu_delta(&c0, &c1, dt, res);
  double busiest = res->net > res->decode_max ? res->net : res->decode_max;
  res->busiest = busiest > 0 ? res->rate / busiest : -1;
  res->loadgen = (process_cpu() - p0) / dt;
  for (int i = 0; i < n; i++) conn_close(&conns[i]);
  close(ep);
}

/* --overrun: one connection sends, after its first credit, one CartPole frame of --batch
 * transitions more than the learner granted; the learner must close it with an Error naming the
 * credit (429). 0 when it did within 10 s. (Frames within the grant get topped up as they are
 * inserted, so only one frame larger than the grant overruns for sure.) */
static int run_overrun(const learner_ref_t *l) {
  static conn_t c;
  quiet_errors = 1;
  per_conn_frames = 0;
  if (conn_open(&c, l->port) != 0) die("cannot connect to the learner");
  double t0 = wall();
  int sent = 0;
  while (wall() - t0 < 10) {
    struct pollfd p = {.fd = c.fd, .events = POLLIN | (wants_write(&c) ? POLLOUT : 0)};
    if (poll(&p, 1, 100) < 0 && errno != EINTR) die("poll failed");
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && conn_read(&c) != 0) break; /* closed */
    if (!sent && c.proven && c.granted > 0) {
      uint32_t n = batch_n;
      batch_n = (uint32_t)c.granted + n; /* one batch beyond the grant, in one frame */
      free(kind_frame[KIND_CARTPOLE]);
      build_cartpole();
      batch_n = n;
      size_t len = kind_len[KIND_CARTPOLE] + SEAL_TAG;
      uint8_t *f = malloc(len);
      if (!f ||
          seal_frame(&c.seal.tx, kind_frame[KIND_CARTPOLE], kind_len[KIND_CARTPOLE], f) != SEAL_OK)
        die("cannot seal the overrunning frame");
      for (size_t off = 0; off < len;) { /* the socket is non-blocking: wait for room */
        ssize_t w = write(c.fd, f + off, len - off);
        if (w > 0)
          off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
          break;
        else {
          struct pollfd q = {.fd = c.fd, .events = POLLOUT};
          poll(&q, 1, 100);
        }
        if (wall() - t0 > 10) break;
      }
      free(f);
      sent = 1;
      printf("overrun:  granted %llu transitions, sent one frame of %llu\n",
             (unsigned long long)c.granted, (unsigned long long)c.granted + n);
    }
    if (!sent && wants_write(&c) && conn_write(&c) != 0) break; /* the Hello */
  }
  conn_close(&c);
  printf("overrun:  the learner said: %s\n", last_error[0] ? last_error : "(nothing)");
  return strstr(last_error, "beyond the") && strstr(last_error, "granted (credit)") ? 0 : 1;
}

/* NAME,KIND,PORT[,PID] */
static void parse_learner(const char *arg, learner_ref_t *l) {
  char kind[32] = "";
  memset(l, 0, sizeof *l);
  int got = sscanf(arg, "%31[^,],%31[^,],%d,%d", l->name, kind, &l->port, &l->pid);
  l->kind = -1;
  for (int k = 0; k < KIND_END; k++)
    if (!strcmp(kind, kind_names[k])) l->kind = k;
  if (got < 3 || l->kind < 0 || l->port <= 0 || l->port > 65535) {
    fprintf(stderr,
            "loadgen: --learner %s: expected NAME,KIND,PORT[,PID] with KIND cartpole or minatar\n",
            arg);
    exit(2);
  }
}

int main(int argc, char **argv) {
  int levels[16], n_levels = 0, n_learners = 0;
  learner_ref_t learners[MAX_LEARNERS];
  double seconds = 1, presealed_mb = 600;
  int rounds = 3, overrun = 0;
  const char *token = NULL, *conns = "1,4,16,64,256";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--learner") && i + 1 < argc && n_learners < MAX_LEARNERS)
      parse_learner(argv[++i], &learners[n_learners++]);
    else if (!strcmp(argv[i], "--token-file") && i + 1 < argc)
      token = argv[++i];
    else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
      conns = argv[++i];
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch_n = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--presealed-mb") && i + 1 < argc)
      presealed_mb = atof(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--overrun"))
      overrun = 1;
    else {
      fprintf(stderr,
              "usage: %s --token-file F --learner NAME,KIND,PORT[,PID] [--learner ...] "
              "[--conns 1,4,16,64,256] [--seconds S] [--batch B] [--presealed-mb MB] "
              "[--rounds R] [--overrun]\n",
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
  if (!n_learners || !token || batch_n < 1 || batch_n > 65536 || seconds <= 0 ||
      !(presealed_mb > 0) || presealed_mb > 1e5 || rounds < 1 || rounds > 100) {
    fprintf(stderr,
            "loadgen: give --token-file, at least one --learner, a --batch of 1..65536, "
            "--seconds > 0, --presealed-mb in (0, 1e5], --rounds 1..100\n");
    return 2;
  }
  char err[512];
  if (auth_key_from_file(token, key, err, sizeof err) != 0) die(err);
  bench_print_machine(argc, argv);
  build_cartpole();
  build_minatar();
  for (int k = 0; k < KIND_END; k++) {
    printf("frame:    %-8s %u transitions, %s: %zu bytes plain, %zu sealed\n", kind_names[k],
           batch_n,
           k == KIND_CARTPOLE ? "CartPole-v1, obs 4 float32, 2 actions"
                              : "MinAtar/Breakout-v0, obs 10x10x4 as 50 bytes of bits, 6 actions",
           kind_len[k], kind_len[k] + SEAL_TAG);
    /* The sealing cost on its own: frames sealed back to back on this thread. */
    plain_frame = kind_frame[k];
    plain_len = kind_len[k];
    seal_t s;
    uint8_t nl[AUTH_NONCE] = {1}, nw[AUTH_NONCE] = {2};
    seal_init(&s, key, nl, nw, SEAL_AS_WORKER);
    uint8_t *o = malloc(frame_size());
    if (!o) die("out of memory");
    double t0 = bench_now();
    long n = 0;
    for (; bench_now() - t0 < 0.2; n++) seal_frame(&s.tx, plain_frame, plain_len, o);
    double us = 1e6 * (bench_now() - t0) / (double)n;
    printf("sealing:  %-8s %.2f us per frame, %.1f ns per transition, %.0f MB/s (one thread)\n",
           kind_names[k], us, 1e3 * us / batch_n, (double)frame_size() / us);
    free(o);
    seal_wipe(&s);
  }
  if (overrun) return run_overrun(&learners[0]);
  for (int l = 0; l < n_learners; l++)
    printf("learner:  %s, %s batches, port %d, pid %d\n", learners[l].name,
           kind_names[learners[l].kind], learners[l].port, learners[l].pid);
  printf("window:   %.1f s per level, %.0f MB of frames sealed ahead per level\n", seconds,
         presealed_mb);
  printf(
      "rounds:   %d; each level against each learner once per round, in turn; the best round "
      "counts\n",
      rounds);
  static level_result_t best[MAX_LEARNERS][16];
  memset(best, 0, sizeof best);
  size_t bytes = (size_t)(presealed_mb * 1e6);
  for (int r = 0; r < rounds; r++)
    for (int v = 0; v < n_levels; v++)
      for (int l = 0; l < n_learners; l++) {
        level_result_t res;
        run_level(&learners[l], levels[v], seconds, bytes, &res);
        if (res.rate > best[l][v].rate) best[l][v] = res;
      }
  printf(
      "CPU: fraction of one core over the best window; per busiest: accepted transitions per "
      "CPU second of the busiest of the net and decode threads; net_wait: fraction of the "
      "window the net thread was runnable but had no core\n");
  printf("%-3s %-10s %-8s %6s %12s %8s %10s %10s %14s %8s %11s %8s\n", "", "learner", "kind",
         "conns", "accepted/s", "net_cpu", "decode_cpu", "decode_max", "per_busiest", "seal_s",
         "loadgen_cpu", "net_wait");
  for (int l = 0; l < n_learners; l++)
    for (int v = 0; v < n_levels; v++) {
      const level_result_t *b = &best[l][v];
      printf("row %-10s %-8s %6d %12.0f %8.2f %10.2f %10.2f %14.0f %8.3f %11.2f %8.2f\n",
             learners[l].name, kind_names[learners[l].kind], levels[v], b->rate, b->net,
             b->decode_sum, b->decode_max, b->busiest, b->seal_in, b->loadgen, b->net_wait);
    }
  return 0;
}
