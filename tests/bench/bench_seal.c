/* bench_seal: the cost of sealed frames on the learner's ingest path, one core. A stream of
 * CartPole-sized TRANSITIONS frames (send_batch = 64 transitions, obs 4) is fed to a
 * frame_reader in 16 KiB reads (the learner's READ_CHUNK), and each frame is taken out and
 * decoded with tbatch_decode, as net.c does; sealed adds seal_open in place. The worker's cost
 * (tbatch_encode, + seal_frame_alloc) and sealing a CartPole weights frame (128,128: 67586
 * parameters online + target) are timed too. Prints frames/s and transitions/s with and without
 * sealing (best of 10 alternating rounds). Usage: bench_seal [--seconds S] (per measurement,
 * default 1). */
#define _GNU_SOURCE /* bench_machine.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "bench_machine.h"
#include "frame.h"
#include "seal.h"
#include "tbatch.h"
#include "wire.h"

#define BATCH 64
#define OBS 4
#define STREAM_FRAMES 256 /* frames in the pre-built stream, fed again and again */
#define READ_CHUNK 16384

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint8_t *batch_frame(size_t *len) {
  static float obs[BATCH * OBS], act[BATCH], rew[BATCH];
  static uint8_t flags[BATCH];
  for (int i = 0; i < BATCH * OBS; i++) obs[i] = 0.01f * (float)(i % 13);
  for (int i = 0; i < BATCH; i++) act[i] = (float)(i % 2), rew[i] = 1.0f;
  tbatch_t b = {.n = BATCH,
                .obs_dim = OBS,
                .act_dim = 1,
                .weights_version = 3,
                .worker_id = 1,
                .obs = obs,
                .act = act,
                .rew = rew,
                .next_obs = obs,
                .flags = flags};
  return tbatch_encode(&b, len);
}

static double sink;

/* Receive side: frames/s through reader + (open) + decode, for about `seconds`. sealed streams
 * are re-sealed per pass (the counter must advance), outside the timed part. */
static double ingest(int sealed, double seconds, seal_t *tx, seal_t *rx) {
  size_t flen;
  uint8_t *plain = batch_frame(&flen);
  size_t slen = flen + (sealed ? SEAL_TAG : 0);
  uint8_t *stream = malloc(slen * STREAM_FRAMES);
  tbatch_limits_t lim = {.obs_dim = OBS, .act_dim = 1, .n_actions = 2, .max_n = 1u << 20};
  frame_reader_t r;
  frame_reader_init(&r, 64u << 20);
  uint64_t frames = 0;
  double busy = 0, t_end = now() + seconds;
  while (now() < t_end) {
    for (int i = 0; i < STREAM_FRAMES; i++) {
      if (sealed)
        seal_frame(&tx->tx, plain, flen, stream + (size_t)i * slen);
      else
        memcpy(stream + (size_t)i * slen, plain, flen);
    }
    double t0 = now();
    size_t total = slen * STREAM_FRAMES;
    for (size_t off = 0; off < total; off += READ_CHUNK) {
      size_t n = total - off < READ_CHUNK ? total - off : READ_CHUNK;
      frame_reader_feed(&r, stream + off, n);
      frame_header_t h;
      const uint8_t *p;
      while (frame_reader_next(&r, &h, &p) == 1) {
        size_t len = h.length;
        if (sealed && seal_open(&rx->rx, &h, (uint8_t *)(uintptr_t)p, &len) != SEAL_OK) abort();
        tbatch_t tb;
        char err[256];
        if (tbatch_decode(p, len, &lim, &tb, err, sizeof err) != 0) abort();
        sink += tb.n;
        frames++;
      }
    }
    busy += now() - t0;
  }
  frame_reader_free(&r);
  free(stream);
  free(plain);
  return (double)frames / busy;
}

/* Send side: frames/s of tbatch_encode (+ seal_frame_alloc). */
static double encode(int sealed, double seconds, seal_t *tx) {
  uint64_t frames = 0;
  double t0 = now(), t;
  while ((t = now()) - t0 < seconds) {
    for (int i = 0; i < 256; i++) {
      size_t len, slen;
      int rc;
      uint8_t *f = batch_frame(&len);
      if (sealed) {
        uint8_t *s = seal_frame_alloc(&tx->tx, f, len, &slen, &rc);
        sink += s[20];
        free(s);
      }
      sink += f[20];
      free(f);
      frames++;
    }
  }
  return (double)frames / (t - t0);
}

int main(int argc, char **argv) {
  double seconds = 1.0;
  if (argc == 3 && !strcmp(argv[1], "--seconds")) seconds = atof(argv[2]);
  char cpu[256];
  bench_cpu_model(cpu, sizeof cpu);
  printf("bench_seal on %s, one core; CartPole batches of %d transitions (%d-float obs)\n", cpu,
         BATCH, OBS);
  uint8_t key[32], nl[32], nw[32];
  auth_nonce(key);
  auth_nonce(nl);
  auth_nonce(nw);
  seal_t W, L, E; /* E: the encode bench's own sender, so W and L stay in step */
  seal_init(&W, key, nl, nw, SEAL_AS_WORKER);
  seal_init(&E, key, nl, nw, SEAL_AS_WORKER);
  seal_init(&L, key, nl, nw, SEAL_AS_LEARNER);
  size_t flen;
  free(batch_frame(&flen));
  printf("TRANSITIONS frame: %zu bytes plain, %zu sealed\n", flen, flen + SEAL_TAG);
  /* Plain and sealed alternate in short rounds and the best round of each counts, so that
   * other load on a shared machine hits both alike. */
  double in_plain = 0, in_sealed = 0, en_plain = 0, en_sealed = 0;
  for (int round = 0; round < 10; round++) {
    double a = ingest(0, seconds / 10, &W, &L), b = ingest(1, seconds / 10, &W, &L);
    double c = encode(0, seconds / 10, &E), d = encode(1, seconds / 10, &E);
    in_plain = a > in_plain ? a : in_plain;
    in_sealed = b > in_sealed ? b : in_sealed;
    en_plain = c > en_plain ? c : en_plain;
    en_sealed = d > en_sealed ? d : en_sealed;
  }
  printf("learner ingest (reader + decode):     plain %9.0f frames/s %11.0f transitions/s\n",
         in_plain, in_plain * BATCH);
  printf(
      "learner ingest (reader + open + decode): sealed %8.0f frames/s %11.0f transitions/s"
      " (%.1f%% of plain, +%.2f us/frame)\n",
      in_sealed, in_sealed * BATCH, 100.0 * in_sealed / in_plain, 1e6 / in_sealed - 1e6 / in_plain);
  printf(
      "worker encode:                        plain %9.0f frames/s, sealed %9.0f frames/s"
      " (+%.2f us/frame)\n",
      en_plain, en_sealed, 1e6 / en_sealed - 1e6 / en_plain);
  /* A weights broadcast is sealed once per connection. */
  enum { NP = 67586 };
  float *params = calloc(NP, sizeof(float));
  size_t wlen, slen;
  uint8_t *wf = wire_encode_weights(1, 0, params, NP, &wlen);
  int rc, n = 0;
  double t0 = now(), t;
  while ((t = now()) - t0 < seconds / 4) {
    uint8_t *s = seal_frame_alloc(&L.tx, wf, wlen, &slen, &rc);
    sink += s[30];
    free(s);
    n++;
  }
  printf("sealing a weights frame (%zu bytes): %.0f us each, %.0f MB/s\n", wlen, 1e6 * (t - t0) / n,
         (double)wlen * n / (t - t0) / 1e6);
  free(wf);
  free(params);
  return sink < 0;
}
