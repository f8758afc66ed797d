/* Checks replay with packed-bit observations (replay_set_obs_bits, MinAtar): a bits replay and
 * a float replay fed the same transitions (as floats or as packed bits, either way round) sample
 * identical float batches, uniform and prioritized; floats that are not 0/1 are refused whole;
 * images keep the encoding (take/restore, padding checked); and the memory per MinAtar
 * transition is at most twice its packed size (printed for every game). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "obsbits.h"
#include "replay.h"

static char err[512];

typedef struct {
  size_t n, od;
  float *obs, *next, *act, *rew, *disc, *prio;
  uint8_t *flags, *obs_b, *next_b;
} rows_t;

static void rows_make(rows_t *t, rng_t *r, size_t n, size_t od) {
  size_t row = obsbits_bytes(od);
  t->n = n;
  t->od = od;
  t->obs = malloc(n * od * sizeof(float));
  t->next = malloc(n * od * sizeof(float));
  t->act = malloc(n * sizeof(float));
  t->rew = malloc(n * sizeof(float));
  t->disc = malloc(n * sizeof(float));
  t->prio = malloc(n * sizeof(float));
  t->flags = malloc(n);
  t->obs_b = malloc(n * row);
  t->next_b = malloc(n * row);
  for (size_t i = 0; i < n * od; i++) {
    t->obs[i] = rng_uniform(r) < 0.2 ? 1.0f : 0.0f;
    t->next[i] = (float)rng_below(r, 2);
  }
  for (size_t i = 0; i < n; i++) {
    t->act[i] = (float)rng_below(r, 6);
    t->rew[i] = (float)rng_below(r, 3);
    t->disc[i] = rng_uniform(r) < 0.5 ? 0.99f : 0.970299f;
    t->prio[i] = (float)rng_range(r, 0, 3);
    t->flags[i] = (uint8_t)rng_below(r, 4);
    CHECK(obsbits_pack(t->obs + i * od, od, t->obs_b + i * row, err, sizeof err) == 0, "%s", err);
    CHECK(obsbits_pack(t->next + i * od, od, t->next_b + i * row, err, sizeof err) == 0, "%s",
          err);
  }
}

static void rows_free(rows_t *t) {
  free(t->obs);
  free(t->next);
  free(t->act);
  free(t->rew);
  free(t->disc);
  free(t->prio);
  free(t->flags);
  free(t->obs_b);
  free(t->next_b);
}

/* kind: 0 float replay, float rows; 1 bits replay, bits rows; 2 bits replay, float rows;
 * 3 float replay, bits rows. */
static void fill(replay_t *r, const rows_t *t, int kind, int prioritized, size_t cap) {
  flow_limits_t lim = {.min_size = 1, .spi = 1e9, .slack = 1u << 30};
  CHECK(replay_init(r, cap, t->od, 1, &lim) == 0, "init");
  if (kind == 1 || kind == 2) CHECK(replay_set_obs_bits(r) == 0, "set_obs_bits");
  replay_per_t per = {.alpha = 0.6, .eps = 1e-6, .beta0 = 0.4, .beta_steps = 1000};
  if (prioritized) CHECK(replay_set_prioritized(r, &per) == 0, "prioritized");
  int bits_in = kind == 1 || kind == 3;
  /* In pieces of 37, as batches arrive. */
  for (size_t at = 0; at < t->n; at += 37) {
    size_t m = t->n - at < 37 ? t->n - at : 37, row = obsbits_bytes(t->od);
    const void *o = bits_in ? (const void *)(t->obs_b + at * row) : (const void *)(t->obs + at * t->od);
    const void *no =
        bits_in ? (const void *)(t->next_b + at * row) : (const void *)(t->next + at * t->od);
    CHECK(replay_insert_enc(r, m, bits_in, o, t->act + at, t->rew + at, no, t->flags + at,
                            t->disc + at, t->prio + at, err, sizeof err) == 0,
          "insert kind %d: %s", kind, err);
  }
}

/* Sampled batches (replay_sample_alloc, act_dim 1) equal in every field. */
static int batch_same(const replay_sample_t *a, const replay_sample_t *b, size_t B, size_t od) {
  return !memcmp(a->obs, b->obs, B * od * 4) && !memcmp(a->next_obs, b->next_obs, B * od * 4) &&
         !memcmp(a->act, b->act, B * 4) && !memcmp(a->rew, b->rew, B * 4) &&
         !memcmp(a->term, b->term, B * 4) && !memcmp(a->disc, b->disc, B * 4) &&
         !memcmp(a->weight, b->weight, B * 4) && !memcmp(a->id, b->id, B * 8);
}

static void test_equal_to_floats(size_t od, int prioritized) {
  rng_t g;
  rng_seed(&g, 100 + od);
  rows_t t;
  rows_make(&t, &g, 300, od);
  const size_t cap = 256, B = 32; /* wraps: 300 into 256 */
  replay_t r[4];
  for (int k = 0; k < 4; k++) fill(&r[k], &t, k, prioritized, cap);
  replay_sample_t b[4];
  for (int k = 0; k < 4; k++) CHECK(replay_sample_alloc(&b[k], B, od, 1) == 0, "batch buffers");
  for (int it = 0; it < 20; it++) {
    for (int k = 0; k < 4; k++) {
      rng_t s;
      rng_seed(&s, 7 + (uint64_t)it);
      CHECK(replay_sample_ext(&r[k], &s, B, &b[k], 0) == 0, "sample kind %d", k);
    }
    for (int k = 1; k < 4; k++)
      CHECK(batch_same(&b[0], &b[k], B, od), "od %zu prio %d it %d: kind %d differs from floats",
            od, prioritized, it, k);
    /* and the rows are the transitions inserted (id -> row of t) */
    for (size_t i = 0; i < B; i++) {
      size_t id = (size_t)b[0].id[i];
      CHECK(id >= 300 - cap && id < 300 && !memcmp(b[0].obs + i * od, t.obs + id * od, od * 4) &&
                !memcmp(b[0].next_obs + i * od, t.next + id * od, od * 4),
            "row %zu: id %zu does not hold its transition", i, id);
    }
    if (prioritized) {
      float td[32];
      for (size_t i = 0; i < B; i++) td[i] = (float)(i % 5);
      for (int k = 0; k < 4; k++) replay_update_priorities(&r[k], b[k].id, td, B);
    }
  }
  /* Images keep the encoding and restore into a replay of the same kind. */
  replay_image_t im;
  CHECK(replay_image_take(&r[1], &im) == 0, "image take");
  CHECK(im.obs_bits == 1 && im.obs == NULL && im.obs_b != NULL, "bits image has float rows");
  replay_t rr;
  fill(&rr, &t, 1, prioritized, cap);
  replay_free(&rr);
  flow_limits_t lim = {.min_size = 1, .spi = 1e9, .slack = 1u << 30};
  replay_per_t per = {.alpha = 0.6, .eps = 1e-6, .beta0 = 0.4, .beta_steps = 1000};
  CHECK(replay_init(&rr, cap, od, 1, &lim) == 0, "init");
  if (prioritized) replay_set_prioritized(&rr, &per);
  CHECK(replay_image_restore(&rr, &im, 6, err, sizeof err) == -1 && strstr(err, "packed bits"),
        "bits image restored into a float replay: %s", err);
  replay_free(&rr);
  CHECK(replay_init(&rr, cap, od, 1, &lim) == 0 && replay_set_obs_bits(&rr) == 0, "init bits");
  if (prioritized) replay_set_prioritized(&rr, &per);
  if (od % 8) { /* a padding bit set in row 5's next_obs */
    im.next_obs_b[5 * obsbits_bytes(od) + od / 8] ^= 0x80;
    CHECK(replay_image_restore(&rr, &im, 6, err, sizeof err) == -1 &&
              strstr(err, "row 5 (bits) has nonzero padding bits"),
          "bad padding restored: %s", err);
    im.next_obs_b[5 * obsbits_bytes(od) + od / 8] ^= 0x80;
  }
  CHECK(replay_image_restore(&rr, &im, 6, err, sizeof err) == 0, "restore bits: %s", err);
  replay_sample_t c;
  CHECK(replay_sample_alloc(&c, B, od, 1) == 0, "batch buffers");
  rng_t s1, s2;
  rng_seed(&s1, 99);
  rng_seed(&s2, 99);
  CHECK(
      replay_sample_ext(&r[1], &s1, B, &b[1], 0) == 0 && replay_sample_ext(&rr, &s2, B, &c, 0) == 0,
      "sample after restore");
  CHECK(batch_same(&b[1], &c, B, od), "restored bits replay samples differently");
  replay_sample_free(&c);
  replay_image_free(&im);
  replay_free(&rr);
  for (int k = 0; k < 4; k++) {
    replay_sample_free(&b[k]);
    replay_free(&r[k]);
  }
  rows_free(&t);
}

static void test_refuse(void) {
  rng_t g;
  rng_seed(&g, 3);
  rows_t t;
  rows_make(&t, &g, 10, 13);
  t.next[4 * 13 + 7] = 0.5f;
  replay_t r;
  flow_limits_t lim = {.min_size = 1, .spi = 1e9, .slack = 1u << 30};
  CHECK(replay_init(&r, 16, 13, 1, &lim) == 0 && replay_set_obs_bits(&r) == 0, "init");
  err[0] = 0;
  CHECK(replay_insert_enc(&r, 10, 0, t.obs, t.act, t.rew, t.next, t.flags, NULL, NULL, err,
                          sizeof err) == -1 &&
            strstr(err, "next_obs row 4") && strstr(err, "element 7 is 0.5"),
        "a 0.5 went into a bits replay: %s", err);
  CHECK(replay_counts(&r).inserted == 0, "part of a refused batch inserted");
  replay_free(&r);
  rows_free(&t);
}

/* MinAtar: 10x10xC, C = 4 (Asterix, Breakout), 7 (Freeway), 10 (Seaquest), 6 (Space Invaders);
 * one discrete action; prioritized as the -apex presets, capacity 100k as the paper. */
static void test_bytes(void) {
  const struct {
    const char *game;
    size_t C;
  } g[] = {{"Asterix", 4}, {"Breakout", 4}, {"Freeway", 7}, {"Seaquest", 10}, {"SpaceInvaders", 6}};
  flow_limits_t lim = {.min_size = 1, .spi = 1, .slack = 1};
  replay_per_t per = {.alpha = 0.6, .eps = 1e-6, .beta0 = 0.4, .beta_steps = 1000};
  printf("game           obs_dim packed replay(uniform) replay(prioritized) floats(prioritized)\n");
  for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
    size_t od = 100 * g[i].C;
    /* Packed: what the wire carries per transition in the bits encoding without the optional
     * arrays: obs + next_obs bits, act (float32), rew (float32), flags (1 byte). */
    size_t packed = 2 * obsbits_bytes(od) + 4 + 4 + 1;
    replay_t u, p, f;
    CHECK(replay_init(&u, 100000, od, 1, &lim) == 0 && replay_set_obs_bits(&u) == 0, "init");
    CHECK(replay_init(&p, 100000, od, 1, &lim) == 0 && replay_set_obs_bits(&p) == 0 &&
              replay_set_prioritized(&p, &per) == 0,
          "init");
    CHECK(replay_init(&f, 100000, od, 1, &lim) == 0 && replay_set_prioritized(&f, &per) == 0,
          "init");
    size_t bu = replay_bytes_per_transition(&u), bp = replay_bytes_per_transition(&p),
           bf = replay_bytes_per_transition(&f);
    printf("%-14s %7zu %6zu %15zu %19zu %19zu\n", g[i].game, od, packed, bu, bp, bf);
    CHECK(bp <= 2 * packed && bu <= 2 * packed, "%s: %zu (prioritized) bytes > 2 x %zu packed",
          g[i].game, bp, packed);
    /* By hand, Breakout: 2 x 50 obs + 4 act + 4 rew + 4 term + 4 disc = 116; the tree: 2 arrays
     * of 2 x 131072 doubles over 100000 slots = 41.94 -> 42. */
    if (!strcmp(g[i].game, "Breakout"))
      CHECK(bu == 116 && bp == 158 && bf == 3200 + 16 + 42, "Breakout: %zu %zu %zu", bu, bp, bf);
    replay_free(&u);
    replay_free(&p);
    replay_free(&f);
  }
}

int main(void) {
  const size_t dims[] = {400, 700, 13, 8};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
    test_equal_to_floats(dims[i], 0);
    test_equal_to_floats(dims[i], 1);
  }
  test_refuse();
  test_bytes();
  CHECK_DONE();
}
