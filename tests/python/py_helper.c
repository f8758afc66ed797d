/* py_helper: the C side of the Python worker's tests (tests/python/ scripts).
 *
 *   py_helper encode DIR      C-encoded frames for the Python codecs to decode (*.frame, *.bin)
 *   py_helper decode DIR      decodes and checks the frames the Python codecs wrote (py_*.frame)
 *   py_helper nn DIR          a small MLP's parameters, inputs and the C forward (nn.c) outputs
 *   py_helper nnconv DIR      the same for conv / flatten / dueling nets (nnconv<k>.*)
 *   py_helper bits DIR        a C-encoded bits batch (obs_enc "bits") and its float rows
 *   py_helper bitscheck DIR   decodes Python's bits batch (py_bits.*) and compares the rows
 *                             and the packed bytes with obsbits_pack of the same floats
 *   py_helper nstep DIR       common/nstep.c over the step sequence nstep_in.bin (written by
 *                             test_codec.py): the transitions into nstep_c.bin
 *   py_helper nstepcheck DIR  the same, compared byte for byte with Python's nstep_py.bin
 *   py_helper prio DIR PRESET [KEY=VALUE...]
 *                             random online/target buffers of the preset's algorithm, random
 *                             rows and the C actor priorities (algo row `priorities`, as
 *                             worker.c sends them) into prio_*.bin / prio_cfg.txt
 *   py_helper act CKPT TOKEN|- N SEED OUT
 *                             N observations from greedy episodes of the checkpoint's policy
 *                             in the C env (episode i resets with SEED + i) and the C greedy
 *                             action for each (algo act_greedy, as `rlserve eval` acts);
 *                             discrete: then the n x n_actions Q-values of the C forward
 *   py_helper mkckpt PRESET SEED OUT
 *                             a plain policy checkpoint of the preset's network with random
 *                             parameters (Linear init, last layer x3 so tanh saturates somewhere)
 *
 * The fixed values below are the same in test_codec.py; each check prints what it saw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "auth.h"
#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "frame.h"
#include "nn.h"
#include "nstep.h"
#include "obsbits.h"
#include "seal.h"
#include "tbatch.h"
#include "wire.h"

static int failures;
#define EXPECT(cond, ...)                  \
  do {                                     \
    if (!(cond)) {                         \
      fprintf(stderr, "FAIL %s: ", #cond); \
      fprintf(stderr, __VA_ARGS__);        \
      fputc('\n', stderr);                 \
      failures++;                          \
    }                                      \
  } while (0)

static void fixed_keys(uint8_t key[32], uint8_t nl[32], uint8_t nw[32]) {
  for (int i = 0; i < 32; i++) {
    key[i] = (uint8_t)i;
    nl[i] = 0x11;
    nw[i] = 0x22;
  }
}

static int write_bytes(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "py_helper: cannot write %s\n", path);
    exit(2);
  }
  return 0;
}

static uint8_t *read_bytes(const char *dir, const char *name, size_t *n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "py_helper: cannot read %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  *n = fread(p, 1, (size_t)len, f);
  fclose(f);
  return p;
}

static void put_frame(const char *dir, const char *name, uint8_t *f, size_t len) {
  write_bytes(dir, name, f, len);
  free(f);
}

/* n x dim test values: row r, column c -> r + c / 8 - 1.5 (exact in float32). */
static void fill(float *v, int n, int dim) {
  for (int r = 0; r < n; r++)
    for (int c = 0; c < dim; c++) v[r * dim + c] = (float)r + (float)c / 8.0f - 1.5f;
}

static int cmd_encode(const char *dir) {
  size_t len;
  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = FRAME_PROTOCOL_VERSION;
  h.worker_name = "c-host:42";
  h.host = "c-host";
  h.pid = 42;
  h.num_envs = 16;
  h.env_id = "Pendulum-v1";
  h.obs_dim = 3;
  h.act_dim = 1;
  h.act_continuous = 1;
  float lo[1] = {-2.0f}, hi[1] = {2.0f};
  h.n_act_low = h.n_act_high = 1;
  h.act_low = lo;
  h.act_high = hi;
  {
    uint8_t *fr = wire_encode(FRAME_HELLO, &h.base, &len);
    put_frame(dir, "hello.frame", fr, len);
  }

  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  Rlserve__ConfigEntry e1 = RLSERVE__CONFIG_ENTRY__INIT, e2 = RLSERVE__CONFIG_ENTRY__INIT;
  e1.key = "algo";
  e1.value = "dqn";
  e2.key = "hidden";
  e2.value = "64,64";
  Rlserve__ConfigEntry *ents[2] = {&e1, &e2};
  w.worker_id = 7;
  w.worker_index = 1;
  w.config = ents;
  w.n_config = 2;
  w.seed = 123456789012345ull;
  w.epsilon_final = 0.01;
  w.obs_dim = 4;
  w.act_dim = 2;
  w.env_id = "CartPole-v1";
  {
    uint8_t *fr = wire_encode(FRAME_WELCOME, &w.base, &len);
    put_frame(dir, "welcome.frame", fr, len);
  }

  float params[10];
  fill(params, 1, 10);
  {
    uint8_t *fr = wire_encode_weights(9, 5000, params, 10, &len);
    put_frame(dir, "weights.frame", fr, len);
  }

  float obs[3 * 4], act[3], rew[3], next[3 * 4];
  uint8_t flags[3] = {0, TBATCH_TERMINATED, TBATCH_TRUNCATED};
  fill(obs, 3, 4);
  fill(next, 3, 4);
  for (int i = 0; i < 3; i++) {
    act[i] = (float)(i % 2);
    rew[i] = 1.0f + (float)i;
    next[i * 4] += 0.25f;
  }
  tbatch_t b = {.n = 3,
                .obs_dim = 4,
                .act_dim = 1,
                .weights_version = 1ull << 40,
                .worker_id = 7,
                .obs = obs,
                .act = act,
                .rew = rew,
                .next_obs = next,
                .flags = flags};
  {
    uint8_t *fr = tbatch_encode(&b, &len);
    put_frame(dir, "tbatch.frame", fr, len);
  }
  {
    uint8_t *fr = wire_encode_error(409, "env mismatch (env id)", &len);
    put_frame(dir, "error.frame", fr, len);
  }
  Rlserve__Credit cr = RLSERVE__CREDIT__INIT;
  cr.transitions = 256;
  uint8_t *credit = wire_encode(FRAME_CREDIT, &cr.base, &len);
  size_t credit_len = len;

  /* The learner's side of a fixed handshake: its proof and two sealed frames (counters 0, 1). */
  uint8_t key[32], nl[32], nw[32], mac[AUTH_MAC];
  fixed_keys(key, nl, nw);
  auth_prove(key, AUTH_LEARNER, nl, nw, mac);
  write_bytes(dir, "learner_proof.bin", mac, sizeof mac);
  seal_t s;
  seal_init(&s, key, nl, nw, SEAL_AS_LEARNER);
  int rc;
  size_t sl;
  uint8_t *s0 = seal_frame_alloc(&s.tx, credit, credit_len, &sl, &rc);
  put_frame(dir, "sealed0.frame", s0, sl);
  uint8_t *s1 = seal_frame_alloc(&s.tx, credit, credit_len, &sl, &rc);
  put_frame(dir, "sealed1.frame", s1, sl);
  free(credit);
  {
    float ew[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.25f};
    Rlserve__EvalRequest rq = RLSERVE__EVAL_REQUEST__INIT;
    rq.eval_id = 42;
    rq.weights_version = 7;
    rq.n_params = 5;
    rq.online.data = (uint8_t *)ew;
    rq.online.len = sizeof ew;
    rq.seed_first = 1000100;
    rq.count = 25;
    uint8_t *fr = wire_encode(FRAME_EVAL, &rq.base, &len); /* sets len before it is read */
    put_frame(dir, "eval.frame", fr, len);
  }
  return 0;
}

/* A whole frame from the Python side: header checked, payload returned. */
static const uint8_t *frame_of(const uint8_t *f, size_t n, int type, size_t *plen) {
  frame_header_t h;
  char why[256];
  int rc = n >= FRAME_HEADER_SIZE ? frame_header_explain(f, 0, why, sizeof why) : -1;
  EXPECT(rc == FRAME_OK && frame_header_decode(f, 0, &h) == FRAME_OK, "header: %s",
         rc == -1 ? "short" : why);
  if (rc != FRAME_OK) return NULL;
  frame_header_decode(f, 0, &h);
  EXPECT(h.type == type, "type %d, expected %d", h.type, type);
  EXPECT(h.length + FRAME_HEADER_SIZE == n, "length %u + 12 != %zu bytes", h.length, n);
  *plen = h.length;
  return f + FRAME_HEADER_SIZE;
}

static void check_py_tbatch(const uint8_t *p, size_t len, const char *what) {
  tbatch_limits_t lim = {.obs_dim = 4, .act_dim = 1, .n_actions = 2, .max_n = 64};
  tbatch_t b;
  char err[512];
  int rc = tbatch_decode(p, len, &lim, &b, err, sizeof err);
  EXPECT(rc == 0, "%s: %s", what, err);
  if (rc) return;
  EXPECT(b.n == 3 && b.weights_version == (1ull << 40) && b.worker_id == 7,
         "%s: n %u wv %llu wid %u", what, b.n, (unsigned long long)b.weights_version, b.worker_id);
  float obs[12], next[12], act[3], rew[3], want[12];
  memcpy(obs, b.obs, sizeof obs);
  memcpy(next, b.next_obs, sizeof next);
  memcpy(act, b.act, sizeof act);
  memcpy(rew, b.rew, sizeof rew);
  fill(want, 3, 4);
  for (int i = 0; i < 12; i++)
    EXPECT(obs[i] == want[i], "%s: obs[%d] = %g, want %g", what, i, obs[i], want[i]);
  for (int i = 0; i < 3; i++) {
    EXPECT(next[i * 4] == want[i * 4] + 0.25f, "%s: next_obs[%d] = %g", what, i * 4, next[i * 4]);
    EXPECT(act[i] == (float)(i % 2), "%s: act[%d] = %g", what, i, act[i]);
    EXPECT(rew[i] == 1.0f + (float)i, "%s: rew[%d] = %g", what, i, rew[i]);
  }
  EXPECT(b.flags[0] == 0 && b.flags[1] == TBATCH_TERMINATED && b.flags[2] == TBATCH_TRUNCATED,
         "%s: flags %u %u %u", what, b.flags[0], b.flags[1], b.flags[2]);
}

/* env = worker:ID frames the Python worker writes: its Hello with observation bounds and
 * `evaluates` (worker.hello_payload), and an EvalResult. */
static void check_py_eval_frames(const char *dir) {
  size_t n, plen;
  char err[512];
  uint8_t *f = read_bytes(dir, "py_hello_declared.frame", &n);
  const uint8_t *p = frame_of(f, n, FRAME_HELLO, &plen);
  Rlserve__Hello *h;
  if (p && wire_decode_hello(p, plen, &h, err, sizeof err) == 0) {
    EXPECT(!strcmp(h->env_id, "MyGrid-v0") && h->obs_dim == 25 && h->act_dim == 4 &&
               !h->act_continuous && h->evaluates && h->n_obs_low == 1 && h->n_obs_high == 1 &&
               h->obs_low[0] == 0.0f && h->obs_high[0] == 1.0f,
           "declared hello: %s obs %u act %u evaluates %d bounds %zu", h->env_id, h->obs_dim,
           h->act_dim, h->evaluates, h->n_obs_low);
    rlserve__hello__free_unpacked(h, NULL);
  } else {
    EXPECT(0, "declared hello: %s", err);
  }
  free(f);
  f = read_bytes(dir, "py_evalres.frame", &n);
  p = frame_of(f, n, FRAME_EVAL_RESULT, &plen);
  Rlserve__EvalResult *r;
  if (p && wire_decode_eval_result(p, plen, &r, err, sizeof err) == 0) {
    EXPECT(r->eval_id == 42 && r->seed_first == 1000100 && r->n_returns == 3 &&
               r->returns[0] == -4.0 && r->returns[2] == -2.5 && r->n_lengths == 3 &&
               r->lengths[1] == 6,
           "eval result: id %llu seed %llu n %zu", (unsigned long long)r->eval_id,
           (unsigned long long)r->seed_first, r->n_returns);
    rlserve__eval_result__free_unpacked(r, NULL);
  } else {
    EXPECT(0, "eval result: %s", err);
  }
  free(f);
}

static int cmd_decode(const char *dir) {
  size_t n, plen;
  char err[512];
  uint8_t *f = read_bytes(dir, "py_hello.frame", &n);
  const uint8_t *p = frame_of(f, n, FRAME_HELLO, &plen);
  Rlserve__Hello *h;
  if (p && wire_decode_hello(p, plen, &h, err, sizeof err) == 0) {
    EXPECT(h->protocol_version == FRAME_PROTOCOL_VERSION && h->num_envs == 16 && h->pid == 4242,
           "hello: version %u envs %u pid %u", h->protocol_version, h->num_envs, h->pid);
    EXPECT(!strcmp(h->env_id, "MountainCarContinuous-v0") && h->obs_dim == 2 && h->act_dim == 1 &&
               h->act_continuous && h->n_act_low == 1 && h->act_low[0] == -1.0f &&
               h->n_act_high == 1 && h->act_high[0] == 1.0f,
           "hello env: %s obs %u act %u cont %d", h->env_id, h->obs_dim, h->act_dim,
           h->act_continuous);
    EXPECT(h->auth.len == 32 && h->nonce.len == 32, "hello auth %zu nonce %zu", h->auth.len,
           h->nonce.len);
    uint8_t key[32], nl[32], nw[32];
    fixed_keys(key, nl, nw);
    EXPECT(h->nonce.len == 32 && !memcmp(h->nonce.data, nw, 32), "hello nonce is not nonce_W");
    EXPECT(auth_verify(key, AUTH_WORKER, nl, nw, h->auth.data, h->auth.len),
           "the Python worker's proof does not verify in C");
    EXPECT(!auth_verify(key, AUTH_LEARNER, nl, nw, h->auth.data, h->auth.len),
           "the worker proof passes as the learner's (reflection)");
    rlserve__hello__free_unpacked(h, NULL);
  } else {
    EXPECT(0, "hello: %s", err);
  }
  free(f);

  f = read_bytes(dir, "py_tbatch.frame", &n);
  if ((p = frame_of(f, n, FRAME_TRANSITIONS, &plen))) check_py_tbatch(p, plen, "tbatch");
  free(f);

  f = read_bytes(dir, "py_stats.frame", &n);
  Rlserve__Stats *st;
  if ((p = frame_of(f, n, FRAME_STATS, &plen)) &&
      wire_decode_stats(p, plen, &st, err, sizeof err) == 0) {
    EXPECT(st->env_steps == 1000 && st->episodes == 2 && st->n_episode_returns == 2 &&
               st->episode_returns[1] == 21.5f && st->n_episode_lengths == 2 &&
               st->episode_lengths[0] == 10 && st->weights_version == 9 && st->epsilon == 0.25,
           "stats: steps %llu episodes %llu", (unsigned long long)st->env_steps,
           (unsigned long long)st->episodes);
    rlserve__stats__free_unpacked(st, NULL);
  } else {
    EXPECT(0, "stats: %s", err);
  }
  free(f);

  /* Two frames the Python worker sealed (counters 0 and 1), opened as the learner. */
  uint8_t key[32], nl[32], nw[32];
  fixed_keys(key, nl, nw);
  seal_t s;
  seal_init(&s, key, nl, nw, SEAL_AS_LEARNER);
  for (int i = 0; i < 2; i++) {
    char name[32];
    snprintf(name, sizeof name, "py_sealed%d.frame", i);
    f = read_bytes(dir, name, &n);
    frame_header_t hd;
    EXPECT(frame_header_decode(f, 0, &hd) == FRAME_OK && hd.type == FRAME_TRANSITIONS, "%s header",
           name);
    size_t pl;
    int rc = seal_open(&s.rx, &hd, f + FRAME_HEADER_SIZE, &pl);
    EXPECT(rc == SEAL_OK, "%s: %s", name, seal_strerror(rc));
    if (rc == SEAL_OK) check_py_tbatch(f + FRAME_HEADER_SIZE, pl, name);
    free(f);
  }
  /* A replayed frame must not open. */
  f = read_bytes(dir, "py_sealed0.frame", &n);
  frame_header_t hd;
  frame_header_decode(f, 0, &hd);
  size_t pl;
  EXPECT(seal_open(&s.rx, &hd, f + FRAME_HEADER_SIZE, &pl) == SEAL_EFORGED,
         "a replayed frame opened");
  free(f);
  check_py_eval_frames(dir);
  printf("%s\n",
         failures ? "decode: FAILED" : "decode: every Python frame decoded in C as written");
  return failures ? 1 : 0;
}

static int cmd_nn(const char *dir) {
  nn_layout_t l;
  int hidden[2] = {7, 3};
  nn_layout_init(&l, 5, hidden, 2, 4, NN_RELU, NN_TANH);
  float *params = malloc(l.n_params * sizeof(float)), x[6 * 5];
  rng_t r;
  rng_seed(&r, 5);
  nn_init_params(&l, params, &r);
  for (int i = 0; i < 30; i++) x[i] = (float)rng_range(&r, -3, 3);
  nn_ws_t ws;
  nn_ws_init(&ws, &l, 6);
  const float *y = nn_forward(&ws, params, x, 6);
  write_bytes(dir, "nn_params.bin", (const uint8_t *)params, l.n_params * sizeof(float));
  write_bytes(dir, "nn_x.bin", (const uint8_t *)x, sizeof x);
  write_bytes(dir, "nn_y.bin", (const uint8_t *)y, 6 * 4 * sizeof(float));
  nn_ws_free(&ws);
  free(params);
  return 0;
}

/* Conv nets as config `net` lines build them (nn_layout_build): for each case k, the layout's
 * description (nnconv<k>.txt: "H W C n_out dueling act out_act net"), parameters, 5 inputs
 * and the C forward's outputs. */
static int cmd_nnconv(const char *dir) {
  const struct {
    int shape[3], n_out, dueling;
    nn_act_t act, out_act;
    const char *net;
  } cs[] = {{{10, 10, 4}, 6, 0, NN_RELU, NN_IDENTITY, "conv:16x3x3,fc:128"},
            {{10, 10, 7}, 3, 1, NN_RELU, NN_IDENTITY, "conv:16x3x3,fc:128"},
            {{6, 7, 3}, 4, 0, NN_TANH, NN_TANH, "conv:4x2x3,conv:3x3x2,flatten,fc:9"},
            {{5, 4, 2}, 2, 1, NN_RELU, NN_IDENTITY, "conv:5x5x1"}};
  static const char *an[] = {"identity", "relu", "tanh"};
  for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
    nn_spec_t sp;
    nn_layout_t l;
    char err[256], name[64], txt[256];
    int n_in = cs[k].shape[0] * cs[k].shape[1] * cs[k].shape[2];
    if (nn_spec_parse(&sp, cs[k].net, err, sizeof err) ||
        nn_layout_build(&l, &sp, n_in, cs[k].shape, cs[k].n_out, cs[k].act, cs[k].out_act,
                        cs[k].dueling, err, sizeof err)) {
      fprintf(stderr, "py_helper: %s\n", err);
      return 2;
    }
    float *params = malloc(l.n_params * sizeof(float)), *x = malloc(5 * (size_t)n_in * 4);
    rng_t r;
    rng_seed(&r, 11 + k);
    nn_init_params(&l, params, &r);
    for (size_t i = 0; i < l.n_params; i++) params[i] += (float)rng_range(&r, -0.05, 0.05);
    for (int i = 0; i < 5 * n_in; i++) x[i] = k < 2 ? (float)rng_below(&r, 2) : (float)rng_range(&r, -2, 2);
    nn_ws_t ws;
    nn_ws_init(&ws, &l, 5);
    const float *y = nn_forward(&ws, params, x, 5);
    snprintf(txt, sizeof txt, "%d %d %d %d %d %s %s %s %zu\n", cs[k].shape[0], cs[k].shape[1],
             cs[k].shape[2], cs[k].n_out, cs[k].dueling, an[cs[k].act], an[cs[k].out_act],
             cs[k].net, l.n_params);
    snprintf(name, sizeof name, "nnconv%zu.txt", k);
    write_bytes(dir, name, (const uint8_t *)txt, strlen(txt));
    snprintf(name, sizeof name, "nnconv%zu_params.bin", k);
    write_bytes(dir, name, (const uint8_t *)params, l.n_params * sizeof(float));
    snprintf(name, sizeof name, "nnconv%zu_x.bin", k);
    write_bytes(dir, name, (const uint8_t *)x, 5 * (size_t)n_in * 4);
    snprintf(name, sizeof name, "nnconv%zu_y.bin", k);
    write_bytes(dir, name, (const uint8_t *)y, 5 * (size_t)cs[k].n_out * 4);
    nn_ws_free(&ws);
    free(params);
    free(x);
  }
  return 0;
}

/* Bits batches (tbatch "obs_enc" = "bits"), obs_dim 13, 4 rows: writes C's (c_bits.frame and
 * its obs / next_obs floats c_bits_obs.bin, c_bits_next.bin); with `check`, decodes Python's
 * py_bits.frame and compares the unpacked rows with py_bits_obs.bin / py_bits_next.bin. */
static int cmd_bits(const char *dir, int check) {
  enum { N = 4, OD = 13, ROW = 2 };
  if (check) {
    size_t n, no, nn;
    uint8_t *f = read_bytes(dir, "py_bits.frame", &n);
    uint8_t *wo = read_bytes(dir, "py_bits_obs.bin", &no), *wn = read_bytes(dir, "py_bits_next.bin", &nn);
    size_t plen;
    const uint8_t *p = frame_of(f, n, FRAME_TRANSITIONS, &plen);
    tbatch_limits_t lim = {.obs_dim = OD, .act_dim = 1, .n_actions = 6, .max_n = 64, .allow_bits = 1};
    tbatch_t b;
    char err[256] = "no frame";
    int ok = p && tbatch_decode(p, plen, &lim, &b, err, sizeof err) == 0 &&
             b.obs_enc == TBATCH_OBS_BITS && b.n == N && no == N * OD * 4 && nn == N * OD * 4;
    float u[OD];
    uint8_t pk[ROW];
    for (int i = 0; ok && i < N; i++) { /* the same bytes as obsbits_pack of the floats */
      float x[OD];
      memcpy(x, wo + i * OD * 4, sizeof x);
      ok = !obsbits_pack(x, OD, pk, NULL, 0) && !memcmp(pk, (const uint8_t *)b.obs + i * ROW, ROW);
      memcpy(x, wn + i * OD * 4, sizeof x);
      ok = ok && !obsbits_pack(x, OD, pk, NULL, 0) &&
           !memcmp(pk, (const uint8_t *)b.next_obs + i * ROW, ROW);
      if (!ok) snprintf(err, sizeof err, "row %d: packed bytes differ from obsbits_pack", i);
    }
    for (int i = 0; ok && i < N; i++) {
      obsbits_unpack((const uint8_t *)b.obs + i * ROW, OD, u);
      ok = !memcmp(u, wo + i * OD * 4, sizeof u);
      obsbits_unpack((const uint8_t *)b.next_obs + i * ROW, OD, u);
      ok = ok && !memcmp(u, wn + i * OD * 4, sizeof u);
    }
    printf("bits: Python's packed batch %s\n", ok ? "decoded in C as written" : err);
    free(f);
    free(wo);
    free(wn);
    return ok ? 0 : 1;
  }
  float obs[N * OD], next[N * OD], act[N] = {0, 5, 2, 3}, rew[N] = {1, 0, 0, 1};
  uint8_t flags[N] = {0, 1, 0, 2}, pk[2 * N * ROW];
  rng_t r;
  rng_seed(&r, 3);
  for (int i = 0; i < N * OD; i++) {
    obs[i] = (float)rng_below(&r, 2);
    next[i] = (float)rng_below(&r, 2);
  }
  for (int i = 0; i < N; i++) {
    obsbits_pack(obs + i * OD, OD, pk + i * ROW, NULL, 0);
    obsbits_pack(next + i * OD, OD, pk + (N + i) * ROW, NULL, 0);
  }
  tbatch_t b = {.n = N, .obs_dim = OD, .act_dim = 1, .weights_version = 2, .worker_id = 1,
                .obs = pk, .act = act, .rew = rew, .next_obs = pk + N * ROW, .flags = flags,
                .obs_enc = TBATCH_OBS_BITS};
  size_t len;
  uint8_t *fr = tbatch_encode(&b, &len);
  if (!fr) return 2;
  put_frame(dir, "c_bits.frame", fr, len);
  write_bytes(dir, "c_bits_obs.bin", (const uint8_t *)obs, sizeof obs);
  write_bytes(dir, "c_bits_next.bin", (const uint8_t *)next, sizeof next);
  return 0;
}

/* nstep_in.bin: int32 k, n, obs_dim, act_dim, steps; float64 gamma; then per step and env:
 * obs, act, rew, next_obs (float32) and flags (uint8). The transitions nstep.c builds go out as
 * int32 rows, then per row obs, act, rew, next_obs, disc (float32) and flags (uint8). */
static uint8_t *nstep_run(const char *dir, size_t *out_len) {
  size_t n;
  uint8_t *in = read_bytes(dir, "nstep_in.bin", &n);
  int32_t h[5];
  double gamma;
  if (n < sizeof h + sizeof gamma) return NULL;
  memcpy(h, in, sizeof h);
  memcpy(&gamma, in + sizeof h, sizeof gamma);
  const int k = h[0], ns = h[1], od = h[2], ad = h[3], steps = h[4];
  const size_t per = (size_t)(2 * od + ad + 1) * 4 + 1;
  if (k < 1 || k > 64 || ns < 1 || ns > 64 || od < 1 || od > 64 || ad < 1 || ad > 16 || steps < 0 ||
      n != sizeof h + sizeof gamma + (size_t)steps * (size_t)k * per) {
    fprintf(stderr, "py_helper: nstep_in.bin: bad header or size\n");
    return NULL;
  }
  nstep_t t;
  if (nstep_init(&t, k, ns, od, ad, gamma) != 0) return NULL;
  size_t cap = (size_t)steps * (size_t)k + 1;
  nstep_out_t o = {malloc(cap * od * 4),
                   malloc(cap * ad * 4),
                   malloc(cap * 4),
                   malloc(cap * od * 4),
                   malloc(cap * 4),
                   malloc(cap),
                   0};
  const uint8_t *p = in + sizeof h + sizeof gamma;
  float obs[64], act[16], nx[64], rew;
  for (int s = 0; s < steps; s++)
    for (int i = 0; i < k; i++, p += per) {
      memcpy(obs, p, (size_t)od * 4);
      memcpy(act, p + od * 4, (size_t)ad * 4);
      memcpy(&rew, p + (od + ad) * 4, 4);
      memcpy(nx, p + (od + ad + 1) * 4, (size_t)od * 4);
      nstep_push(&t, i, obs, act, rew, nx, p[per - 1], &o);
    }
  const size_t row = (size_t)(2 * od + ad + 2) * 4 + 1;
  *out_len = 4 + (size_t)o.n * row;
  uint8_t *out = malloc(*out_len), *q = out + 4;
  int32_t rows = o.n;
  memcpy(out, &rows, 4);
  for (int r = 0; r < o.n; r++, q += row) {
    memcpy(q, o.obs + (size_t)r * od, (size_t)od * 4);
    memcpy(q + od * 4, o.act + (size_t)r * ad, (size_t)ad * 4);
    memcpy(q + (od + ad) * 4, o.rew + r, 4);
    memcpy(q + (od + ad + 1) * 4, o.next_obs + (size_t)r * od, (size_t)od * 4);
    memcpy(q + (2 * od + ad + 1) * 4, o.disc + r, 4);
    q[row - 1] = o.flags[r];
  }
  free(o.obs);
  free(o.act);
  free(o.rew);
  free(o.next_obs);
  free(o.disc);
  free(o.flags);
  nstep_free(&t);
  free(in);
  return out;
}

static int cmd_nstep(const char *dir, int check) {
  size_t len;
  uint8_t *out = nstep_run(dir, &len);
  if (!out) return 2;
  int32_t rows;
  memcpy(&rows, out, 4);
  if (!check) {
    write_bytes(dir, "nstep_c.bin", out, len);
    printf("nstep: %d transitions from common/nstep.c\n", rows);
    free(out);
    return 0;
  }
  size_t pl;
  uint8_t *py = read_bytes(dir, "nstep_py.bin", &pl);
  size_t at = 0;
  while (at < len && at < pl && out[at] == py[at]) at++;
  int ok = pl == len && at == len;
  if (ok)
    printf("nstep: Python's %d transitions equal common/nstep.c's byte for byte\n", rows);
  else
    printf(
        "nstep: Python's transitions (%zu bytes) differ from common/nstep.c's (%zu bytes) at "
        "byte %zu\n",
        pl, len, at);
  free(py);
  free(out);
  return ok ? 0 : 1;
}

/* prio: the preset's algorithm (with KEY=VALUE overrides) on its env, two independently
 * initialised states as online and target, N rows of random data, and algo->priorities. Files:
 * prio_cfg.txt (config_to_text), prio_online.bin / prio_target.bin (the published buffers),
 * prio_rows.bin (int32 n, obs_dim, act_dim, n_actions; obs, act, rew, next_obs, disc float32,
 * flags uint8), prio_c.bin (n float32). */
static int cmd_prio(const char *dir, const char *preset, int n_over, char **over) {
  enum { N = 150 };
  config_t c;
  char err[1024];
  config_init(&c);
  if (config_load_preset(&c, preset, err, sizeof err) != 0) {
    fprintf(stderr, "py_helper: %s\n", err);
    return 2;
  }
  for (int i = 0; i < n_over; i++)
    if (config_set_arg(&c, over[i], err, sizeof err) != 0) {
      fprintf(stderr, "py_helper: %s\n", err);
      return 2;
    }
  const env_spec_t *spec = env_find(c.env);
  const algo_t *a = algo_find(c.algo);
  algo_policy_t pol;
  rng_t r1, r2, r;
  rng_seed(&r1, 11);
  rng_seed(&r2, 12);
  rng_seed(&r, 13);
  void *s1 = NULL, *s2 = NULL;
  if (!spec || !a || !a->priorities || a->policy(&c, spec, &pol, err, sizeof err) != 0 ||
      !(s1 = a->create(a, &c, spec, &r1, err, sizeof err)) ||
      !(s2 = a->create(a, &c, spec, &r2, err, sizeof err))) {
    fprintf(stderr, "py_helper: preset %s: no priorities (%s)\n", preset, err);
    return 2;
  }
  algo_weights_t w1, w2;
  a->weights(s1, &w1);
  a->weights(s2, &w2);
  const int od = pol.obs_dim, ad = pol.act_dim;
  float *obs = malloc((size_t)N * od * 4), *nx = malloc((size_t)N * od * 4),
        *act = malloc((size_t)N * ad * 4), rew[N], disc[N], prio[N];
  uint8_t flags[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < od; j++) {
      obs[(size_t)i * od + j] = (float)(rng_uniform(&r) * 4 - 2);
      nx[(size_t)i * od + j] = (float)(rng_uniform(&r) * 4 - 2);
    }
    for (int j = 0; j < ad; j++)
      act[(size_t)i * ad + j] = pol.n_actions > 0 ? (float)rng_below(&r, (uint64_t)pol.n_actions)
                                                  : (float)rng_range(&r, pol.low[j], pol.high[j]);
    rew[i] = (float)(rng_uniform(&r) * 2 - 1);
    flags[i] = (uint8_t)rng_below(&r, 3);
    disc[i] = (float)pow(c.gamma, 1 + (int)rng_below(&r, 3));
  }
  nn_ws_t ws;
  nn_ws_init(&ws, &pol.layout, 64);
  int rc =
      a->priorities(&c, &pol, w1.online, w2.online, &ws, N, obs, act, rew, nx, flags, disc, prio);
  char *text = config_to_text(&c);
  write_bytes(dir, "prio_cfg.txt", (const uint8_t *)text, strlen(text));
  write_bytes(dir, "prio_online.bin", (const uint8_t *)w1.online, w1.n * 4);
  write_bytes(dir, "prio_target.bin", (const uint8_t *)w2.online, w2.n * 4);
  size_t rl = 16 + (size_t)N * ((2 * od + ad + 2) * 4 + 1);
  uint8_t *rows = malloc(rl), *q = rows;
  int32_t h[4] = {N, od, ad, pol.n_actions};
  memcpy(q, h, 16);
  q += 16;
  memcpy(q, obs, (size_t)N * od * 4);
  q += (size_t)N * od * 4;
  memcpy(q, act, (size_t)N * ad * 4);
  q += (size_t)N * ad * 4;
  memcpy(q, rew, sizeof rew);
  q += sizeof rew;
  memcpy(q, nx, (size_t)N * od * 4);
  q += (size_t)N * od * 4;
  memcpy(q, disc, sizeof disc);
  q += sizeof disc;
  memcpy(q, flags, sizeof flags);
  write_bytes(dir, "prio_rows.bin", rows, rl);
  write_bytes(dir, "prio_c.bin", (const uint8_t *)prio, sizeof prio);
  printf("prio: %d C priorities of %s (%s, %zu online floats), first %.6g\n", N, preset, c.algo,
         w1.n, (double)prio[0]);
  free(text);
  free(rows);
  free(obs);
  free(nx);
  free(act);
  nn_ws_free(&ws);
  a->destroy(s1);
  a->destroy(s2);
  return rc == 0 ? 0 : 2;
}

/* The policy a checkpoint's config and online sections describe (as eval_cmd.c builds it). */
static int load_policy(const char *path, const char *token, config_t *c, const algo_t **a,
                       algo_policy_t *pol, float **params) {
  checkpoint_t ck;
  char err[1024];
  uint8_t tk[AUTH_KEY], key[CHECKPOINT_KEY];
  int keyed = strcmp(token, "-") != 0;
  if (keyed) {
    if (auth_key_from_file(token, tk, err, sizeof err) != 0) {
      fprintf(stderr, "py_helper: %s\n", err);
      return -1;
    }
    checkpoint_key_derive(tk, key);
  }
  if (checkpoint_read_keyed(path, &ck, keyed ? key : NULL, err, sizeof err) != 0) {
    fprintf(stderr, "py_helper: %s\n", err);
    return -1;
  }
  const checkpoint_section_t *cs = checkpoint_find(&ck, "config"),
                             *on = checkpoint_find(&ck, "online");
  char *text = cs ? malloc(cs->len + 1) : NULL;
  if (!text || !on) return -1;
  memcpy(text, cs->data, cs->len);
  text[cs->len] = 0;
  config_init(c);
  int rc = config_load_text(c, text, path, err, sizeof err);
  free(text);
  const env_spec_t *spec = env_find(c->env);
  *a = algo_find(c->algo);
  if (rc || !spec || !*a || (*a)->policy(c, spec, pol, err, sizeof err) != 0 ||
      on->len < pol->layout.n_params * sizeof(float)) {
    fprintf(stderr, "py_helper: %s: no policy\n", path);
    return -1;
  }
  *params = malloc(pol->layout.n_params * sizeof(float));
  memcpy(*params, on->data, pol->layout.n_params * sizeof(float));
  checkpoint_free(&ck);
  return 0;
}

static int cmd_act(const char *ckpt, const char *token, int n, uint64_t seed, const char *out) {
  config_t c;
  const algo_t *a;
  algo_policy_t pol;
  float *params;
  if (load_policy(ckpt, token, &c, &a, &pol, &params) != 0) return 2;
  env_t e;
  char err[256];
  if (env_init(&e, c.env, err, sizeof err) != 0) {
    fprintf(stderr, "py_helper: %s\n", err);
    return 2;
  }
  nn_ws_t ws;
  nn_ws_init(&ws, &pol.layout, 1);
  int od = pol.obs_dim, ad = pol.act_dim;
  int nq = pol.n_actions; /* discrete: the C forward's Q-values follow the actions */
  float *obs = malloc((size_t)n * od * sizeof(float)),
        *act = malloc((size_t)n * ad * sizeof(float)),
        *q = malloc((size_t)n * (nq > 0 ? nq : 1) * sizeof(float));
  float cur[ENV_MAX_OBS_DIM];
  int ep = 0;
  env_reset(&e, seed, cur);
  for (int i = 0; i < n; i++) {
    memcpy(obs + (size_t)i * od, cur, (size_t)od * sizeof(float));
    a->act_greedy(&pol, params, &ws, cur, 1, act + (size_t)i * ad);
    if (nq > 0)
      memcpy(q + (size_t)i * nq, nn_forward(&ws, params, cur, 1), (size_t)nq * sizeof(float));
    float r;
    int term, trunc;
    env_step(&e, act + (size_t)i * ad, cur, &r, &term, &trunc);
    if (term || trunc) env_reset(&e, seed + (uint64_t)++ep, cur);
  }
  FILE *f = fopen(out, "wb");
  int32_t hdr[3] = {n, od, ad};
  fwrite(hdr, sizeof hdr, 1, f);
  fwrite(obs, sizeof(float), (size_t)n * od, f);
  fwrite(act, sizeof(float), (size_t)n * ad, f);
  if (nq > 0) fwrite(q, sizeof(float), (size_t)n * nq, f);
  fclose(f);
  printf("act: %d observations from %d greedy episodes of %s (%s)\n", n, ep + 1, c.env, c.algo);
  nn_ws_free(&ws);
  env_free(&e);
  free(obs);
  free(act);
  free(q);
  free(params);
  return 0;
}

static int cmd_mkckpt(const char *preset, uint64_t seed, const char *out) {
  config_t c;
  char err[1024];
  config_init(&c);
  if (config_load_preset(&c, preset, err, sizeof err) != 0) {
    fprintf(stderr, "py_helper: %s\n", err);
    return 2;
  }
  const env_spec_t *spec = env_find(c.env);
  const algo_t *a = algo_find(c.algo);
  algo_policy_t pol;
  if (!spec || !a || a->policy(&c, spec, &pol, err, sizeof err) != 0) {
    fprintf(stderr, "py_helper: preset %s: no policy\n", preset);
    return 2;
  }
  float *params = malloc(pol.layout.n_params * sizeof(float));
  rng_t r;
  rng_seed(&r, seed);
  nn_init_params(&pol.layout, params, &r);
  nn_scale_last_layer(&pol.layout, params, 3.0f);
  char *text = config_to_text(&c);
  checkpoint_section_t s[2] = {{"config", text, strlen(text)},
                               {"online", params, pol.layout.n_params * sizeof(float)}};
  int rc = checkpoint_write(out, s, 2, err, sizeof err);
  if (rc) fprintf(stderr, "py_helper: %s\n", err);
  free(text);
  free(params);
  return rc ? 2 : 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "encode")) return cmd_encode(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "decode")) return cmd_decode(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "nn")) return cmd_nn(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "nnconv")) return cmd_nnconv(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "bits")) return cmd_bits(argv[2], 0);
  if (argc == 3 && !strcmp(argv[1], "bitscheck")) return cmd_bits(argv[2], 1);
  if (argc == 3 && !strcmp(argv[1], "nstep")) return cmd_nstep(argv[2], 0);
  if (argc == 3 && !strcmp(argv[1], "nstepcheck")) return cmd_nstep(argv[2], 1);
  if (argc >= 4 && !strcmp(argv[1], "prio")) return cmd_prio(argv[2], argv[3], argc - 4, argv + 4);
  if (argc == 7 && !strcmp(argv[1], "act"))
    return cmd_act(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10), argv[6]);
  if (argc == 5 && !strcmp(argv[1], "mkckpt"))
    return cmd_mkckpt(argv[2], strtoull(argv[3], NULL, 10), argv[4]);
  fprintf(stderr,
          "usage: py_helper encode|decode|nn|nnconv|bits|bitscheck|nstep|nstepcheck DIR | prio DIR "
          "PRESET [KEY=VALUE...] | act CKPT TOKEN|- N SEED OUT | mkckpt PRESET "
          "SEED OUT\n");
  return 2;
}
