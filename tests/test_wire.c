/* Checks wire: every message round-trips through a frame; the decoders reject what protobuf
 * accepts but rlserve must not (sizes, non-finite values, long strings), naming the field
 * and values; truncated and garbage payloads fail cleanly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "rng.h"
#include "wire.h"

static char err[512];

/* Checks the frame header and returns the payload. */
static const uint8_t *payload_of(const uint8_t *f, size_t flen, int type, size_t *len) {
  frame_header_t h;
  int rc = frame_header_decode(f, 0, &h);
  CHECK(rc == FRAME_OK, "header rc %d", rc);
  CHECK(h.type == type, "frame type %u, want %d", h.type, type);
  CHECK(h.length + FRAME_HEADER_SIZE == flen, "length %u + 12 != frame %zu", h.length, flen);
  *len = h.length;
  return f + FRAME_HEADER_SIZE;
}

#define EXPECT_FAIL(rc, out, text)                                                  \
  do {                                                                              \
    CHECK((rc) == -1 && (out) == NULL, "accepted, want failure with \"%s\"", text); \
    CHECK(strstr(err, text) != NULL, "message \"%s\" lacks \"%s\"", err, text);     \
  } while (0)

static uint8_t *pack_raw(int type, const ProtobufCMessage *m, const uint8_t **p, size_t *len) {
  size_t flen;
  uint8_t *f = wire_encode(type, m, &flen);
  CHECK(f != NULL, "encode failed");
  *p = payload_of(f, flen, type, len);
  return f;
}

static void test_hello(void) {
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = FRAME_PROTOCOL_VERSION;
  h.worker_name = "node7:1234";
  h.host = "node7";
  h.pid = 1234;
  h.num_envs = 16;
  uint8_t auth[32];
  for (int i = 0; i < 32; i++) auth[i] = (uint8_t)(i * 7);
  h.auth.data = auth;
  h.auth.len = 32;
  const uint8_t *p;
  size_t len;
  uint8_t *f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  Rlserve__Hello *o;
  CHECK(wire_decode_hello(p, len, &o, err, sizeof err) == 0, "hello: %s", err);
  if (o) {
    CHECK(o->protocol_version == FRAME_PROTOCOL_VERSION && !strcmp(o->worker_name, "node7:1234") &&
              !strcmp(o->host, "node7") && o->pid == 1234 && o->num_envs == 16 &&
              o->auth.len == 32 && !memcmp(o->auth.data, auth, 32),
          "hello fields differ after round trip");
    rlserve__hello__free_unpacked(o, NULL);
  }
  free(f);

  char long_name[300];
  memset(long_name, 'a', 299);
  long_name[299] = 0;
  h.worker_name = long_name;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o,
              "hello: worker_name has 299 bytes, limit 256");
  free(f);
  h.worker_name = "w";
  h.host = "evil\x1b[2Jhost";
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o,
              "hello: host has control byte 0x1b at offset 4");
  free(f);
  h.host = "h";
  uint8_t big_auth[2000] = {0};
  h.auth.data = big_auth;
  h.auth.len = sizeof big_auth;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o, "hello: auth has 2000 bytes");
  free(f);
  h.auth.len = 0;
  h.num_envs = 1u << 20;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o, "num_envs is 1048576");
  free(f);
}

static void test_welcome(void) {
  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  Rlserve__ConfigEntry e[3] = {RLSERVE__CONFIG_ENTRY__INIT, RLSERVE__CONFIG_ENTRY__INIT,
                               RLSERVE__CONFIG_ENTRY__INIT};
  Rlserve__ConfigEntry *ep[3] = {&e[0], &e[1], &e[2]};
  e[0].key = "algo";
  e[0].value = "dqn";
  e[1].key = "env";
  e[1].value = "CartPole-v1";
  e[2].key = "lr";
  e[2].value = "0.0005";
  w.worker_id = 9;
  w.worker_index = 2;
  w.n_config = 3;
  w.config = ep;
  w.seed = 0xdeadbeefcafeull;
  w.epsilon_final = 0.05;
  w.noise_scale = 0.1;
  w.obs_dim = 4;
  w.act_dim = 2;
  const uint8_t *p;
  size_t len;
  uint8_t *f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  Rlserve__Welcome *o;
  CHECK(wire_decode_welcome(p, len, &o, err, sizeof err) == 0, "welcome: %s", err);
  if (o) {
    CHECK(o->worker_id == 9 && o->worker_index == 2 && o->n_config == 3 &&
              o->seed == 0xdeadbeefcafeull && o->epsilon_final == 0.05 && o->noise_scale == 0.1 &&
              o->obs_dim == 4 && o->act_dim == 2,
          "welcome fields differ");
    for (int i = 0; i < 3 && o->n_config == 3; i++)
      CHECK(!strcmp(o->config[i]->key, e[i].key) && !strcmp(o->config[i]->value, e[i].value),
            "config[%d] differs", i);
    rlserve__welcome__free_unpacked(o, NULL);
  }
  free(f);

  w.epsilon_final = NAN;
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_welcome(p, len, &o, err, sizeof err), o,
              "welcome: epsilon_final is nan, not finite");
  free(f);
  w.epsilon_final = 1.5;
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_welcome(p, len, &o, err, sizeof err), o, "epsilon_final is 1.5");
  free(f);
  w.epsilon_final = 0.1;
  w.noise_scale = INFINITY;
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_welcome(p, len, &o, err, sizeof err), o, "noise_scale is inf");
  free(f);
  w.noise_scale = 0.1;
  w.worker_index = 4; /* past the configured workers is allowed (up to max_workers) */
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  CHECK(wire_decode_welcome(p, len, &o, err, sizeof err) == 0, "index 4 of 4: %s", err);
  if (o) rlserve__welcome__free_unpacked(o, NULL);
  free(f);
  w.worker_index = 0;
  char long_value[5000];
  memset(long_value, 'x', sizeof long_value - 1);
  long_value[sizeof long_value - 1] = 0;
  e[1].value = long_value;
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_welcome(p, len, &o, err, sizeof err), o,
              "config[1].value (key env) has 4999 bytes, limit 4096");
  free(f);
  e[1].value = "x";
  e[2].key = "";
  f = pack_raw(FRAME_WELCOME, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_welcome(p, len, &o, err, sizeof err), o, "config[2].key is empty");
  free(f);
}

static void test_weights(void) {
  rng_t rng;
  rng_seed(&rng, 11);
  for (int t = 0; t < 20; t++) {
    uint32_t n = 1 + (uint32_t)rng_below(&rng, t == 0 ? 2 : 50000);
    float *on = malloc(n * sizeof *on), *back = malloc(n * 4);
    for (uint32_t i = 0; i < n; i++) on[i] = (float)rng_normal(&rng) * (i & 1 ? 1e30f : 1.0f);
    size_t flen, len;
    uint8_t *f = wire_encode_weights(100 + t, 5000, on, n, &flen);
    CHECK(f != NULL, "encode %u params failed", n);
    /* One buffer on the wire: header, three small fields and the floats (no target copy). */
    CHECK(flen <= FRAME_HEADER_SIZE + 4 * (size_t)n + 32, "weights frame of %u params is %zu bytes",
          n, flen);
    const uint8_t *p = payload_of(f, flen, FRAME_WEIGHTS, &len);
    Rlserve__Weights *o;
    int rc = wire_decode_weights(p, len, (t & 2) ? n : 0, &o, err, sizeof err);
    CHECK(rc == 0, "weights n=%u: %s", n, err);
    if (!rc) {
      CHECK(o->version == 100u + (unsigned)t && o->env_steps == 5000 && o->n_params == n,
            "weights scalars differ");
      wire_floats_from_bytes(back, o->online.data, n);
      CHECK(!memcmp(back, on, n * 4), "online differs (n=%u)", n);
      rlserve__weights__free_unpacked(o, NULL);
    }
    /* Every truncation either fails with a message or (cut at a field boundary after the
     * arrays) still decodes a consistent message. */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
      err[0] = 0;
      rc = wire_decode_weights(p, cut, 0, &o, err, sizeof err);
      if (rc == 0) {
        CHECK(o->n_params == n && o->online.len == 4 * n,
              "truncated to %zu of %zu bytes and accepted inconsistent sizes", cut, len);
        rlserve__weights__free_unpacked(o, NULL);
      } else {
        CHECK(o == NULL && err[0], "truncated to %zu: failed without a message", cut);
      }
    }
    free(f);
    free(on);
    free(back);
  }

  /* Hand-made bad Weights. */
  float vals[101]; /* one spare so a 404-byte field can be packed from it */
  for (int i = 0; i < 101; i++) vals[i] = (float)i;
  Rlserve__Weights w = RLSERVE__WEIGHTS__INIT;
  w.n_params = 100;
  w.online.data = (uint8_t *)vals;
  w.online.len = 396;
  const uint8_t *p;
  size_t len;
  Rlserve__Weights *o;
  uint8_t *f = pack_raw(FRAME_WEIGHTS, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 0, &o, err, sizeof err), o,
              "weights: online has 396 bytes, expected 4*100=400");
  free(f);
  w.online.len = 404;
  f = pack_raw(FRAME_WEIGHTS, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 0, &o, err, sizeof err), o,
              "weights: online has 404 bytes, expected 4*100=400");
  free(f);
  w.online.len = 400;
  f = pack_raw(FRAME_WEIGHTS, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 99, &o, err, sizeof err), o,
              "weights: n_params is 100, this network has 99");
  CHECK(wire_decode_weights(p, len, 100, &o, err, sizeof err) == 0, "valid: %s", err);
  if (o) rlserve__weights__free_unpacked(o, NULL);
  free(f);
  w.online.len = 0;
  w.n_params = 0;
  f = pack_raw(FRAME_WEIGHTS, &w.base, &p, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 0, &o, err, sizeof err), o, "weights: n_params is 0");
  free(f);
  /* Non-finite values. */
  float bad[3] = {NAN, INFINITY, -INFINITY};
  for (int b = 0; b < 3; b++) {
    float on[100];
    memcpy(on, vals, sizeof on);
    on[37] = bad[b];
    size_t flen;
    f = wire_encode_weights(1, 0, on, 100, &flen);
    p = payload_of(f, flen, FRAME_WEIGHTS, &len);
    char want[64];
    snprintf(want, sizeof want, "weights: online[37] is %s, not finite",
             b == 0   ? "nan"
             : b == 1 ? "inf"
                      : "-inf");
    EXPECT_FAIL(wire_decode_weights(p, len, 100, &o, err, sizeof err), o, want);
    free(f);
  }
  /* The reserved fields (3 updates, 6 target, 7 training) from a peer built before they were
   * removed are unknown fields now: ignored, even a target of the wrong size. */
  size_t flen;
  f = wire_encode_weights(5, 6, vals, 100, &flen);
  p = payload_of(f, flen, FRAME_WEIGHTS, &len);
  uint8_t old[600];
  memcpy(old, p, len);
  size_t k = len;
  old[k++] = 0x18; /* field 3, varint: updates = 77 */
  old[k++] = 77;
  old[k++] = 0x32; /* field 6, bytes: a 12-byte "target" */
  old[k++] = 12;
  memset(old + k, 0xff, 12); /* NaNs */
  k += 12;
  old[k++] = 0x38; /* field 7, varint: training = 1 */
  old[k++] = 1;
  CHECK(wire_decode_weights(old, k, 100, &o, err, sizeof err) == 0, "old weights: %s", err);
  if (o) {
    CHECK(o->version == 5 && o->env_steps == 6 && o->online.len == 400,
          "old weights fields differ");
    rlserve__weights__free_unpacked(o, NULL);
  }
  free(f);
}

static void test_stats(void) {
  rng_t rng;
  rng_seed(&rng, 5);
  for (int t = 0; t < 10; t++) {
    Rlserve__Stats s = RLSERVE__STATS__INIT;
    size_t k = (size_t)rng_below(&rng, t == 0 ? 1 : 10001);
    float *ret = malloc((k + 1) * sizeof *ret);
    uint32_t *lens = malloc((k + 1) * sizeof *lens);
    for (size_t i = 0; i < k; i++) {
      ret[i] = (float)rng_range(&rng, -500, 500);
      lens[i] = (uint32_t)rng_below(&rng, 1000);
    }
    s.env_steps = 123456789;
    s.episodes = 42;
    s.n_episode_returns = s.n_episode_lengths = k;
    s.episode_returns = ret;
    s.episode_lengths = lens;
    s.steps_per_sec = 9876.5;
    s.dropped = 3;
    s.weights_version = 17;
    s.epsilon = 0.25;
    const uint8_t *p;
    size_t len;
    uint8_t *f = pack_raw(FRAME_STATS, &s.base, &p, &len);
    Rlserve__Stats *o;
    CHECK(wire_decode_stats(p, len, &o, err, sizeof err) == 0, "stats k=%zu: %s", k, err);
    if (o) {
      CHECK(o->env_steps == 123456789 && o->episodes == 42 && o->n_episode_returns == k &&
                o->n_episode_lengths == k && o->steps_per_sec == 9876.5 && o->dropped == 3 &&
                o->weights_version == 17 && o->epsilon == 0.25,
            "stats scalars differ");
      CHECK(k == 0 || (!memcmp(o->episode_returns, ret, k * 4) &&
                       !memcmp(o->episode_lengths, lens, k * 4)),
            "stats arrays differ");
      rlserve__stats__free_unpacked(o, NULL);
    }
    free(f);
    free(ret);
    free(lens);
  }

  Rlserve__Stats s = RLSERVE__STATS__INIT;
  float *ret = calloc(10001, sizeof *ret);
  uint32_t *lens = calloc(10001, sizeof *lens);
  s.episode_returns = ret;
  s.episode_lengths = lens;
  s.n_episode_returns = s.n_episode_lengths = 10001;
  const uint8_t *p;
  size_t len;
  Rlserve__Stats *o;
  uint8_t *f = pack_raw(FRAME_STATS, &s.base, &p, &len);
  EXPECT_FAIL(wire_decode_stats(p, len, &o, err, sizeof err), o,
              "stats: 10001 episode_returns, limit 10000");
  free(f);
  s.n_episode_returns = 5;
  s.n_episode_lengths = 4;
  f = pack_raw(FRAME_STATS, &s.base, &p, &len);
  EXPECT_FAIL(wire_decode_stats(p, len, &o, err, sizeof err), o,
              "stats: 5 episode_returns but 4 episode_lengths");
  free(f);
  s.n_episode_lengths = 5;
  ret[3] = -INFINITY;
  f = pack_raw(FRAME_STATS, &s.base, &p, &len);
  EXPECT_FAIL(wire_decode_stats(p, len, &o, err, sizeof err), o,
              "stats: episode_returns[3] is -inf, not finite");
  free(f);
  ret[3] = 0;
  s.steps_per_sec = NAN;
  f = pack_raw(FRAME_STATS, &s.base, &p, &len);
  EXPECT_FAIL(wire_decode_stats(p, len, &o, err, sizeof err), o, "stats: steps_per_sec is nan");
  free(f);
  s.steps_per_sec = 1;
  s.epsilon = INFINITY;
  f = pack_raw(FRAME_STATS, &s.base, &p, &len);
  EXPECT_FAIL(wire_decode_stats(p, len, &o, err, sizeof err), o, "stats: epsilon is inf");
  free(f);
  free(ret);
  free(lens);
}

static void test_error_and_heartbeat(void) {
  size_t flen, len;
  uint8_t *f = wire_encode_error(7, "bad frame from 10.0.0.3:\n\tlength too big", &flen);
  const uint8_t *p = payload_of(f, flen, FRAME_ERROR, &len);
  Rlserve__Error *o;
  CHECK(wire_decode_error(p, len, &o, err, sizeof err) == 0, "error: %s", err);
  if (o) {
    CHECK(o->code == 7 && !strcmp(o->reason, "bad frame from 10.0.0.3:\n\tlength too big"),
          "error differs: %u %s", o->code, o->reason);
    rlserve__error__free_unpacked(o, NULL);
  }
  free(f);

  /* The encoder clips and cleans so the receiver accepts any reason. */
  char *longr = malloc(10000);
  memset(longr, 'r', 9999);
  longr[9999] = 0;
  longr[5] = '\x1b';
  f = wire_encode_error(1, longr, &flen);
  p = payload_of(f, flen, FRAME_ERROR, &len);
  CHECK(wire_decode_error(p, len, &o, err, sizeof err) == 0, "clipped error: %s", err);
  if (o) {
    CHECK(strlen(o->reason) == WIRE_MAX_REASON && o->reason[5] == '?', "reason len %zu",
          strlen(o->reason));
    rlserve__error__free_unpacked(o, NULL);
  }
  free(f);
  /* A raw Error with an over-long reason is rejected. */
  Rlserve__Error e = RLSERVE__ERROR__INIT;
  e.reason = longr;
  longr[5] = 'r';
  f = pack_raw(FRAME_ERROR, &e.base, &p, &len);
  EXPECT_FAIL(wire_decode_error(p, len, &o, err, sizeof err), o,
              "error: reason has 9999 bytes, limit 4096");
  free(f);
  free(longr);
  f = wire_encode_error(2, NULL, &flen);
  p = payload_of(f, flen, FRAME_ERROR, &len);
  CHECK(wire_decode_error(p, len, &o, err, sizeof err) == 0 && o && o->reason[0] == 0,
        "NULL reason");
  if (o) rlserve__error__free_unpacked(o, NULL);
  free(f);

  f = wire_encode_empty(FRAME_HEARTBEAT, &flen);
  CHECK(f && flen == FRAME_HEADER_SIZE, "heartbeat frame is %zu bytes", flen);
  payload_of(f, flen, FRAME_HEARTBEAT, &len);
  free(f);
  CHECK(wire_encode_empty(0, &flen) == NULL, "encoded frame type 0");
  CHECK(wire_encode_empty(FRAME_TYPE_END, &flen) == NULL, "encoded frame type %d", FRAME_TYPE_END);

  /* Unaligned float copy. */
  float src[3] = {1.5f, -2.25f, 3e-38f}, dst[3];
  uint8_t raw[13];
  memcpy(raw + 1, src, 12);
  wire_floats_from_bytes(dst, raw + 1, 3);
  CHECK(!memcmp(dst, src, 12), "unaligned float copy differs");
}

/* Random bytes and mutated valid payloads: every decoder returns cleanly, and a failure
 * comes with a message. */
static void test_garbage(void) {
  rng_t rng;
  rng_seed(&rng, 99);
  float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t flen;
  uint8_t *valid = wire_encode_weights(1, 2, w, 8, &flen);
  uint8_t buf[256];
  for (int t = 0; t < 20000; t++) {
    size_t len = (size_t)rng_below(&rng, sizeof buf);
    if (t % 2) {
      for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rng_u64(&rng);
    } else {
      len = flen - FRAME_HEADER_SIZE;
      memcpy(buf, valid + FRAME_HEADER_SIZE, len);
      for (int k = 0; k < 3; k++) buf[rng_below(&rng, len)] ^= (uint8_t)(1 + rng_below(&rng, 255));
    }
    int rc;
#define TRY(fn, T, freefn, ...)                                                \
  do {                                                                         \
    T *o_ = (T *)1;                                                            \
    err[0] = 0;                                                                \
    rc = fn(buf, len, __VA_ARGS__ & o_, err, sizeof err);                      \
    if (rc == 0)                                                               \
      freefn(o_, NULL);                                                        \
    else                                                                       \
      CHECK(rc == -1 && o_ == NULL && err[0], #fn ": failed without message"); \
  } while (0)
    TRY(wire_decode_hello, Rlserve__Hello, rlserve__hello__free_unpacked, );
    TRY(wire_decode_welcome, Rlserve__Welcome, rlserve__welcome__free_unpacked, );
    TRY(wire_decode_weights, Rlserve__Weights, rlserve__weights__free_unpacked, 8, );
    TRY(wire_decode_stats, Rlserve__Stats, rlserve__stats__free_unpacked, );
    TRY(wire_decode_error, Rlserve__Error, rlserve__error__free_unpacked, );
  }
  free(valid);
}

/* The target network (field 8, actor_priorities) round trips; a wrong size or a NaN is refused.
 * Explore: round trip and range checks. */
static void test_target_and_explore(void) {
  float on[10], tg[10];
  for (int i = 0; i < 10; i++) {
    on[i] = (float)i;
    tg[i] = (float)-i;
  }
  size_t flen, len;
  uint8_t *f = wire_encode_weights_target(3, 4, on, tg, 10, &flen);
  const uint8_t *p = payload_of(f, flen, FRAME_WEIGHTS, &len);
  Rlserve__Weights *o;
  CHECK(wire_decode_weights(p, len, 10, &o, err, sizeof err) == 0, "target: %s", err);
  if (o) {
    CHECK(o->target_net.len == 40 && !memcmp(o->target_net.data, tg, 40), "target differs");
    rlserve__weights__free_unpacked(o, NULL);
  }
  free(f);
  tg[7] = NAN;
  f = wire_encode_weights_target(3, 4, on, tg, 10, &flen);
  p = payload_of(f, flen, FRAME_WEIGHTS, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 10, &o, err, sizeof err), o, "target[7]");
  free(f);
  Rlserve__Weights w = RLSERVE__WEIGHTS__INIT;
  w.version = 1;
  w.n_params = 10;
  w.online.len = 40;
  w.online.data = (uint8_t *)on;
  w.target_net.len = 36;
  w.target_net.data = (uint8_t *)on;
  f = wire_encode(FRAME_WEIGHTS, &w.base, &flen);
  p = payload_of(f, flen, FRAME_WEIGHTS, &len);
  EXPECT_FAIL(wire_decode_weights(p, len, 10, &o, err, sizeof err), o, "target");
  free(f);

  Rlserve__Explore ex = RLSERVE__EXPLORE__INIT;
  ex.worker_index = 1;
  ex.actors = 2;
  ex.epsilon = 0.4 * 0.4 * 0.4;
  ex.noise_scale = 0.1;
  f = wire_encode(FRAME_EXPLORE, &ex.base, &flen);
  p = payload_of(f, flen, FRAME_EXPLORE, &len);
  Rlserve__Explore *e;
  CHECK(wire_decode_explore(p, len, &e, err, sizeof err) == 0, "explore: %s", err);
  if (e) {
    CHECK(e->worker_index == 1 && e->actors == 2 && e->epsilon == ex.epsilon, "explore differs");
    rlserve__explore__free_unpacked(e, NULL);
  }
  free(f);
  struct {
    uint32_t i, n;
    double eps, noise;
    const char *want;
  } bad[] = {{2, 2, 0.1, 0.1, "worker_index 2 of 2"},
             {0, 0, 0.1, 0.1, "of 0 actors"},
             {0, 1, 1.5, 0.1, "epsilon is 1.5"},
             {0, 1, NAN, 0.1, "epsilon is nan"},
             {0, 1, 0.1, -1, "noise_scale is -1"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ex.worker_index = bad[k].i;
    ex.actors = bad[k].n;
    ex.epsilon = bad[k].eps;
    ex.noise_scale = bad[k].noise;
    f = wire_encode(FRAME_EXPLORE, &ex.base, &flen);
    p = payload_of(f, flen, FRAME_EXPLORE, &len);
    EXPECT_FAIL(wire_decode_explore(p, len, &e, err, sizeof err), e, bad[k].want);
    free(f);
  }
}

/* Hello's observation bounds (env = worker:ID runs): 0, 1 or obs_dim pairs, no NaN, low <= high. */
static void test_hello_obs_bounds(void) {
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = FRAME_PROTOCOL_VERSION;
  h.env_id = "MyGrid-v0";
  h.obs_dim = 3;
  h.act_dim = 4;
  h.evaluates = 1;
  float lo[3] = {-1.0f, 0.0f, -INFINITY}, hi[3] = {1.0f, 2.0f, INFINITY};
  h.obs_low = lo;
  h.obs_high = hi;
  h.n_obs_low = h.n_obs_high = 3;
  const uint8_t *p;
  size_t len;
  uint8_t *f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  Rlserve__Hello *o;
  CHECK(wire_decode_hello(p, len, &o, err, sizeof err) == 0, "hello bounds: %s", err);
  if (o) {
    CHECK(o->n_obs_low == 3 && o->n_obs_high == 3 && o->obs_low[0] == -1.0f &&
              o->obs_high[1] == 2.0f && isinf(o->obs_low[2]) && o->evaluates,
          "hello bounds differ after round trip");
    rlserve__hello__free_unpacked(o, NULL);
  }
  free(f);
  h.n_obs_low = h.n_obs_high = 1; /* one pair for every element */
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  CHECK(wire_decode_hello(p, len, &o, err, sizeof err) == 0, "hello one pair: %s", err);
  if (o) rlserve__hello__free_unpacked(o, NULL);
  free(f);
  h.n_obs_low = h.n_obs_high = 2;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o,
              "2 observation bounds for obs_dim 3");
  free(f);
  h.n_obs_low = 3;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o, "3 obs_low but 2 obs_high");
  free(f);
  h.n_obs_high = 3;
  lo[1] = NAN;
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o, "of element 1");
  free(f);
  lo[1] = 3.0f; /* above its high, 2 */
  f = pack_raw(FRAME_HELLO, &h.base, &p, &len);
  EXPECT_FAIL(wire_decode_hello(p, len, &o, err, sizeof err), o, "bounds [3, 2] of element 1");
  free(f);
}

static void test_eval_messages(void) {
  float w[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.25f};
  Rlserve__EvalRequest rq = RLSERVE__EVAL_REQUEST__INIT;
  rq.eval_id = 42;
  rq.weights_version = 7;
  rq.n_params = 5;
  rq.online.data = (uint8_t *)w;
  rq.online.len = sizeof w;
  rq.seed_first = 1000100;
  rq.count = 25;
  const uint8_t *p;
  size_t len;
  uint8_t *f = pack_raw(FRAME_EVAL, &rq.base, &p, &len);
  Rlserve__EvalRequest *o;
  CHECK(wire_decode_eval_request(p, len, 5, &o, err, sizeof err) == 0, "eval: %s", err);
  if (o) {
    float back[5];
    wire_floats_from_bytes(back, o->online.data, 5);
    CHECK(o->eval_id == 42 && o->weights_version == 7 && o->seed_first == 1000100 &&
              o->count == 25 && !memcmp(back, w, sizeof w),
          "eval request differs after round trip");
    rlserve__eval_request__free_unpacked(o, NULL);
  }
  EXPECT_FAIL(wire_decode_eval_request(p, len, 6, &o, err, sizeof err), o,
              "eval: n_params 5, expected 6");
  free(f);
  rq.online.len = 16;
  f = pack_raw(FRAME_EVAL, &rq.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_request(p, len, 0, &o, err, sizeof err), o,
              "eval: online has 16 bytes, expected 4*5=20");
  free(f);
  rq.online.len = sizeof w;
  w[3] = INFINITY;
  f = pack_raw(FRAME_EVAL, &rq.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_request(p, len, 0, &o, err, sizeof err), o,
              "eval: online[3] is inf, not finite");
  free(f);
  w[3] = 0;
  rq.count = 0;
  f = pack_raw(FRAME_EVAL, &rq.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_request(p, len, 0, &o, err, sizeof err), o, "eval: count 0");
  free(f);
  rq.count = 2;
  rq.seed_first = UINT64_MAX - 1;
  f = pack_raw(FRAME_EVAL, &rq.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_request(p, len, 0, &o, err, sizeof err), o, "overflow");
  free(f);

  double rets[3] = {-4.0, -6.5, -3.0};
  uint32_t lens[3] = {4, 7, 3};
  Rlserve__EvalResult r = RLSERVE__EVAL_RESULT__INIT;
  r.eval_id = 42;
  r.seed_first = 1000100;
  r.returns = rets;
  r.n_returns = 3;
  r.lengths = lens;
  r.n_lengths = 3;
  f = pack_raw(FRAME_EVAL_RESULT, &r.base, &p, &len);
  Rlserve__EvalResult *ro;
  CHECK(wire_decode_eval_result(p, len, &ro, err, sizeof err) == 0, "eval result: %s", err);
  if (ro) {
    CHECK(ro->eval_id == 42 && ro->seed_first == 1000100 && ro->n_returns == 3 &&
              ro->returns[1] == -6.5 && ro->lengths[2] == 3,
          "eval result differs after round trip");
    rlserve__eval_result__free_unpacked(ro, NULL);
  }
  free(f);
  r.n_lengths = 2;
  f = pack_raw(FRAME_EVAL_RESULT, &r.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_result(p, len, &ro, err, sizeof err), ro,
              "eval result: 3 returns but 2 lengths");
  free(f);
  r.n_lengths = 3;
  rets[2] = NAN;
  f = pack_raw(FRAME_EVAL_RESULT, &r.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_result(p, len, &ro, err, sizeof err), ro,
              "eval result: returns[2] is nan, not finite");
  free(f);
  rets[2] = -3.0;
  lens[1] = 0;
  f = pack_raw(FRAME_EVAL_RESULT, &r.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_result(p, len, &ro, err, sizeof err), ro, "lengths[1] is 0");
  free(f);
  r.n_returns = r.n_lengths = 0;
  f = pack_raw(FRAME_EVAL_RESULT, &r.base, &p, &len);
  EXPECT_FAIL(wire_decode_eval_result(p, len, &ro, err, sizeof err), ro,
              "eval result: 0 returns, expected 1..100000");
  free(f);
  uint8_t junk[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FAIL(wire_decode_eval_result(junk, sizeof junk, &ro, err, sizeof err), ro,
              "not a valid protobuf message");
  CHECK(!strcmp(frame_type_name(FRAME_EVAL), "EVAL") &&
            !strcmp(frame_type_name(FRAME_EVAL_RESULT), "EVAL_RESULT"),
        "frame type names");
}

int main(void) {
  test_target_and_explore();
  test_hello();
  test_hello_obs_bounds();
  test_eval_messages();
  test_welcome();
  test_weights();
  test_stats();
  test_error_and_heartbeat();
  test_garbage();
  CHECK_DONE();
}
