/* Writes the seed corpora of the fuzz targets: valid encoded frames and payloads, and checkpoint
 * images (without their checksum) for the export target.
 * Usage: fuzz_gen_corpus DIR   (writes DIR/fuzz_frame, DIR/fuzz_wire, DIR/fuzz_tbatch,
 * DIR/fuzz_export). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frame.h"
#include "spaces_ckpt.h"
#include "tbatch.h"
#include "wire.h"

static const char *root;

static void put(const char *target, const char *name, const void *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, target);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
    perror(path);
    exit(1);
  }
}

typedef struct {
  uint8_t *p;
  size_t n;
} buf_t;

static void append(buf_t *b, const uint8_t *p, size_t n) {
  b->p = realloc(b->p, b->n + n);
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

/* One frame of each type; its payload goes to the wire or tbatch corpus too. */
static void frames(buf_t *stream) {
  size_t len;
  uint8_t *f;

  Rlserve__Hello h = RLSERVE__HELLO__INIT;
  h.protocol_version = 1;
  h.worker_name = "node1:4242";
  h.host = "node1";
  h.pid = 4242;
  h.num_envs = 8;
  f = wire_encode(FRAME_HELLO, &h.base, &len);
  put("fuzz_wire", "hello", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  Rlserve__ConfigEntry e1 = RLSERVE__CONFIG_ENTRY__INIT, e2 = RLSERVE__CONFIG_ENTRY__INIT;
  Rlserve__ConfigEntry *ep[2] = {&e1, &e2};
  e1.key = "env";
  e1.value = "CartPole-v1";
  e2.key = "algo";
  e2.value = "dqn";
  w.worker_id = 1;
  w.n_config = 2;
  w.config = ep;
  w.seed = 42;
  w.epsilon_final = 0.01;
  w.obs_dim = 4;
  w.act_dim = 2;
  f = wire_encode(FRAME_WELCOME, &w.base, &len);
  put("fuzz_wire", "welcome", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  float on[8] = {0.5f, -1, 2, 0, 1e-3f, 3, -4, 8};
  f = wire_encode_weights(3, 1000, on, 8, &len);
  put("fuzz_wire", "weights8", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  /* actor_priorities: the target network beside the online one (Weights field 8). */
  float tg[8] = {0.25f, -0.5f, 1, 0, 2e-3f, 1.5f, -2, 4};
  f = wire_encode_weights_target(4, 2000, on, tg, 8, &len);
  put("fuzz_wire", "weights8_target", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  /* explore = apex: worker 1 of 3 actors, eps_1 = 0.4^(1 + 7/2), and a DDPG noise scale. */
  Rlserve__Explore x = RLSERVE__EXPLORE__INIT;
  x.worker_index = 1;
  x.actors = 3;
  x.epsilon = 0.016190861620062;
  x.noise_scale = 0.1;
  f = wire_encode(FRAME_EXPLORE, &x.base, &len);
  put("fuzz_wire", "explore", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);
  x.worker_index = 0;
  x.actors = 1;
  x.epsilon = 0.4;
  x.noise_scale = 0;
  f = wire_encode(FRAME_EXPLORE, &x.base, &len);
  put("fuzz_wire", "explore_single", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);

  Rlserve__Stats s = RLSERVE__STATS__INIT;
  float ret[3] = {21, 500, 9.5f};
  uint32_t lens[3] = {21, 500, 10};
  s.env_steps = 531;
  s.episodes = 3;
  s.n_episode_returns = s.n_episode_lengths = 3;
  s.episode_returns = ret;
  s.episode_lengths = lens;
  s.steps_per_sec = 12000;
  s.weights_version = 3;
  s.epsilon = 0.1;
  f = wire_encode(FRAME_STATS, &s.base, &len);
  put("fuzz_wire", "stats", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  float obs[3 * 4] = {0.1f, 0.2f, 0.3f, 0.4f, 1, 2, 3, 4, -1, -2, -3, -4};
  float nobs[3 * 4] = {0.2f, 0.3f, 0.4f, 0.5f, 2, 3, 4, 5, -2, -3, -4, -5};
  float act[3] = {0, 1, 1}, rew[3] = {1, 1, 0};
  uint8_t flags[3] = {0, 2, 1};
  tbatch_t b = {.n = 3, .obs_dim = 4, .act_dim = 1, .weights_version = 3, .worker_id = 1,
                .obs = obs, .act = act, .rew = rew, .next_obs = nobs, .flags = flags};
  f = tbatch_encode(&b, &len);
  put("fuzz_tbatch", "batch3", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);
  b.n = 1;
  f = tbatch_encode(&b, &len);
  put("fuzz_tbatch", "batch1", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);
  /* "obs_enc" = "bits": one byte per 4-element observation (padding bits 4-7 zero). */
  uint8_t bo[3] = {0x05, 0x0f, 0x00}, bn[3] = {0x0a, 0x01, 0x08};
  tbatch_t bb = {.n = 3, .obs_dim = 4, .act_dim = 1, .weights_version = 3, .worker_id = 1,
                 .obs = bo, .act = act, .rew = rew, .next_obs = bn, .flags = flags,
                 .obs_enc = TBATCH_OBS_BITS};
  f = tbatch_encode(&bb, &len);
  put("fuzz_tbatch", "bits3", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);
  /* The same with a padding bit set (refused: nonzero padding). */
  bo[1] = 0x1f;
  f = tbatch_encode(&bb, &len);
  put("fuzz_tbatch", "bits3_badpad", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);
  /* n-step returns built on the worker ("disc": gamma^k, 0 after a termination) and
   * actor-side initial priorities ("prio": |TD error|). */
  float disc[3] = {0.970299f, 0.9801f, 0.0f}, prio[3] = {0.5f, 0.0f, 12.25f};
  tbatch_t bx = {.n = 3,
                 .obs_dim = 4,
                 .act_dim = 1,
                 .weights_version = 3,
                 .worker_id = 1,
                 .obs = obs,
                 .act = act,
                 .rew = rew,
                 .next_obs = nobs,
                 .flags = flags,
                 .disc = disc};
  f = tbatch_encode(&bx, &len);
  put("fuzz_tbatch", "batch3_disc", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);
  bx.prio = prio;
  f = tbatch_encode(&bx, &len);
  put("fuzz_tbatch", "batch3_disc_prio", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);
  bx.disc = NULL;
  f = tbatch_encode(&bx, &len);
  put("fuzz_tbatch", "batch3_prio", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  free(f);

  f = wire_encode_error(2, "weights: online has 396 bytes, expected 4*100=400", &len);
  put("fuzz_wire", "error", f + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE);
  append(stream, f, len);
  free(f);

  f = wire_encode_empty(FRAME_HEARTBEAT, &len);
  append(stream, f, len);
  free(f);
}

/* A checkpoint image without the trailing checksum (fuzz_export appends it): "RLSVCKPT", format
 * 1, the sections (name[16] | u64 length | bytes). */
typedef struct {
  const char *name;
  const void *p;
  size_t n;
} sec_t;

static void put_u64(buf_t *b, uint64_t v, int bytes) {
  uint8_t x[8];
  for (int i = 0; i < bytes; i++) x[i] = (uint8_t)(v >> (8 * i));
  append(b, x, (size_t)bytes);
}

static void ckpt_seed(const char *name, const sec_t *s, int n) {
  buf_t b = {0};
  append(&b, (const uint8_t *)"RLSVCKPT", 8);
  put_u64(&b, 1, 4);
  put_u64(&b, (uint64_t)n, 4);
  for (int i = 0; i < n; i++) {
    uint8_t nm[16] = {0};
    memcpy(nm, s[i].name, strlen(s[i].name));
    append(&b, nm, 16);
    put_u64(&b, s[i].n, 8);
    append(&b, s[i].p, s[i].n);
  }
  put("fuzz_export", name, b.p, b.n);
  free(b.p);
}

/* Policies of each kind the export path builds: a CartPole DQN, a Pendulum DDPG actor with its
 * critic after it, a worker-side env (env = worker:ID) with its spaces section, a MinAtar DQN
 * with a conv trunk and a dueling head (conv 2x3x3 on 10x10x4: 2 x 36 + 2; flatten 128; fc 4:
 * 4 x 128 + 4; dueling 6: 7 x 4 + 7 = 625 floats), a CartPole dueling DQN (fc 8: 40;
 * dueling 2: 3 x 8 + 3 = 67 floats) and a MinAtar dueling DQN without convs (flatten of the
 * image, fc 4: 4 x 400 + 4, dueling 6: 35 = 1639 floats). */
static void export_seeds(void) {
  static float w[2048];
  for (int i = 0; i < 2048; i++) w[i] = (float)((i * 37) % 17 - 8) / 16.0f;
  static const char dqn[] = "algo = dqn\nenv = CartPole-v1\nhidden = 8\nactivation = relu\n";
  static const char ddpg[] = "algo = ddpg\nenv = Pendulum-v1\nhidden = 8\nactivation = tanh\n";
  static const char ext[] = "algo = dqn\nenv = worker:Grid-v0\nhidden = 4\nsolve_threshold = -5\n";
  sec_t a[] = {{"config", dqn, sizeof dqn - 1}, {"online", w, 58 * 4}};
  ckpt_seed("dqn_cartpole", a, 2);
  sec_t b[] = {{"config", ddpg, sizeof ddpg - 1}, {"online", w, 90 * 4}};
  ckpt_seed("ddpg_pendulum", b, 2);
  env_spec_t g = {0};
  g.id = "Grid-v0";
  g.obs.kind = ENV_BOX;
  g.obs.dim = 9;
  for (int i = 0; i < 9; i++) g.obs.high[i] = 1.0f;
  g.obs.binary = 1;
  g.act.kind = ENV_DISCRETE;
  g.act.n = 3;
  g.act.dim = 1;
  uint8_t sp[SPACES_CKPT_MAX_BYTES];
  size_t sn = spaces_ckpt_encode(&g, sp);
  sec_t c[] = {{"config", ext, sizeof ext - 1},
               {"online", w, (9 * 4 + 4 + 4 * 3 + 3) * 4},
               {"spaces", sp, sn}};
  ckpt_seed("worker_env", c, 3);
  static const char mina[] =
      "algo = dqn\nenv = MinAtar/Breakout-v0\nnet = conv:2x3x3,fc:4\ndueling = true\n";
  static const char mina_layout[] = "in:10x10x4 conv:2x3x3:relu flatten fc:4:relu dueling:6";
  sec_t d[] = {{"config", mina, sizeof mina - 1},
               {"online", w, 625 * 4},
               {"layout", mina_layout, sizeof mina_layout - 1}};
  ckpt_seed("dqn_minatar_conv_dueling", d, 3);
  static const char duel[] = "algo = dqn\nenv = CartPole-v1\nhidden = 8\ndueling = true\n";
  sec_t e[] = {{"config", duel, sizeof duel - 1}, {"online", w, 67 * 4}};
  ckpt_seed("dqn_cartpole_dueling", e, 2);
  static const char flat[] = "algo = dqn\nenv = MinAtar/Breakout-v0\nhidden = 4\ndueling = true\n";
  sec_t f[] = {{"config", flat, sizeof flat - 1}, {"online", w, 1639 * 4}};
  ckpt_seed("dqn_minatar_flat_dueling", f, 2);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  mkdir(root, 0755);
  buf_t stream = {0};
  frames(&stream);
  /* The frame target's first byte picks the piece sizes: 1, up to 7, up to 300, whole. */
  const uint8_t modes[4] = {0x00, 0x01, 0x02, 0x03};
  for (int m = 0; m < 4; m++) {
    buf_t in = {0};
    append(&in, &modes[m], 1);
    append(&in, stream.p, stream.n);
    char name[32];
    snprintf(name, sizeof name, "stream_mode%d", m);
    put("fuzz_frame", name, in.p, in.n);
    free(in.p);
  }
  /* A stream that goes bad after two frames (an HTTP request). */
  buf_t bad = {0};
  append(&bad, modes + 2, 1);
  append(&bad, stream.p, 60);
  append(&bad, (const uint8_t *)"GET /status HTTP/1.1\r\n\r\n", 24);
  put("fuzz_frame", "stream_http", bad.p, bad.n);
  free(bad.p);
  free(stream.p);
  export_seeds();
  return 0;
}
