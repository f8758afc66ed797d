/* Checks tbatch: round trips of random batches (zero-copy decode), and every rejection:
 * dims, n, version, bin lengths, NaN/Inf in each array, bad actions and flags, missing keys,
 * wrong key types, duplicates, trailing bytes, truncation, garbage and hostile msgpack. */
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "obsbits.h"
#include "rng.h"
#include "tbatch.h"

static char err[512];

typedef struct {
  uint32_t n, obs_dim, act_dim, n_actions;
  float *obs, *act, *rew, *next_obs;
  uint8_t *flags;
} batch_t;

static void batch_random(batch_t *b, rng_t *r, uint32_t n, uint32_t od, uint32_t ad,
                         uint32_t n_actions) {
  b->n = n;
  b->obs_dim = od;
  b->act_dim = ad;
  b->n_actions = n_actions;
  b->obs = malloc((size_t)n * od * 4 + 4);
  b->next_obs = malloc((size_t)n * od * 4 + 4);
  b->act = malloc((size_t)n * ad * 4 + 4);
  b->rew = malloc((size_t)n * 4);
  b->flags = malloc(n);
  for (size_t i = 0; i < (size_t)n * od; i++) {
    b->obs[i] = (float)rng_normal(r);
    b->next_obs[i] = (float)rng_normal(r);
  }
  for (size_t i = 0; i < (size_t)n * ad; i++)
    b->act[i] = n_actions ? (float)rng_below(r, n_actions) : (float)rng_range(r, -2, 2);
  for (uint32_t i = 0; i < n; i++) {
    b->rew[i] = (float)rng_range(r, -10, 10);
    b->flags[i] = (uint8_t)rng_below(r, 4);
  }
}

static void batch_free(batch_t *b) {
  free(b->obs);
  free(b->next_obs);
  free(b->act);
  free(b->rew);
  free(b->flags);
}

static uint8_t *encode(const batch_t *b, size_t *flen) {
  tbatch_t t = {.n = b->n,
                .obs_dim = b->obs_dim,
                .act_dim = b->act_dim,
                .weights_version = 0x1234567890ull,
                .worker_id = 3,
                .obs = b->obs,
                .act = b->act,
                .rew = b->rew,
                .next_obs = b->next_obs,
                .flags = b->flags};
  uint8_t *f = tbatch_encode(&t, flen);
  CHECK(f != NULL, "encode n=%u failed", b->n);
  return f;
}

static tbatch_limits_t limits_of(const batch_t *b) {
  tbatch_limits_t l = {b->obs_dim, b->act_dim, b->n_actions, 4096, 0};
  return l;
}

static int in(const void *x, const uint8_t *p, size_t len) {
  return (const uint8_t *)x >= p && (const uint8_t *)x <= p + len;
}

static void test_roundtrip(void) {
  rng_t r;
  rng_seed(&r, 21);
  for (int t = 0; t < 200; t++) {
    batch_t b;
    uint32_t n = 1 + (uint32_t)rng_below(&r, t < 5 ? 3 : 1000);
    uint32_t od = 1 + (uint32_t)rng_below(&r, 24);
    int discrete = t % 2;
    batch_random(&b, &r, n, od, discrete ? 1 : 1 + (uint32_t)rng_below(&r, 6),
                 discrete ? 2 + (uint32_t)rng_below(&r, 10) : 0);
    size_t flen;
    uint8_t *f = encode(&b, &flen);
    frame_header_t h;
    CHECK(frame_header_decode(f, 0, &h) == FRAME_OK && h.type == FRAME_TRANSITIONS &&
              h.length + FRAME_HEADER_SIZE == flen,
          "bad frame header: type %u length %u frame %zu", h.type, h.length, flen);
    const uint8_t *p = f + FRAME_HEADER_SIZE;
    tbatch_limits_t lim = limits_of(&b);
    tbatch_t o;
    int rc = tbatch_decode(p, h.length, &lim, &o, err, sizeof err);
    CHECK(rc == 0, "decode n=%u od=%u ad=%u: %s", n, od, b.act_dim, err);
    if (rc) goto next;
    CHECK(o.n == n && o.obs_dim == od && o.act_dim == b.act_dim &&
              o.weights_version == 0x1234567890ull && o.worker_id == 3,
          "scalars differ");
    CHECK(!memcmp(o.obs, b.obs, (size_t)n * od * 4), "obs differ");
    CHECK(!memcmp(o.next_obs, b.next_obs, (size_t)n * od * 4), "next_obs differ");
    CHECK(!memcmp(o.act, b.act, (size_t)n * b.act_dim * 4), "act differ");
    CHECK(!memcmp(o.rew, b.rew, (size_t)n * 4), "rew differ");
    CHECK(!memcmp(o.flags, b.flags, n), "flags differ");
    /* Zero-copy: every array points into the payload. */
    CHECK(in(o.obs, p, h.length) && in(o.act, p, h.length) && in(o.rew, p, h.length) &&
              in(o.next_obs, p, h.length) && in(o.flags, p, h.length),
          "decoded arrays do not point into the payload");
    /* Payload overhead is small: bulk arrays are bins, not element arrays. */
    size_t bulk = (size_t)n * (8 * od + 4 * b.act_dim + 5);
    CHECK(h.length - bulk < 128, "overhead %zu bytes", h.length - bulk);
  next:
    free(f);
    batch_free(&b);
  }
}

/* ---- a hand-built map with one thing wrong ---- */

typedef struct {
  const char *skip;    /* leave this key out */
  const char *badtype; /* pack this key's value as the wrong msgpack type */
  const char *dup;     /* pack this key twice */
  int extra;           /* add unknown keys (with nested values) */
  uint64_t v, n, obs_dim, act_dim;
  int64_t binlen[5]; /* per bin: -1 = correct length, else this many bytes */
} spec_t;

static const char *const bins[5] = {"obs", "act", "rew", "next_obs", "flags"};

static void key(msgpack_packer *pk, const char *k) {
  msgpack_pack_str(pk, strlen(k));
  msgpack_pack_str_body(pk, k, strlen(k));
}

static void pack_value(msgpack_packer *pk, const spec_t *s, const char *k, uint64_t u,
                       const uint8_t *data, size_t blen, int is_bin) {
  if (s->badtype && !strcmp(s->badtype, k)) {
    if (is_bin) {
      msgpack_pack_array(pk, 1);
      msgpack_pack_float(pk, 1.0f);
    } else if (!strcmp(k, "v")) {
      msgpack_pack_double(pk, 1.0);
    } else if (!strcmp(k, "n")) {
      msgpack_pack_int64(pk, -1);
    } else {
      key(pk, "12");
    }
    return;
  }
  if (is_bin) {
    msgpack_pack_bin(pk, blen);
    msgpack_pack_bin_body(pk, data, blen);
  } else {
    msgpack_pack_uint64(pk, u);
  }
}

/* Packs the map for batch b under spec s into sb (payload only, no frame header). */
static void build(msgpack_sbuffer *sb, const batch_t *b, const spec_t *s) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  const char *sc[6] = {"v", "n", "obs_dim", "act_dim", "wv", "wid"};
  uint64_t sv[6] = {s->v, s->n, s->obs_dim, s->act_dim, 99, 1};
  const uint8_t *bd[5] = {(const uint8_t *)b->obs, (const uint8_t *)b->act, (const uint8_t *)b->rew,
                          (const uint8_t *)b->next_obs, b->flags};
  size_t bl[5] = {(size_t)b->n * b->obs_dim * 4, (size_t)b->n * b->act_dim * 4, (size_t)b->n * 4,
                  (size_t)b->n * b->obs_dim * 4, b->n};
  int count = 11 + (s->skip ? -1 : 0) + (s->dup ? 1 : 0) + (s->extra ? 3 : 0);
  msgpack_pack_map(&pk, (size_t)count);
  if (s->extra) {
    key(&pk, "priorities");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 1);
    key(&pk, "x");
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, 0.5);
    msgpack_pack_uint32(&pk, 7); /* a non-string key */
    msgpack_pack_true(&pk);
  }
  for (int rep = 0; rep < 2; rep++) {
    for (int i = 0; i < 6; i++) {
      if (rep && !(s->dup && !strcmp(s->dup, sc[i]))) continue;
      if (s->skip && !strcmp(s->skip, sc[i])) continue;
      key(&pk, sc[i]);
      pack_value(&pk, s, sc[i], sv[i], NULL, 0, 0);
    }
    for (int i = 0; i < 5; i++) {
      if (rep && !(s->dup && !strcmp(s->dup, bins[i]))) continue;
      if (s->skip && !strcmp(s->skip, bins[i])) continue;
      size_t len = s->binlen[i] >= 0 ? (size_t)s->binlen[i] : bl[i];
      /* A longer bin than the data needs: pad from a scratch buffer. */
      uint8_t *tmp = calloc(len + 1, 1);
      memcpy(tmp, bd[i], len < bl[i] ? len : bl[i]);
      key(&pk, bins[i]);
      pack_value(&pk, s, bins[i], 0, tmp, len, 1);
      free(tmp);
    }
  }
  if (s->extra) {
    key(&pk, "zz_future");
    msgpack_pack_ext(&pk, 4, 1);
    msgpack_pack_ext_body(&pk, "abcd", 4);
  }
}

static spec_t good_spec(const batch_t *b) {
  spec_t s = {0};
  s.v = 1;
  s.n = b->n;
  s.obs_dim = b->obs_dim;
  s.act_dim = b->act_dim;
  for (int i = 0; i < 5; i++) s.binlen[i] = -1;
  return s;
}

/* Decodes spec s against b's limits; want NULL = must succeed, else the error must contain it. */
static void expect(const batch_t *b, const spec_t *s, const tbatch_limits_t *lim, const char *want,
                   int line) {
  msgpack_sbuffer sb;
  build(&sb, b, s);
  tbatch_t o;
  err[0] = 0;
  int rc = tbatch_decode((const uint8_t *)sb.data, sb.size, lim, &o, err, sizeof err);
  if (!want) {
    CHECK(rc == 0, "line %d: rejected: %s", line, err);
  } else {
    CHECK(rc == -1, "line %d: accepted, want \"%s\"", line, want);
    CHECK(strstr(err, want) != NULL, "line %d: message \"%s\" lacks \"%s\"", line, err, want);
  }
  msgpack_sbuffer_destroy(&sb);
}
#define EXPECT(b, s, lim, want) expect(b, s, lim, want, __LINE__)

static void test_rejects(void) {
  rng_t r;
  rng_seed(&r, 4);
  batch_t b;
  batch_random(&b, &r, 4, 8, 1, 3);
  tbatch_limits_t lim = limits_of(&b);
  spec_t s = good_spec(&b);
  EXPECT(&b, &s, &lim, NULL);
  s.extra = 1; /* unknown keys are ignored */
  EXPECT(&b, &s, &lim, NULL);

  /* Each bin one element short, each one byte long. */
  const char *formula[5] = {"n*obs_dim*4 = 128", "n*act_dim*4 = 16", "n*4 = 16",
                            "n*obs_dim*4 = 128", "n = 4"};
  for (int i = 0; i < 5; i++) {
    char want[128];
    s = good_spec(&b);
    s.binlen[i] = i == 4 ? 3 : (i == 0 || i == 3) ? 120 : 12;
    snprintf(want, sizeof want, "transitions: %s has %lld bytes, expected %s", bins[i],
             (long long)s.binlen[i], formula[i]);
    EXPECT(&b, &s, &lim, want);
    s.binlen[i] = (i == 4 ? 4 : (i == 0 || i == 3) ? 128 : 16) + 1;
    EXPECT(&b, &s, &lim, "bytes, expected");
  }

  /* Dims, n and version. */
  s = good_spec(&b);
  s.obs_dim = 7;
  EXPECT(&b, &s, &lim, "transitions: obs_dim is 7, expected 8");
  s = good_spec(&b);
  s.act_dim = 2;
  EXPECT(&b, &s, &lim, "transitions: act_dim is 2, expected 1");
  s = good_spec(&b);
  s.n = 0;
  EXPECT(&b, &s, &lim, "transitions: n is 0, expected 1..4096");
  tbatch_limits_t small = lim;
  small.max_n = 3;
  s = good_spec(&b);
  EXPECT(&b, &s, &small, "transitions: n is 4, expected 1..3");
  s.n = 1ull << 40;
  EXPECT(&b, &s, &lim, "transitions: n is 1099511627776, over 4294967295");
  s = good_spec(&b);
  s.v = 2;
  EXPECT(&b, &s, &lim, "transitions: schema version 2, expected 1");

  /* Missing keys, wrong types, duplicates. */
  const char *keys[11] = {"v",   "n",   "obs_dim", "act_dim",  "wv",   "wid",
                          "obs", "act", "rew",     "next_obs", "flags"};
  for (int i = 0; i < 11; i++) {
    char want[128];
    s = good_spec(&b);
    s.skip = keys[i];
    snprintf(want, sizeof want, "transitions: missing key \"%s\"", keys[i]);
    EXPECT(&b, &s, &lim, want);
    s = good_spec(&b);
    s.badtype = keys[i];
    snprintf(want, sizeof want, "transitions: key \"%s\" must be %s", keys[i],
             i < 6 ? "an unsigned int, got" : "a bin, got array");
    EXPECT(&b, &s, &lim, want);
    s = good_spec(&b);
    s.dup = keys[i];
    snprintf(want, sizeof want, "transitions: duplicate key \"%s\"", keys[i]);
    EXPECT(&b, &s, &lim, want);
  }
  s = good_spec(&b);
  s.badtype = "v";
  EXPECT(&b, &s, &lim, "key \"v\" must be an unsigned int, got float64");
  s.badtype = "n";
  EXPECT(&b, &s, &lim, "key \"n\" must be an unsigned int, got negative int");
  s.badtype = "wid";
  EXPECT(&b, &s, &lim, "key \"wid\" must be an unsigned int, got str");

  /* NaN / Inf in each float array. */
  float bad[3] = {NAN, INFINITY, -INFINITY};
  const char *badname[3] = {"nan", "inf", "-inf"};
  tbatch_limits_t cont = lim;
  cont.n_actions = 0; /* so a non-finite action is caught as non-finite, not as a bad index */
  for (int k = 0; k < 3; k++) {
    float *arr[4] = {b.obs, b.act, b.rew, b.next_obs};
    const char *name[4] = {"obs", "act", "rew", "next_obs"};
    size_t idx[4] = {13, 2, 3, 31};
    for (int a = 0; a < 4; a++) {
      float keep = arr[a][idx[a]];
      arr[a][idx[a]] = bad[k];
      char want[128];
      snprintf(want, sizeof want, "transitions: %s[%zu] is %s", name[a], idx[a], badname[k]);
      s = good_spec(&b);
      EXPECT(&b, &s, &cont, want);
      EXPECT(&b, &s, &lim, "transitions:");
      arr[a][idx[a]] = keep;
    }
  }
  {
    b.obs[13] = NAN;
    s = good_spec(&b);
    EXPECT(&b, &s, &lim, "transitions: obs[13] is nan (transition 1, element 5)");
    b.obs[13] = 0;
  }

  /* Bad actions (discrete, 3 actions) and bad flags. */
  float bad_act[4] = {2.5f, -1.0f, 3.0f, 1e9f};
  const char *bad_act_msg[4] = {
      "act[1] is 2.5, not an integer action index", "act[1] is -1, out of range [0, 3)",
      "act[1] is 3, out of range [0, 3)", "act[1] is 1e+09, out of range [0, 3)"};
  for (int k = 0; k < 4; k++) {
    float keep = b.act[1];
    b.act[1] = bad_act[k];
    s = good_spec(&b);
    EXPECT(&b, &s, &lim, bad_act_msg[k]);
    EXPECT(&b, &s, &cont, NULL); /* continuous: any finite action */
    b.act[1] = keep;
  }
  for (int bit = 2; bit < 8; bit++) {
    uint8_t keep = b.flags[2];
    b.flags[2] = (uint8_t)(1u << bit | 1u);
    char want[128];
    snprintf(want, sizeof want, "transitions: flags[2] is 0x%02x, only bits 0-1", b.flags[2]);
    s = good_spec(&b);
    EXPECT(&b, &s, &lim, want);
    b.flags[2] = keep;
  }
  b.flags[0] = 3; /* terminated and truncated together is allowed */
  s = good_spec(&b);
  EXPECT(&b, &s, &lim, NULL);
  batch_free(&b);
}

static void test_hostile(void) {
  tbatch_limits_t lim = {4, 1, 2, 1024, 1};
  tbatch_t o;
  struct {
    const char *what;
    const uint8_t *p;
    size_t len;
    const char *want;
  } cases[] = {
      {"empty", (const uint8_t *)"", 0, "transitions: empty payload"},
      {"array32 of 4294967295", (const uint8_t *)"\xdd\xff\xff\xff\xff", 5,
       "announces 4294967295 elements"},
      {"map32 of 2^32-1", (const uint8_t *)"\xdf\xff\xff\xff\xff\x01", 6, "announces"},
      {"bin32 of 4 GB", (const uint8_t *)"\x81\xa1x\xc6\xff\xff\xff\xff", 8, "needs 4294967300"},
      {"str8 truncated", (const uint8_t *)"\x81\xd9\x09obs", 5, "needs"},
      {"0xc1", (const uint8_t *)"\x81\xc1\x01", 3, "invalid msgpack byte 0xc1"},
      {"not a map", (const uint8_t *)"\x93\x01\x02\x03", 4,
       "payload must be a msgpack map, got array"},
      {"trailing", (const uint8_t *)"\x80\x00", 2, "1 trailing bytes"},
      {"empty map", (const uint8_t *)"\x80", 1, "missing key \"v\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    err[0] = 0;
    int rc = tbatch_decode(cases[i].p, cases[i].len, &lim, &o, err, sizeof err);
    CHECK(rc == -1, "%s: accepted", cases[i].what);
    CHECK(strstr(err, cases[i].want), "%s: message \"%s\" lacks \"%s\"", cases[i].what, err,
          cases[i].want);
  }

  /* Deep nesting inside an unknown key: rejected by msgpack-c's depth limit or accepted,
   * but never a crash. 100000 nested arrays exceed the object cap. */
  size_t depth = 100000;
  uint8_t *deep = malloc(depth + 16);
  size_t k = 0;
  deep[k++] = 0x81;
  deep[k++] = 0xa1;
  deep[k++] = 'z';
  for (size_t i = 0; i < depth; i++) deep[k++] = 0x91;
  deep[k++] = 0xc0;
  CHECK(tbatch_decode(deep, k, &lim, &o, err, sizeof err) == -1 &&
            strstr(err, "more than 65536 msgpack objects"),
        "deep nesting: %s", err);
  k = 3;
  for (size_t i = 0; i < 40; i++) deep[k++] = 0x91;
  deep[k++] = 0xc0;
  CHECK(tbatch_decode(deep, k, &lim, &o, err, sizeof err) == -1 && err[0], "40 levels: no message");
  free(deep);

  /* Every truncation of a valid payload fails with a message. */
  rng_t r;
  rng_seed(&r, 8);
  batch_t b;
  batch_random(&b, &r, 5, 4, 1, 2);
  size_t flen;
  uint8_t *f = encode(&b, &flen);
  const uint8_t *p = f + FRAME_HEADER_SIZE;
  size_t len = flen - FRAME_HEADER_SIZE;
  CHECK(tbatch_decode(p, len, &lim, &o, err, sizeof err) == 0, "valid: %s", err);
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut + 1); /* exact-size copy so ASan sees any over-read */
    memcpy(copy, p, cut);
    err[0] = 0;
    CHECK(tbatch_decode(copy, cut, &lim, &o, err, sizeof err) == -1 && err[0],
          "truncated to %zu of %zu: accepted or no message", cut, len);
    free(copy);
  }
  /* Random mutations and random bytes: a clean answer every time. */
  uint8_t *m = malloc(len);
  for (int t = 0; t < 20000; t++) {
    memcpy(m, p, len);
    size_t mlen = len;
    if (t % 4 == 3) {
      mlen = (size_t)rng_below(&r, len);
      for (size_t i = 0; i < mlen; i++) m[i] = (uint8_t)rng_u64(&r);
    } else {
      for (int j = 0; j < 1 + t % 3; j++) m[rng_below(&r, len)] = (uint8_t)rng_u64(&r);
    }
    err[0] = 0;
    int rc = tbatch_decode(m, mlen, &lim, &o, err, sizeof err);
    CHECK(rc == 0 || (rc == -1 && err[0]), "mutation %d: rc %d, message \"%s\"", t, rc, err);
  }
  free(m);
  free(f);
  batch_free(&b);

  /* Encoder refuses batches that cannot fit a frame. */
  tbatch_t huge = {.n = 1u << 30, .obs_dim = 1u << 20, .act_dim = 1};
  CHECK(tbatch_encode(&huge, &flen) == NULL, "encoded a batch over FRAME_MAX_PAYLOAD");
}

/* The optional "disc" and "prio" arrays: round trip, absent when not sent, and the checks
 * (disc in [0, 1], prio >= 0, both finite). */
static void test_optional(void) {
  rng_t r;
  rng_seed(&r, 5);
  batch_t b;
  batch_random(&b, &r, 6, 3, 1, 2);
  float disc[6] = {0.99f, 0.9801f, 0, 1, 0.5f, 0.25f}, prio[6] = {0, 1.5f, 2, 3, 1e-3f, 7};
  tbatch_t t = {.n = b.n, .obs_dim = b.obs_dim, .act_dim = b.act_dim, .weights_version = 1,
                .worker_id = 2, .obs = b.obs, .act = b.act, .rew = b.rew,
                .next_obs = b.next_obs, .flags = b.flags};
  tbatch_limits_t lim = limits_of(&b);
  size_t flen;
  tbatch_t out;
  uint8_t *f = tbatch_encode(&t, &flen);
  CHECK(f && tbatch_decode(f + FRAME_HEADER_SIZE, flen - FRAME_HEADER_SIZE, &lim, &out, err,
                           sizeof err) == 0, "plain: %s", err);
  CHECK(out.disc == NULL && out.prio == NULL, "absent keys decoded as present");
  free(f);
  t.disc = disc;
  t.prio = prio;
  f = tbatch_encode(&t, &flen);
  CHECK(f && tbatch_decode(f + FRAME_HEADER_SIZE, flen - FRAME_HEADER_SIZE, &lim, &out, err,
                           sizeof err) == 0, "disc+prio: %s", err);
  CHECK(out.disc && !memcmp(out.disc, disc, sizeof disc), "disc round trip");
  CHECK(out.prio && !memcmp(out.prio, prio, sizeof prio), "prio round trip");
  free(f);
  struct {
    int which, at;
    float v;
    const char *want;
  } bad[] = {{0, 2, 1.5f, "disc[2] is 1.5, outside [0, 1]"},
             {0, 0, -0.5f, "disc[0] is -0.5"},
             {1, 4, -1, "prio[4] is -1, negative"},
             {1, 1, NAN, "prio[1] is nan"},
             {0, 3, INFINITY, "disc[3] is inf"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    float d2[6], p2[6];
    memcpy(d2, disc, sizeof d2);
    memcpy(p2, prio, sizeof p2);
    (bad[k].which ? p2 : d2)[bad[k].at] = bad[k].v;
    t.disc = d2;
    t.prio = p2;
    f = tbatch_encode(&t, &flen);
    err[0] = 0;
    int rc = f ? tbatch_decode(f + FRAME_HEADER_SIZE, flen - FRAME_HEADER_SIZE, &lim, &out, err,
                               sizeof err)
               : 0;
    CHECK(rc == -1 && strstr(err, bad[k].want), "case %zu: rc %d, error '%s', expected '%s'", k, rc,
          err, bad[k].want);
    free(f);
  }
  batch_free(&b);
}

/* ---- "obs_enc" = "bits" ---- */

/* A map with the bits encoding by hand: obs / next_obs bins of obs_len bytes (the rows in
 * rows), obs_enc packed as enc (a str, or an unsigned int when enc is NULL). */
static void build_bits(msgpack_sbuffer *sb, uint32_t n, uint32_t od, const uint8_t *rows,
                       size_t obs_len, const char *enc) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 12);
  const char *sc[6] = {"v", "n", "obs_dim", "act_dim", "wv", "wid"};
  uint64_t sv[6] = {1, n, od, 1, 5, 1};
  for (int i = 0; i < 6; i++) {
    key(&pk, sc[i]);
    msgpack_pack_uint64(&pk, sv[i]);
  }
  float zero[64] = {0};
  uint8_t fl[64] = {0};
  key(&pk, "obs");
  msgpack_pack_bin(&pk, obs_len);
  msgpack_pack_bin_body(&pk, rows, obs_len);
  key(&pk, "next_obs");
  msgpack_pack_bin(&pk, obs_len);
  msgpack_pack_bin_body(&pk, rows, obs_len);
  key(&pk, "act");
  msgpack_pack_bin(&pk, n * 4);
  msgpack_pack_bin_body(&pk, zero, n * 4);
  key(&pk, "rew");
  msgpack_pack_bin(&pk, n * 4);
  msgpack_pack_bin_body(&pk, zero, n * 4);
  key(&pk, "flags");
  msgpack_pack_bin(&pk, n);
  msgpack_pack_bin_body(&pk, fl, n);
  key(&pk, "obs_enc");
  if (enc) {
    msgpack_pack_str(&pk, strlen(enc));
    msgpack_pack_str_body(&pk, enc, strlen(enc));
  } else {
    msgpack_pack_uint32(&pk, 1);
  }
}

static void expect_bits(uint32_t n, uint32_t od, const uint8_t *rows, size_t obs_len,
                        const char *enc, int allow, const char *want, int line) {
  msgpack_sbuffer sb;
  build_bits(&sb, n, od, rows, obs_len, enc);
  tbatch_limits_t lim = {od, 1, 4, 64, allow};
  tbatch_t o;
  err[0] = 0;
  int rc = tbatch_decode((const uint8_t *)sb.data, sb.size, &lim, &o, err, sizeof err);
  if (!want)
    CHECK(rc == 0 && o.obs_enc == (enc && !strcmp(enc, "bits") ? TBATCH_OBS_BITS : TBATCH_OBS_F32),
          "line %d: rejected: %s", line, err);
  else
    CHECK(rc == -1 && strstr(err, want), "line %d: rc %d, error \"%s\", want \"%s\"", line, rc,
          err, want);
  msgpack_sbuffer_destroy(&sb);
}
#define EXPECT_BITS(n, od, rows, len, enc, allow, want) \
  expect_bits(n, od, rows, len, enc, allow, want, __LINE__)

static void test_bits(void) {
  rng_t r;
  rng_seed(&r, 17);
  /* Round trips: random 0/1 grids, MinAtar's sizes (10x10xC, C = 4..10) and odd ones. */
  const uint32_t dims[] = {400, 700, 1000, 13, 1, 8, 9, 600};
  for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
    uint32_t od = dims[t], n = 1 + (uint32_t)rng_below(&r, 300);
    size_t row = obsbits_bytes(od);
    batch_t b;
    batch_random(&b, &r, n, od, 1, 4);
    for (size_t i = 0; i < (size_t)n * od; i++) {
      b.obs[i] = (float)rng_below(&r, 2);
      b.next_obs[i] = rng_uniform(&r) < 0.1 ? 1.0f : 0.0f;
    }
    uint8_t *pk = malloc(2 * n * row);
    for (uint32_t i = 0; i < n; i++) {
      CHECK(obsbits_pack(b.obs + (size_t)i * od, od, pk + i * row, err, sizeof err) == 0, "%s",
            err);
      CHECK(obsbits_pack(b.next_obs + (size_t)i * od, od, pk + (n + i) * row, err, sizeof err) ==
                0,
            "%s", err);
    }
    tbatch_t tb = {.n = n, .obs_dim = od, .act_dim = 1, .weights_version = 9, .worker_id = 4,
                   .obs = pk, .act = b.act, .rew = b.rew, .next_obs = pk + n * row,
                   .flags = b.flags, .obs_enc = TBATCH_OBS_BITS};
    size_t flen;
    uint8_t *f = tbatch_encode(&tb, &flen);
    CHECK(f != NULL, "encode bits od=%u", od);
    if (!f) {
      free(pk);
      batch_free(&b);
      continue;
    }
    const uint8_t *p = f + FRAME_HEADER_SIZE;
    size_t plen = flen - FRAME_HEADER_SIZE;
    /* The obs bins are n*ceil(od/8) bytes each: 1/32 of the float size, plus small keys. */
    size_t bulk = 2 * n * row + (size_t)n * 9;
    CHECK(plen - bulk < 160, "bits payload overhead %zu bytes", plen - bulk);
    tbatch_limits_t lim = {od, 1, 4, 4096, 1};
    tbatch_t o;
    int rc = tbatch_decode(p, plen, &lim, &o, err, sizeof err);
    CHECK(rc == 0, "decode bits od=%u n=%u: %s", od, n, err);
    if (rc == 0) {
      CHECK(o.obs_enc == TBATCH_OBS_BITS, "obs_enc lost");
      CHECK(in(o.obs, p, plen) && in(o.next_obs, p, plen), "bits not zero-copy");
      CHECK(!memcmp(o.obs, pk, n * row) && !memcmp(o.next_obs, pk + n * row, n * row),
            "packed rows differ");
      float *u = malloc((size_t)od * sizeof(float));
      int same = 1;
      for (uint32_t i = 0; i < n; i++) {
        obsbits_unpack((const uint8_t *)o.obs + i * row, od, u);
        same &= !memcmp(u, b.obs + (size_t)i * od, od * sizeof(float));
        obsbits_unpack((const uint8_t *)o.next_obs + i * row, od, u);
        same &= !memcmp(u, b.next_obs + (size_t)i * od, od * sizeof(float));
      }
      CHECK(same, "unpacked floats differ from the originals (od=%u)", od);
      free(u);
    }
    /* The same batch to a receiver whose env is not binary. */
    lim.allow_bits = 0;
    err[0] = 0;
    CHECK(tbatch_decode(p, plen, &lim, &o, err, sizeof err) == -1 &&
              strstr(err, "not binary"),
          "bits accepted for a non-binary env: %s", err);
    free(f);
    free(pk);
    batch_free(&b);
  }
  /* Refusals on a hand-built map: 3 rows of 13 elements (2 bytes each, 3 padding bits). */
  uint8_t rows[8] = {0x5a, 0x1f, 0xff, 0x00, 0x01, 0x10};
  EXPECT_BITS(3, 13, rows, 6, "bits", 1, NULL);
  EXPECT_BITS(3, 13, rows, 6, "bits", 0, "obs_enc \"bits\" for an env whose observations");
  rows[3] = 0x20; /* element 13 of row 1: padding */
  EXPECT_BITS(3, 13, rows, 6, "bits", 1, "obs[1] (bits) has nonzero padding bits");
  rows[3] = 0x80;
  EXPECT_BITS(3, 13, rows, 6, "bits", 1, "nonzero padding bits beyond element 12");
  rows[3] = 0x1f; /* elements 8..12 only: fine */
  EXPECT_BITS(3, 13, rows, 6, "bits", 1, NULL);
  EXPECT_BITS(3, 13, rows, 5, "bits", 1, "obs has 5 bytes, expected n*ceil(obs_dim/8) = 6");
  EXPECT_BITS(3, 13, rows, 7, "bits", 1, "obs has 7 bytes, expected n*ceil(obs_dim/8) = 6");
  /* As floats the same bins are far too short. */
  EXPECT_BITS(3, 13, rows, 6, "f32", 1, "obs has 6 bytes, expected n*obs_dim*4 = 156");
  EXPECT_BITS(3, 13, rows, 6, "u8", 1, "obs_enc is \"u8\", expected \"f32\" or \"bits\"");
  EXPECT_BITS(3, 13, rows, 6, "", 1, "obs_enc is \"\"");
  EXPECT_BITS(3, 13, rows, 6, NULL, 1, "key \"obs_enc\" must be a str, got unsigned int");
  /* 16 elements: no padding bits, every byte value allowed. */
  uint8_t full[4] = {0xff, 0xff, 0x80, 0x01};
  EXPECT_BITS(2, 16, full, 4, "bits", 1, NULL);
  /* An encoder given an unknown encoding refuses to encode. */
  float z[2] = {0};
  uint8_t fl[1] = {0};
  tbatch_t bad = {.n = 1, .obs_dim = 2, .act_dim = 1, .obs = z, .act = z, .rew = z,
                  .next_obs = z, .flags = fl, .obs_enc = 7};
  size_t flen;
  CHECK(tbatch_encode(&bad, &flen) == NULL, "obs_enc 7 encoded");
}

int main(void) {
  test_roundtrip();
  test_bits();
  test_optional();
  test_rejects();
  test_hostile();
  CHECK_DONE();
}
