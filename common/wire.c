/* wire: protobuf-c frames and the checks protobuf cannot make. See wire.h, proto/README.md. */
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "f32le.h"
#include "frame.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "weights travel as raw little-endian float32: add byte swapping for this host");
_Static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

static uint8_t *frame_alloc(int frame_type, size_t payload_len, size_t *frame_len) {
  if (frame_type < FRAME_HELLO || frame_type >= FRAME_TYPE_END) return NULL;
  if (payload_len > FRAME_MAX_PAYLOAD) return NULL;
  uint8_t *f = malloc(FRAME_HEADER_SIZE + payload_len);
  if (!f) return NULL;
  frame_header_encode(f, (uint16_t)frame_type, (uint32_t)payload_len);
  *frame_len = FRAME_HEADER_SIZE + payload_len;
  return f;
}

uint8_t *wire_encode(int frame_type, const ProtobufCMessage *msg, size_t *frame_len) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *f = frame_alloc(frame_type, n, frame_len);
  if (!f) return NULL;
  size_t packed = protobuf_c_message_pack(msg, f + FRAME_HEADER_SIZE);
  if (packed != n) { /* cannot happen with a well-formed message; never send a torn frame */
    free(f);
    return NULL;
  }
  return f;
}

uint8_t *wire_encode_empty(int frame_type, size_t *frame_len) {
  return frame_alloc(frame_type, 0, frame_len);
}

uint8_t *wire_encode_error(uint32_t code, const char *reason, size_t *frame_len) {
  Rlserve__Error e = RLSERVE__ERROR__INIT;
  e.code = code;
  /* Clip to what the receiver accepts, so a long reason still arrives. */
  char clipped[WIRE_MAX_REASON + 1];
  if (reason) {
    size_t len = strnlen(reason, WIRE_MAX_REASON);
    memcpy(clipped, reason, len);
    clipped[len] = '\0';
    for (size_t i = 0; i < len; i++) { /* the receiver rejects control bytes */
      unsigned char c = (unsigned char)clipped[i];
      if (c == 0x7f || (c < 0x20 && c != '\n' && c != '\t')) clipped[i] = '?';
    }
    e.reason = clipped;
  }
  return wire_encode(FRAME_ERROR, &e.base, frame_len);
}

/* The floats are packed straight from the caller's buffer: on a little-endian host their
 * bytes are the wire bytes, so the only copy is protobuf-c's memcpy into the frame. */
uint8_t *wire_encode_weights(uint64_t version, uint64_t env_steps, const float *online, uint32_t n,
                             size_t *frame_len) {
  return wire_encode_weights_target(version, env_steps, online, NULL, n, frame_len);
}

uint8_t *wire_encode_weights_target(uint64_t version, uint64_t env_steps, const float *online,
                                    const float *target, uint32_t n, size_t *frame_len) {
  if (n && !online) return NULL;
  if ((uint64_t)n * (target ? 8 : 4) > FRAME_MAX_PAYLOAD) return NULL;
  Rlserve__Weights w = RLSERVE__WEIGHTS__INIT;
  w.version = version;
  w.env_steps = env_steps;
  w.n_params = n;
  w.online.len = (size_t)n * 4;
  w.online.data = (uint8_t *)(uintptr_t)online;
  if (target) {
    w.target_net.len = (size_t)n * 4;
    w.target_net.data = (uint8_t *)(uintptr_t)target;
  }
  return wire_encode(FRAME_WEIGHTS, &w.base, frame_len);
}

void wire_floats_from_bytes(float *dst, const uint8_t *src, size_t n) {
  if (n) memcpy(dst, src, n * sizeof(float));
}

/* A string field: at most max bytes, no control bytes (they end up in logs and on the
 * status page); allow_nl also admits '\n' and '\t' (multi-line reasons). */
static int check_string(const char *msg, const char *field, const char *s, size_t max, int allow_nl,
                        char *err, size_t errlen) {
  if (!s) return 0;
  size_t len = strlen(s);
  if (len > max)
    return errmsg(err, errlen, "%s: %s has %zu bytes, limit %zu", msg, field, len, max);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0x7f || (c < 0x20 && !(allow_nl && (c == '\n' || c == '\t'))))
      return errmsg(err, errlen, "%s: %s has control byte 0x%02x at offset %zu", msg, field, c, i);
  }
  return 0;
}

static int check_double(const char *msg, const char *field, double v, double lo, double hi,
                        char *err, size_t errlen) {
  if (!isfinite(v)) return errmsg(err, errlen, "%s: %s is %g, not finite", msg, field, v);
  if (v < lo || v > hi)
    return errmsg(err, errlen, "%s: %s is %g, outside [%g, %g]", msg, field, v, lo, hi);
  return 0;
}

#define UNPACK(type, fn, what)                                                                     \
  do {                                                                                             \
    *out = NULL;                                                                                   \
    if (!p && len) return errmsg(err, errlen, "%s: no payload", what);                             \
    type *m_ = fn(NULL, len, p);                                                                   \
    if (!m_)                                                                                       \
      return errmsg(err, errlen, "%s: payload of %zu bytes is not a valid protobuf message", what, \
                    len);                                                                          \
    *out = m_;                                                                                     \
  } while (0)

/* Hello.obs_low / obs_high: as many of each, 0 (not declared), 1 (one pair for every element)
 * or obs_dim; no NaN; low <= high. */
static int hello_obs_bounds_bad(const Rlserve__Hello *m, char *err, size_t errlen) {
  size_t n = m->n_obs_low;
  if (m->n_obs_high != n) {
    errmsg(err, errlen, "hello: %zu obs_low but %zu obs_high", n, m->n_obs_high);
    return 1;
  }
  if (n > 1 && n != m->obs_dim) {
    errmsg(err, errlen, "hello: %zu observation bounds for obs_dim %u (expected 1 or %u)", n,
           m->obs_dim, m->obs_dim);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (isnan(m->obs_low[i]) || isnan(m->obs_high[i]) || m->obs_low[i] > m->obs_high[i]) {
      errmsg(err, errlen, "hello: observation bounds [%g, %g] of element %zu",
             (double)m->obs_low[i], (double)m->obs_high[i], i);
      return 1;
    }
  return 0;
}

int wire_decode_hello(const uint8_t *p, size_t len, Rlserve__Hello **out, char *err,
                      size_t errlen) {
  UNPACK(Rlserve__Hello, rlserve__hello__unpack, "hello");
  Rlserve__Hello *m = *out;
  if (check_string("hello", "worker_name", m->worker_name, WIRE_MAX_NAME, 0, err, errlen) ||
      check_string("hello", "host", m->host, WIRE_MAX_NAME, 0, err, errlen) ||
      check_string("hello", "env_id", m->env_id, WIRE_MAX_NAME, 0, err, errlen))
    goto bad;
  if (m->auth.len > WIRE_MAX_AUTH) {
    errmsg(err, errlen, "hello: auth has %zu bytes, limit %d", m->auth.len, WIRE_MAX_AUTH);
    goto bad;
  }
  if (m->nonce.len > WIRE_MAX_NONCE) {
    errmsg(err, errlen, "hello: nonce has %zu bytes, limit %d", m->nonce.len, WIRE_MAX_NONCE);
    goto bad;
  }
  if (m->num_envs > WIRE_MAX_ENVS) {
    errmsg(err, errlen, "hello: num_envs is %u, limit %d", m->num_envs, WIRE_MAX_ENVS);
    goto bad;
  }
  if (hello_obs_bounds_bad(m, err, errlen)) goto bad;
  return 0;
bad:
  rlserve__hello__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}

int wire_decode_welcome(const uint8_t *p, size_t len, Rlserve__Welcome **out, char *err,
                        size_t errlen) {
  UNPACK(Rlserve__Welcome, rlserve__welcome__unpack, "welcome");
  Rlserve__Welcome *m = *out;
  if (m->n_config > WIRE_MAX_CONFIG) {
    errmsg(err, errlen, "welcome: %zu config entries, limit %d", m->n_config, WIRE_MAX_CONFIG);
    goto bad;
  }
  for (size_t i = 0; i < m->n_config; i++) {
    const Rlserve__ConfigEntry *c = m->config[i];
    char field[64];
    snprintf(field, sizeof field, "config[%zu].key", i);
    if (check_string("welcome", field, c->key, WIRE_MAX_NAME, 0, err, errlen)) goto bad;
    if (!c->key || !c->key[0]) {
      errmsg(err, errlen, "welcome: config[%zu].key is empty", i);
      goto bad;
    }
    snprintf(field, sizeof field, "config[%zu].value (key %s)", i, c->key);
    if (check_string("welcome", field, c->value, WIRE_MAX_VALUE, 0, err, errlen)) goto bad;
  }
  /* worker_index may reach the configured workers count and beyond: a learner admits up to
   * max_workers and the exploration schedule extends past the configured count. */
  if (check_double("welcome", "epsilon_final", m->epsilon_final, 0.0, 1.0, err, errlen) ||
      check_double("welcome", "noise_scale", m->noise_scale, 0.0, INFINITY, err, errlen))
    goto bad;
  if (m->obs_dim > WIRE_MAX_DIM || m->act_dim > WIRE_MAX_DIM) {
    errmsg(err, errlen, "welcome: obs_dim %u / act_dim %u over the limit %d", m->obs_dim,
           m->act_dim, WIRE_MAX_DIM);
    goto bad;
  }
  if (check_string("welcome", "env_plugin_id", m->env_plugin_id, WIRE_MAX_NAME, 0, err, errlen))
    goto bad;
  if (m->env_plugin_sha256.len != 0 && m->env_plugin_sha256.len != 32) {
    errmsg(err, errlen, "welcome: env_plugin_sha256 has %zu bytes, expected 32 or none",
           m->env_plugin_sha256.len);
    goto bad;
  }
  return 0;
bad:
  rlserve__welcome__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}

static int check_param_bytes(const char *field, const ProtobufCBinaryData *b, uint32_t n, char *err,
                             size_t errlen) {
  uint64_t want = (uint64_t)n * 4;
  if (b->len != want)
    return errmsg(err, errlen, "weights: %s has %zu bytes, expected 4*%u=%llu", field, b->len, n,
                  (unsigned long long)want);
  size_t bad = f32le_first_nonfinite(b->data, n);
  if (bad < n)
    return errmsg(err, errlen, "weights: %s[%zu] is %g, not finite", field, bad,
                  (double)f32le_at(b->data, bad));
  return 0;
}

int wire_decode_weights(const uint8_t *p, size_t len, uint32_t expect_n, Rlserve__Weights **out,
                        char *err, size_t errlen) {
  UNPACK(Rlserve__Weights, rlserve__weights__unpack, "weights");
  Rlserve__Weights *m = *out;
  if (m->n_params == 0) {
    errmsg(err, errlen, "weights: n_params is 0");
    goto bad;
  }
  if (expect_n && m->n_params != expect_n) {
    errmsg(err, errlen, "weights: n_params is %u, this network has %u", m->n_params, expect_n);
    goto bad;
  }
  if (check_param_bytes("online", &m->online, m->n_params, err, errlen)) goto bad;
  if (m->target_net.len &&
      check_param_bytes("target", &m->target_net, m->n_params, err, errlen))
    goto bad;
  return 0;
bad:
  rlserve__weights__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}

int wire_decode_stats(const uint8_t *p, size_t len, Rlserve__Stats **out, char *err,
                      size_t errlen) {
  UNPACK(Rlserve__Stats, rlserve__stats__unpack, "stats");
  Rlserve__Stats *m = *out;
  if (m->n_episode_returns > WIRE_MAX_RETURNS) {
    errmsg(err, errlen, "stats: %zu episode_returns, limit %d", m->n_episode_returns,
           WIRE_MAX_RETURNS);
    goto bad;
  }
  if (m->n_episode_lengths != m->n_episode_returns) {
    errmsg(err, errlen, "stats: %zu episode_returns but %zu episode_lengths", m->n_episode_returns,
           m->n_episode_lengths);
    goto bad;
  }
  for (size_t i = 0; i < m->n_episode_returns; i++) {
    if (!isfinite(m->episode_returns[i])) {
      errmsg(err, errlen, "stats: episode_returns[%zu] is %g, not finite", i,
             (double)m->episode_returns[i]);
      goto bad;
    }
  }
  if (check_double("stats", "steps_per_sec", m->steps_per_sec, 0.0, INFINITY, err, errlen) ||
      check_double("stats", "epsilon", m->epsilon, -INFINITY, INFINITY, err, errlen))
    goto bad;
  return 0;
bad:
  rlserve__stats__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}

int wire_decode_error(const uint8_t *p, size_t len, Rlserve__Error **out, char *err,
                      size_t errlen) {
  UNPACK(Rlserve__Error, rlserve__error__unpack, "error");
  Rlserve__Error *m = *out;
  if (check_string("error", "reason", m->reason, WIRE_MAX_REASON, 1, err, errlen)) {
    rlserve__error__free_unpacked(m, NULL);
    *out = NULL;
    return -1;
  }
  return 0;
}

int wire_decode_challenge(const uint8_t *p, size_t len, Rlserve__Challenge **out, char *err,
                          size_t errlen) {
  UNPACK(Rlserve__Challenge, rlserve__challenge__unpack, "challenge");
  Rlserve__Challenge *m = *out;
  if (m->nonce.len < 16 || m->nonce.len > 256) {
    snprintf(err, errlen, "challenge: nonce has %zu bytes, expected 16..256", m->nonce.len);
    rlserve__challenge__free_unpacked(m, NULL);
    *out = NULL;
    return -1;
  }
  return 0;
}

int wire_decode_proof(const uint8_t *p, size_t len, Rlserve__Proof **out, char *err,
                      size_t errlen) {
  UNPACK(Rlserve__Proof, rlserve__proof__unpack, "proof");
  Rlserve__Proof *m = *out;
  if (m->proof.len > WIRE_MAX_AUTH) {
    snprintf(err, errlen, "proof: %zu bytes, limit %d", m->proof.len, WIRE_MAX_AUTH);
    rlserve__proof__free_unpacked(m, NULL);
    *out = NULL;
    return -1;
  }
  return 0;
}

int wire_decode_credit(const uint8_t *p, size_t len, Rlserve__Credit **out, char *err,
                       size_t errlen) {
  UNPACK(Rlserve__Credit, rlserve__credit__unpack, "credit");
  Rlserve__Credit *m = *out;
  if (m->transitions == 0 || m->transitions > (1u << 30)) {
    snprintf(err, errlen, "credit: %llu transitions, expected 1..2^30",
             (unsigned long long)m->transitions);
    rlserve__credit__free_unpacked(m, NULL);
    *out = NULL;
    return -1;
  }
  return 0;
}

int wire_decode_explore(const uint8_t *p, size_t len, Rlserve__Explore **out, char *err,
                        size_t errlen) {
  UNPACK(Rlserve__Explore, rlserve__explore__unpack, "explore");
  Rlserve__Explore *m = *out;
  int rc = 0;
  if (m->actors == 0 || m->worker_index >= m->actors)
    rc = errmsg(err, errlen, "explore: worker_index %u of %u actors", m->worker_index, m->actors);
  else
    rc = check_double("explore", "epsilon", m->epsilon, 0, 1, err, errlen) ||
         check_double("explore", "noise_scale", m->noise_scale, 0, INFINITY, err, errlen);
  if (rc) {
    rlserve__explore__free_unpacked(m, NULL);
    *out = NULL;
    return -1;
  }
  return 0;
}

int wire_decode_eval_request(const uint8_t *p, size_t len, uint32_t expect_n,
                             Rlserve__EvalRequest **out, char *err, size_t errlen) {
  UNPACK(Rlserve__EvalRequest, rlserve__eval_request__unpack, "eval");
  Rlserve__EvalRequest *m = *out;
  if (m->n_params < 1 || (expect_n && m->n_params != expect_n)) {
    errmsg(err, errlen, "eval: n_params %u, expected %u", m->n_params, expect_n);
    goto bad;
  }
  if (m->online.len != 4 * (size_t)m->n_params) {
    errmsg(err, errlen, "eval: online has %zu bytes, expected 4*%u=%zu", m->online.len, m->n_params,
           4 * (size_t)m->n_params);
    goto bad;
  }
  size_t bad_at = f32le_first_nonfinite(m->online.data, m->n_params);
  if (bad_at < m->n_params) {
    errmsg(err, errlen, "eval: online[%zu] is %g, not finite", bad_at,
           (double)f32le_at(m->online.data, bad_at));
    goto bad;
  }
  if (m->count < 1 || m->count > WIRE_MAX_EVAL_EPISODES) {
    errmsg(err, errlen, "eval: count %u, expected 1..%d", m->count, WIRE_MAX_EVAL_EPISODES);
    goto bad;
  }
  if (m->seed_first > UINT64_MAX - m->count) {
    errmsg(err, errlen, "eval: seeds %llu + %u overflow", (unsigned long long)m->seed_first,
           m->count);
    goto bad;
  }
  return 0;
bad:
  rlserve__eval_request__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}

int wire_decode_eval_result(const uint8_t *p, size_t len, Rlserve__EvalResult **out, char *err,
                            size_t errlen) {
  UNPACK(Rlserve__EvalResult, rlserve__eval_result__unpack, "eval result");
  Rlserve__EvalResult *m = *out;
  if (m->n_returns < 1 || m->n_returns > WIRE_MAX_EVAL_EPISODES) {
    errmsg(err, errlen, "eval result: %zu returns, expected 1..%d", m->n_returns,
           WIRE_MAX_EVAL_EPISODES);
    goto bad;
  }
  if (m->n_lengths != m->n_returns) {
    errmsg(err, errlen, "eval result: %zu returns but %zu lengths", m->n_returns, m->n_lengths);
    goto bad;
  }
  for (size_t i = 0; i < m->n_returns; i++) {
    if (!isfinite(m->returns[i])) {
      errmsg(err, errlen, "eval result: returns[%zu] is %g, not finite", i, m->returns[i]);
      goto bad;
    }
    if (m->lengths[i] < 1) {
      errmsg(err, errlen, "eval result: lengths[%zu] is 0 (an episode is at least one step)", i);
      goto bad;
    }
  }
  return 0;
bad:
  rlserve__eval_result__free_unpacked(m, NULL);
  *out = NULL;
  return -1;
}
