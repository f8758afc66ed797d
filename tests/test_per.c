/* Checks prioritized replay: the sum/min tree by hand, sampling frequencies against the
 * priorities (chi-square bound, fixed seed), update-then-sample, stale updates dropped,
 * eviction of the oldest when full, importance weights and beta annealing by hand, the stored
 * bootstrap discount, and concurrent insert + sample + update (also under TSan, label tsan). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "replay.h"
#include "sumtree.h"

#define OD 2

static void rows(size_t n, uint64_t first, float *obs, float *act, float *rew, float *next,
                 uint8_t *flags) {
  for (size_t i = 0; i < n; i++) {
    float id = (float)(first + i);
    obs[OD * i] = id;
    obs[OD * i + 1] = -id;
    next[OD * i] = id + 0.5f;
    next[OD * i + 1] = -id - 0.5f;
    act[i] = 0;
    rew[i] = id * 2;
    flags[i] = 0;
  }
}

typedef struct bufs {
  float obs[OD * 64], act[64], rew[64], next[OD * 64], term[64], disc[64], weight[64];
  uint64_t id[64];
  replay_sample_t s;
} bufs_t;

static void bufs_init(bufs_t *b) {
  b->s = (replay_sample_t){b->obs, b->act, b->rew, b->next, b->term, b->disc, b->weight, b->id};
}

static void test_tree(void) {
  sumtree_t t;
  CHECK(sumtree_init(&t, 5) == 0, "init");
  CHECK(t.cap == 8, "cap %zu", t.cap);
  CHECK(isinf(sumtree_min(&t)), "empty min %g", sumtree_min(&t));
  double v[5] = {1, 0, 3, 2, 4};
  for (size_t i = 0; i < 5; i++) sumtree_set(&t, i, v[i]);
  CHECK_NEAR(sumtree_total(&t), 10, 0);
  CHECK_NEAR(sumtree_min(&t), 0, 0);
  sumtree_set(&t, 1, 0.5);
  CHECK_NEAR(sumtree_min(&t), 0.5, 0);
  CHECK_NEAR(sumtree_total(&t), 10.5, 1e-12);
  /* Prefix ranges: [0,1) -> 0, [1,1.5) -> 1, [1.5,4.5) -> 2, [4.5,6.5) -> 3, [6.5,10.5) -> 4. */
  double u[] = {0, 0.99, 1.0, 1.49, 1.5, 4.49, 4.5, 6.49, 6.5, 10.49, 10.5, 99};
  size_t want[] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4};
  for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
    size_t got = sumtree_find(&t, u[k]);
    CHECK(got == want[k], "find(%g) = %zu, expected %zu", u[k], got, want[k]);
  }
  /* A zero leaf is never found. */
  sumtree_set(&t, 4, 0);
  CHECK(sumtree_find(&t, 1e9) == 3, "past the total with leaf 4 zero: %zu", sumtree_find(&t, 1e9));
  sumtree_free(&t);
}

/* Sampling frequencies match p_i / sum p over many draws: Pearson's chi-square over 16 slots
 * (15 degrees of freedom) stays under 37.7 (the 0.999 quantile). Fixed seed. */
static void test_frequencies(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  CHECK(replay_init(&r, 16, OD, 1, &lim) == 0, "init");
  replay_per_t per = {.alpha = 0.6, .eps = 0.01, .beta0 = 0.4, .beta_steps = 1000};
  CHECK(replay_set_prioritized(&r, &per) == 0, "prioritized");
  float obs[OD * 16], act[16], rew[16], next[OD * 16], prio[16];
  uint8_t flags[16];
  rows(16, 0, obs, act, rew, next, flags);
  double p[16], total = 0;
  for (int i = 0; i < 16; i++) {
    prio[i] = (float)(0.1 * (i + 1) * (i % 3 + 1));
    p[i] = pow(prio[i] + 0.01, 0.6);
    total += p[i];
  }
  replay_insert_ext(&r, 16, obs, act, rew, next, flags, NULL, prio);
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 42);
  uint64_t count[16] = {0};
  const int draws = 20000, B = 16;
  for (int d = 0; d < draws; d++) {
    CHECK(replay_sample_ext(&r, &rng, B, &b.s, 0) == 0, "sample");
    for (int k = 0; k < B; k++) {
      uint64_t id = (uint64_t)b.obs[OD * k];
      CHECK(id == b.id[k], "row %llu has id %llu", (unsigned long long)id,
            (unsigned long long)b.id[k]);
      count[id]++;
    }
  }
  double chi = 0, n = (double)draws * B;
  for (int i = 0; i < 16; i++) {
    double e = n * p[i] / total;
    chi += ((double)count[i] - e) * ((double)count[i] - e) / e;
  }
  printf("chi-square over 16 slots, %.0f draws: %.2f (bound 37.7)\n", n, chi);
  CHECK(chi < 37.7, "chi-square %.2f over the 0.999 quantile 37.7", chi);
  replay_free(&r);
}

static void test_update_then_sample(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  CHECK(replay_init(&r, 8, OD, 1, &lim) == 0, "init");
  replay_per_t per = {.alpha = 1, .eps = 1e-6, .beta0 = 1, .beta_steps = 0};
  CHECK(replay_set_prioritized(&r, &per) == 0, "prioritized");
  float obs[OD * 8], act[8], rew[8], next[OD * 8];
  uint8_t flags[8];
  rows(8, 0, obs, act, rew, next, flags);
  replay_insert(&r, 8, obs, act, rew, next, flags); /* all at the max priority, 1 */
  uint64_t ids[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  float td[8] = {0, 0, 0, 0, 0, 1000, 0, 0};
  replay_update_priorities(&r, ids, td, 8);
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 7);
  int hits = 0;
  for (int d = 0; d < 100; d++) {
    CHECK(replay_sample_ext(&r, &rng, 8, &b.s, 0) == 0, "sample");
    for (int k = 0; k < 8; k++) hits += b.id[k] == 5;
  }
  CHECK(hits == 800, "transition 5 (priority 1000 vs 1e-6) drawn %d of 800 times", hits);
  /* A new transition gets the largest priority so far (1000 + eps), like transition 5. */
  rows(1, 8, obs, act, rew, next, flags);
  replay_insert(&r, 1, obs, act, rew, next, flags); /* id 8 replaces id 0 in slot 0 */
  CHECK_NEAR(sumtree_get(&r.tree, 0), 1000 + 1e-6, 1e-6);
  /* A stale update (id 0 was overwritten by id 8) is dropped. */
  uint64_t stale = 0;
  float tiny = 0;
  replay_update_priorities(&r, &stale, &tiny, 1);
  CHECK_NEAR(sumtree_get(&r.tree, 0), 1000 + 1e-6, 1e-6);
  replay_free(&r);
}

/* Full ring: the oldest is replaced, its priority with it; evicted ids are never sampled. */
static void test_eviction(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  CHECK(replay_init(&r, 4, OD, 1, &lim) == 0, "init");
  replay_per_t per = {.alpha = 1, .eps = 1e-6, .beta0 = 1, .beta_steps = 0};
  CHECK(replay_set_prioritized(&r, &per) == 0, "prioritized");
  float obs[OD * 6], act[6], rew[6], next[OD * 6], prio[6] = {100, 100, 1, 2, 3, 4};
  uint8_t flags[6];
  rows(6, 0, obs, act, rew, next, flags);
  replay_insert_ext(&r, 6, obs, act, rew, next, flags, NULL, prio);
  CHECK(r.size == 4, "size %zu", r.size);
  /* Slots 0, 1 now hold ids 4, 5 with priorities 3, 4: the total is 1 + 2 + 3 + 4 (+ eps). */
  CHECK_NEAR(sumtree_total(&r.tree), 10, 1e-5);
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 3);
  int bad = 0;
  for (int d = 0; d < 500; d++) {
    CHECK(replay_sample_ext(&r, &rng, 4, &b.s, 0) == 0, "sample");
    for (int k = 0; k < 4; k++) {
      bad += b.id[k] < 2;
      bad += (uint64_t)b.obs[OD * k] != b.id[k];
    }
  }
  CHECK(bad == 0, "%d evicted or mislabelled rows sampled", bad);
  replay_free(&r);
}

/* Importance weights by hand: priorities 1, 2, 3, 4 (alpha 1): w_i = (p_i / p_min)^-beta. Beta
 * from beta0 = 0.5 over beta_steps = 8: after 4 inserts 0.75, after 8 and later 1. */
static void test_weights(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  CHECK(replay_init(&r, 8, OD, 1, &lim) == 0, "init");
  replay_per_t per = {.alpha = 1, .eps = 1e-9, .beta0 = 0.5, .beta_steps = 8};
  CHECK(replay_set_prioritized(&r, &per) == 0, "prioritized");
  replay_set_gamma(&r, 0.9f);
  float obs[OD * 8], act[8], rew[8], next[OD * 8], prio[4] = {1, 2, 3, 4},
                                                   disc[4] = {0.5f, 0.25f, 0.125f, 1};
  uint8_t flags[8];
  rows(4, 0, obs, act, rew, next, flags);
  replay_insert_ext(&r, 4, obs, act, rew, next, flags, disc, prio);
  CHECK_NEAR(replay_beta(&r), 0.75, 1e-12);
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 11);
  CHECK(replay_sample_ext(&r, &rng, 4, &b.s, 0) == 0, "sample");
  for (int k = 0; k < 4; k++) {
    uint64_t id = b.id[k];
    double want = pow((double)(id + 1) / 1.0, -0.75);
    CHECK_NEAR(b.weight[k], want, 1e-6);
    CHECK_NEAR(b.disc[k], disc[id], 0);
  }
  /* With beta = 1 the weight of p = 4 is 1/4; a transition without a disc stores gamma. */
  rows(4, 4, obs, act, rew, next, flags);
  float prio2[4] = {1, 1, 1, 1};
  replay_insert_ext(&r, 4, obs, act, rew, next, flags, NULL, prio2);
  CHECK_NEAR(replay_beta(&r), 1, 1e-12);
  int seen4 = 0;
  for (int d = 0; d < 50; d++) {
    CHECK(replay_sample_ext(&r, &rng, 4, &b.s, 0) == 0, "sample");
    for (int k = 0; k < 4; k++) {
      if (b.id[k] == 3) {
        seen4 = 1;
        CHECK_NEAR(b.weight[k], 0.25, 1e-6);
      }
      if (b.id[k] >= 4) {
        CHECK_NEAR(b.disc[k], 0.9f, 0);
        CHECK_NEAR(b.weight[k], 1, 1e-6);
      }
    }
  }
  CHECK(seen4, "priority 4 never drawn in 200 draws");
  replay_free(&r);
}

/* The uniform replay answers the same interface: weights 1, ids of the rows. */
static void test_uniform_ext(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  CHECK(replay_init(&r, 4, OD, 1, &lim) == 0, "init");
  float obs[OD * 6], act[6], rew[6], next[OD * 6];
  uint8_t flags[6];
  rows(6, 0, obs, act, rew, next, flags);
  replay_insert(&r, 6, obs, act, rew, next, flags);
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 5);
  for (int d = 0; d < 50; d++) {
    CHECK(replay_sample_ext(&r, &rng, 4, &b.s, 0) == 0, "sample");
    for (int k = 0; k < 4; k++) {
      CHECK((uint64_t)b.obs[OD * k] == b.id[k] && b.id[k] >= 2 && b.weight[k] == 1.0f,
            "row %g id %llu weight %g", b.obs[OD * k], (unsigned long long)b.id[k], b.weight[k]);
    }
  }
  uint64_t id = 3;
  float td = 5;
  replay_update_priorities(&r, &id, &td, 1); /* a no-op */
  replay_free(&r);
}

typedef struct conc {
  replay_t *r;
  atomic_int done;
  int torn, badw;
} conc_t;

static void *inserter(void *arg) {
  conc_t *c = arg;
  float obs[OD * 32], act[32], rew[32], next[OD * 32], prio[32];
  uint8_t flags[32];
  for (int it = 0; it < 1500; it++) {
    rows(32, (uint64_t)it * 32, obs, act, rew, next, flags);
    for (int i = 0; i < 32; i++) prio[i] = (float)((it * 32 + i) % 17);
    replay_insert_ext(c->r, 32, obs, act, rew, next, flags, NULL, prio);
  }
  atomic_store(&c->done, 1);
  return NULL;
}

static void *sampler(void *arg) {
  conc_t *c = arg;
  bufs_t b;
  bufs_init(&b);
  rng_t rng;
  rng_seed(&rng, 99);
  float td[32];
  for (int it = 0; it < 3000 && !atomic_load(&c->done); it++) {
    if (replay_sample_ext(c->r, &rng, 32, &b.s, 50) != 0) continue;
    for (int k = 0; k < 32; k++) {
      float id = b.obs[OD * k];
      if (b.obs[OD * k + 1] != -id || b.next[OD * k] != id + 0.5f || b.rew[k] != id * 2 ||
          (uint64_t)id != b.id[k])
        c->torn++;
      if (!(b.weight[k] > 0 && b.weight[k] <= 1.0f)) c->badw++;
      td[k] = (float)(k % 5);
    }
    replay_update_priorities(c->r, b.id, td, 32);
  }
  return NULL;
}

static void test_concurrent(void) {
  replay_t r;
  flow_limits_t lim = {.min_size = 64, .spi = 1e12, .slack = 1u << 30};
  CHECK(replay_init(&r, 1000, OD, 1, &lim) == 0, "init");
  replay_per_t per = {.alpha = 0.6, .eps = 0.01, .beta0 = 0.4, .beta_steps = 48000};
  CHECK(replay_set_prioritized(&r, &per) == 0, "prioritized");
  conc_t c = {.r = &r};
  pthread_t ti, ts;
  pthread_create(&ts, NULL, sampler, &c);
  pthread_create(&ti, NULL, inserter, &c);
  pthread_join(ti, NULL);
  pthread_join(ts, NULL);
  CHECK(c.torn == 0, "%d torn rows", c.torn);
  CHECK(c.badw == 0, "%d weights outside (0, 1]", c.badw);
  CHECK(r.inserted == 48000, "inserted %llu", (unsigned long long)r.inserted);
  replay_free(&r);
}

/* replay_image_take / replay_image_restore: the same rows, counters and priorities in a fresh
 * replay (sampling then draws the same way); bad values and a mismatched shape are refused. */
static void test_image(void) {
  replay_t r, q;
  flow_limits_t lim = {.min_size = 0, .spi = 1e12, .slack = 1000};
  replay_per_t per = {.alpha = 0.6, .eps = 0.01, .beta0 = 0.4, .beta_steps = 100};
  CHECK(replay_init(&r, 8, OD, 1, &lim) == 0 && replay_set_prioritized(&r, &per) == 0, "init");
  CHECK(replay_init(&q, 8, OD, 1, &lim) == 0 && replay_set_prioritized(&q, &per) == 0, "init");
  float obs[OD * 11], act[11], rew[11], next[OD * 11], prio[11], disc[11];
  uint8_t flags[11];
  rows(11, 0, obs, act, rew, next, flags);
  for (int i = 0; i < 11; i++) {
    prio[i] = (float)(i % 4);
    disc[i] = 0.5f;
    act[i] = (float)(i % 2);
  }
  flags[3] = 1;
  replay_insert_ext(&r, 11, obs, act, rew, next, flags, disc, prio);
  replay_image_t im;
  CHECK(replay_image_take(&r, &im) == 0, "take");
  char err[256];
  CHECK(replay_image_restore(&q, &im, 2, err, sizeof err) == 0, "restore: %s", err);
  CHECK(q.size == r.size && q.inserted == r.inserted && q.head == r.head && q.sampled == r.sampled,
        "counters differ");
  CHECK(!memcmp(q.obs, r.obs, 8 * OD * 4) && !memcmp(q.term, r.term, 32) &&
            !memcmp(q.disc, r.disc, 32) && !memcmp(q.act, r.act, 32),
        "rows differ");
  CHECK_NEAR(sumtree_total(&q.tree), sumtree_total(&r.tree), 1e-12);
  CHECK_NEAR(q.max_prio, r.max_prio, 0);
  bufs_t a, b;
  bufs_init(&a);
  bufs_init(&b);
  rng_t ra, rb;
  rng_seed(&ra, 1);
  rng_seed(&rb, 1);
  CHECK(replay_sample_ext(&r, &ra, 8, &a.s, 0) == 0 && replay_sample_ext(&q, &rb, 8, &b.s, 0) == 0,
        "sample");
  CHECK(!memcmp(a.id, b.id, 8 * sizeof a.id[0]) && !memcmp(a.weight, b.weight, 8 * 4),
        "restored replay samples differently");
  replay_t e;
  CHECK(replay_init(&e, 8, OD, 1, &lim) == 0 && replay_set_prioritized(&e, &per) == 0, "init");
  im.term[2] = 0.5f;
  CHECK(replay_image_restore(&e, &im, 2, err, sizeof err) == -1 && strstr(err, "term[2] is 0.5"),
        "term 0.5: %s", err);
  im.term[2] = 0;
  im.act[1] = 2;
  CHECK(replay_image_restore(&e, &im, 2, err, sizeof err) == -1 && strstr(err, "act[1] is 2"),
        "act 2: %s", err);
  im.act[1] = 1;
  im.prio[0] = NAN;
  CHECK(replay_image_restore(&e, &im, 2, err, sizeof err) == -1 && strstr(err, "priority[0]"),
        "prio nan: %s", err);
  im.prio[0] = 1;
  im.size = 7;
  CHECK(replay_image_restore(&e, &im, 2, err, sizeof err) == -1 && strstr(err, "size 7"),
        "size 7: %s", err);
  im.size = 8;
  im.obs_dim = 3;
  CHECK(replay_image_restore(&e, &im, 2, err, sizeof err) == -1 && strstr(err, "obs_dim 3"),
        "obs_dim 3: %s", err);
  CHECK(e.size == 0, "a refused image left %zu rows", e.size);
  replay_image_free(&im);
  replay_free(&e);
  replay_free(&r);
  replay_free(&q);
}

int main(void) {
  test_image();
  test_tree();
  test_frequencies();
  test_update_then_sample();
  test_eviction();
  test_weights();
  test_uniform_ext();
  test_concurrent();
  CHECK_DONE();
}
