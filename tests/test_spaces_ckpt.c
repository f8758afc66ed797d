/* test_spaces_ckpt: the "spaces" checkpoint section (server/learner/spaces_ckpt.h) and the
 * export of a worker-env run's checkpoint (export_policy_load). Round trips of a binary grid, a
 * box-action env and a wide image observation; the byte layout by hand; every truncation and
 * named damaged field refused with a message naming it; every single-byte change either refused
 * or decoded to valid spaces; a checkpoint with env = worker:ID builds its policy from the
 * section, one without it (an older file) or with a damaged one is refused by name, and a
 * checkpoint of a built-in env still builds without it. */
#include <stdint.h>

#include "check.h"
#include "checkpoint.h"
#include "config.h"
#include "export_cmd.h"
#include "spaces_ckpt.h"

static env_spec_t grid(void) {
  env_spec_t s = {0};
  s.id = "MyGridBits-v0";
  s.obs.kind = ENV_BOX;
  s.obs.dim = 25;
  s.obs.low[0] = 0.0f, s.obs.high[0] = 1.0f; /* 25 > ENV_MAX_DIM: one pair */
  s.obs.binary = 1;
  s.act.kind = ENV_DISCRETE;
  s.act.n = 4;
  s.act.dim = 1;
  return s;
}

static env_spec_t boxy(void) {
  env_spec_t s = {0};
  s.id = "Arm-v3";
  s.obs.kind = ENV_BOX;
  s.obs.dim = 3;
  float lo[3] = {-1, -INFINITY, -8}, hi[3] = {1, INFINITY, 8};
  memcpy(s.obs.low, lo, sizeof lo);
  memcpy(s.obs.high, hi, sizeof hi);
  s.act.kind = ENV_BOX;
  s.act.dim = 2;
  s.act.low[0] = -2, s.act.high[0] = 2, s.act.low[1] = 0, s.act.high[1] = 0.5f;
  return s;
}

static void round_trip(const env_spec_t *s, size_t want_len) {
  uint8_t b[SPACES_CKPT_MAX_BYTES];
  size_t n = spaces_ckpt_encode(s, b);
  CHECK(n == want_len, "%s: %zu bytes, expected %zu", s->id, n, want_len);
  spaces_ckpt_t d;
  char err[300] = "";
  CHECK(spaces_ckpt_decode(b, n, &d, err, sizeof err) == 0, "%s: %s", s->id, err);
  CHECK(!strcmp(d.id, s->id) && d.spec.id == d.id, "id %s", d.id);
  CHECK(spaces_ckpt_same(&d.spec, s), "%s: decoded spaces differ", s->id);
  CHECK(d.spec.reset == NULL && d.spec.step == NULL, "a decoded spec has no code");
  /* Every truncation is refused, naming the section. */
  for (size_t cut = 0; cut < n; cut++) {
    err[0] = 0;
    int rc = spaces_ckpt_decode(b, cut, &d, err, sizeof err);
    CHECK(rc == -1 && !strncmp(err, "spaces: ", 8), "%s cut at %zu: rc %d '%s'", s->id, cut, rc,
          err);
  }
  /* A stray byte after it. */
  b[n] = 0;
  CHECK(spaces_ckpt_decode(b, n + 1, &d, err, sizeof err) == -1 && strstr(err, "stray"), "%s", err);
  /* Every single-byte change: refused with a message, or valid spaces (never anything else). */
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      b[i] ^= (uint8_t)(1u << bit);
      err[0] = 0;
      if (spaces_ckpt_decode(b, n, &d, err, sizeof err) == 0) {
        CHECK(d.spec.obs.dim >= 1 && d.spec.obs.dim <= ENV_MAX_OBS_DIM && d.spec.act.dim >= 1 &&
                  d.spec.act.dim <= ENV_MAX_DIM && strlen(d.id) >= 1,
              "flip %zu.%d decoded to bad sizes", i, bit);
      } else {
        CHECK(!strncmp(err, "spaces: ", 8), "flip %zu.%d: '%s'", i, bit, err);
      }
      b[i] ^= (uint8_t)(1u << bit);
    }
}

/* Damaged fields of the grid encoding, each refused with the field named. */
static void damaged(void) {
  env_spec_t s = grid();
  uint8_t b[SPACES_CKPT_MAX_BYTES];
  size_t n = spaces_ckpt_encode(&s, b);
  size_t obs = 14 + strlen(s.id); /* obs_dim's offset */
  struct {
    size_t off;
    uint8_t v;
    const char *want;
  } cases[] = {
      {0, 'X', "bad magic"},
      {8, 2, "version 2"},
      {12, 0, "env id length 0"},
      {14, ' ', "printable"},
      {obs, 0, "obs_dim"},
      {obs + 4, 2, "obs_binary is 2"},
      {obs + 5, 5, "obs_shape"},
      {obs + 17, 2, "bound pairs"},
      {obs + 21, 0x3f, "binary observations with bounds"}, /* low 0 -> a denormal */
      {obs + 29, 3, "act_kind 3"},
      {obs + 30, 0, "act_n 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t c[SPACES_CKPT_MAX_BYTES];
    memcpy(c, b, n);
    c[cases[i].off] = cases[i].v;
    spaces_ckpt_t d;
    char err[300] = "";
    int rc = spaces_ckpt_decode(c, n, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, cases[i].want), "byte %zu = 0x%02x: rc %d '%s', expected '%s'",
          cases[i].off, cases[i].v, rc, err, cases[i].want);
  }
  /* A NaN action bound of a box env. */
  env_spec_t bx = boxy();
  n = spaces_ckpt_encode(&bx, b);
  float nan = NAN;
  memcpy(b + n - 16, &nan, 4);
  spaces_ckpt_t d;
  char err[300] = "";
  CHECK(spaces_ckpt_decode(b, n, &d, err, sizeof err) == -1 && strstr(err, "action bounds"), "%s",
        err);
}

/* Hand-computed layout of the box env: magic, version, id, obs_dim 3, flags, 3 pairs, ... */
static void layout_by_hand(void) {
  env_spec_t s = boxy();
  uint8_t b[SPACES_CKPT_MAX_BYTES];
  size_t n = spaces_ckpt_encode(&s, b);
  CHECK(n == 14 + 6 + 21 + 8 * 3 + 9 + 8 * 2, "length %zu", n);
  CHECK(!memcmp(b,
                "RLSPACES\x01\x00\x00\x00\x06\x00"
                "Arm-v3\x03\x00\x00\x00\x00",
                25),
        "header bytes");
  float f;
  memcpy(&f, b + 14 + 6 + 21 + 4, 4); /* the second observation low: -inf */
  CHECK(isinf(f) && f < 0, "obs low[1] %g", (double)f);
  CHECK(b[14 + 6 + 21 + 24] == 1, "act_kind box");
}

static char *write_ckpt(const char *path, const char *env, const checkpoint_section_t *extra,
                        size_t n_params) {
  config_t c;
  char err[512];
  config_init(&c);
  CHECK(config_set(&c, "env", env, err, sizeof err) == 0, "%s", err);
  CHECK(config_set(&c, "hidden", "8", err, sizeof err) == 0, "%s", err);
  char *text = config_to_text(&c);
  float *p = calloc(n_params, sizeof(float));
  for (size_t i = 0; i < n_params; i++) p[i] = (float)i * 1e-3f;
  checkpoint_section_t s[3] = {{"config", text, strlen(text)}, {"online", p, n_params * 4}};
  int n = 2;
  if (extra) s[n++] = *extra;
  CHECK(checkpoint_write(path, s, n, err, sizeof err) == 0, "%s", err);
  free(text);
  free(p);
  return NULL;
}

static int load(const char *path, export_policy_t *ep, char *err, size_t errlen) {
  checkpoint_t ck;
  if (checkpoint_read(path, &ck, err, errlen) != 0) return -2;
  int rc = export_policy_load(&ck, path, NULL, ep, err, errlen);
  checkpoint_free(&ck);
  return rc;
}

static void export_worker_env(void) {
  char path[] = "/tmp/test_spaces_ckpt.XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  close(fd);
  env_spec_t s = grid();
  uint8_t b[SPACES_CKPT_MAX_BYTES];
  checkpoint_section_t sec = {SPACES_CKPT_SECTION, b, spaces_ckpt_encode(&s, b)};
  const size_t n = 8 * 25 + 8 + 4 * 8 + 4; /* 25 -> 8 -> 4 */
  export_policy_t ep;
  char err[1024] = "";
  write_ckpt(path, "worker:MyGridBits-v0", &sec, n);
  CHECK(load(path, &ep, err, sizeof err) == 0, "%s", err);
  CHECK(ep.pol.obs_dim == 25 && ep.pol.n_actions == 4 && ep.pol.layout.n_params == n,
        "policy obs %d actions %d params %zu", ep.pol.obs_dim, ep.pol.n_actions,
        ep.pol.layout.n_params);
  CHECK(ep.params && ep.params[5] == (float)5 * 1e-3f, "params copied");
  size_t len = 0;
  uint8_t *img = export_onnx(&ep.pol, ep.params, "t", &len, err, sizeof err);
  CHECK(img && len > n * 4, "onnx %zu bytes", len);
  free(img);
  export_policy_free(&ep);
  /* An older checkpoint of such a run (no section), another env's section, a damaged one. */
  write_ckpt(path, "worker:MyGridBits-v0", NULL, n);
  CHECK(load(path, &ep, err, sizeof err) == -1 && strstr(err, "no spaces section"), "%s", err);
  write_ckpt(path, "worker:Other-v0", &sec, n);
  CHECK(load(path, &ep, err, sizeof err) == -1 && strstr(err, "is for env MyGridBits-v0"), "%s",
        err);
  b[14 + strlen(s.id)] = 0; /* obs_dim 0 */
  write_ckpt(path, "worker:MyGridBits-v0", &sec, n);
  CHECK(load(path, &ep, err, sizeof err) == -1 &&
            strstr(err, "section spaces refused: spaces: obs_dim 0"),
        "%s", err);
  /* Wrong parameter count for the declared spaces. */
  spaces_ckpt_encode(&s, b);
  write_ckpt(path, "worker:MyGridBits-v0", &sec, n - 1);
  CHECK(load(path, &ep, err, sizeof err) == -1 && strstr(err, "online weights"), "%s", err);
  /* A built-in env needs no section (old checkpoints keep loading). */
  write_ckpt(path, "CartPole-v1", NULL, 8 * 4 + 8 + 2 * 8 + 2);
  CHECK(load(path, &ep, err, sizeof err) == 0, "%s", err);
  export_policy_free(&ep);
  unlink(path);
}

int main(void) {
  env_spec_t g = grid(), bx = boxy(), wide = grid();
  round_trip(&g, 14 + 13 + 21 + 8 + 9);
  round_trip(&bx, 14 + 6 + 21 + 24 + 9 + 16);
  wide.id = "Pixels-v0";
  wide.obs.dim = 100;
  wide.obs.binary = 0;
  wide.obs.low[0] = 0, wide.obs.high[0] = 255;
  wide.obs.shape[0] = 10, wide.obs.shape[1] = 10, wide.obs.shape[2] = 1;
  round_trip(&wide, 14 + 9 + 21 + 8 + 9);
  env_spec_t other = g;
  other.obs.binary = 0;
  CHECK(!spaces_ckpt_same(&g, &other), "the binary flag counts");
  other = bx;
  other.act.high[1] = 0.75f;
  CHECK(!spaces_ckpt_same(&bx, &other), "action bounds count");
  damaged();
  layout_by_hand();
  export_worker_env();
  CHECK_DONE();
}
