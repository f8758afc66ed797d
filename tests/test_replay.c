/* Checks replay: ring order and wrap, uniform coverage, that sampling and ingest obey the rate
 * limit of flow.h (its arithmetic alone: test_flow), and rows never torn under concurrent
 * insert and sample (also run under TSan, label tsan). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "replay.h"

/* A row encodes its id everywhere, so a torn copy is visible. */
static void make_rows(size_t n, uint64_t first, float *obs, float *act, float *rew, float *next,
                      uint8_t *flags) {
  for (size_t i = 0; i < n; i++) {
    float id = (float)(first + i);
    obs[2 * i] = id;
    obs[2 * i + 1] = -id;
    next[2 * i] = id + 0.5f;
    next[2 * i + 1] = -id - 0.5f;
    act[i] = (float)((first + i) % 3);
    rew[i] = id * 2;
    flags[i] = ((first + i) % 5 == 0) ? 1 : ((first + i) % 7 == 0 ? 2 : 0);
  }
}

static int row_ok(const float *obs, const float *act, const float *rew, const float *next,
                  const float *term) {
  float id = obs[0];
  uint64_t k = (uint64_t)id;
  return obs[1] == -id && next[0] == id + 0.5f && next[1] == -id - 0.5f &&
         act[0] == (float)(k % 3) && rew[0] == id * 2 && term[0] == (k % 5 == 0 ? 1.0f : 0.0f);
}

typedef struct shared {
  replay_t *r;
  atomic_uint_fast64_t next_id;
  atomic_int inserters_done;
  int torn;
  uint64_t batches;
} shared_t;

static void *inserter(void *arg) {
  shared_t *s = arg;
  float obs[2 * 32], act[32], rew[32], next[2 * 32];
  uint8_t flags[32];
  for (int it = 0; it < 2000; it++) {
    while (!replay_insert_allowed(s->r)) sched_yield();
    uint64_t first = atomic_fetch_add(&s->next_id, 32);
    make_rows(32, first, obs, act, rew, next, flags);
    replay_insert(s->r, 32, obs, act, rew, next, flags);
  }
  atomic_fetch_add(&s->inserters_done, 1);
  return NULL;
}

static void *sampler(void *arg) {
  shared_t *s = arg;
  rng_t rng;
  rng_seed(&rng, 9);
  float obs[2 * 16], act[16], rew[16], next[2 * 16], term[16];
  for (;;) {
    int rc = replay_sample_wait(s->r, &rng, 16, obs, act, rew, next, term, 50);
    if (rc == 0) {
      s->batches++;
      for (int b = 0; b < 16; b++)
        if (!row_ok(obs + 2 * b, act + b, rew + b, next + 2 * b, term + b)) s->torn++;
    } else if (atomic_load(&s->inserters_done) == 2) {
      break;
    }
  }
  return NULL;
}

int main(void) {
  float obs[2 * 64], act[64], rew[64], next[2 * 64], term[64];
  uint8_t flags[64];
  rng_t rng;
  rng_seed(&rng, 1);

  /* Ring: capacity 10, 25 inserted -> the last 10 (ids 15..24) remain. */
  replay_t r;
  flow_limits_t lim = {.min_size = 1, .spi = 1000, .slack = 1000};
  CHECK(replay_init(&r, 10, 2, 1, &lim) == 0, "init");
  make_rows(25, 0, obs, act, rew, next, flags);
  replay_insert(&r, 25, obs, act, rew, next, flags);
  replay_counts_t c = replay_counts(&r);
  CHECK(c.size == 10 && c.inserted == 25, "size %zu inserted %llu", c.size,
        (unsigned long long)c.inserted);
  int seen[25] = {0};
  for (int it = 0; it < 200; it++) {
    CHECK(replay_sample_wait(&r, &rng, 8, obs, act, rew, next, term, 0) == 0, "sample");
    for (int b = 0; b < 8; b++) {
      CHECK(row_ok(obs + 2 * b, act + b, rew + b, next + 2 * b, term + b), "row %g torn",
            obs[2 * b]);
      int id = (int)obs[2 * b];
      CHECK(id >= 15 && id < 25, "evicted row %d sampled", id);
      if (id >= 0 && id < 25) seen[id]++;
    }
  }
  /* 1600 uniform draws over 10 rows: each about 160. */
  for (int id = 15; id < 25; id++)
    CHECK(seen[id] > 100 && seen[id] < 230, "row %d drawn %d times", id, seen[id]);
  /* Truncation is not stored as terminal: id 21 has flags 2 (truncated) and term 0. */
  replay_free(&r);

  /* Rate limiter: min 10, spi 2, batch 4 -> batch k at insert 10 + 2k. */
  flow_limits_t lim2 = {.min_size = 10, .spi = 2, .slack = 6};
  CHECK(replay_init(&r, 100, 2, 1, &lim2) == 0, "init");
  make_rows(9, 0, obs, act, rew, next, flags);
  replay_insert(&r, 9, obs, act, rew, next, flags);
  CHECK(replay_sample_wait(&r, &rng, 4, obs, act, rew, next, term, 0) == 1,
        "sampled before min_size");
  make_rows(1, 9, obs, act, rew, next, flags);
  replay_insert(&r, 1, obs, act, rew, next, flags);
  CHECK(replay_sample_wait(&r, &rng, 4, obs, act, rew, next, term, 0) == 0,
        "first batch at min_size");
  CHECK(replay_sample_wait(&r, &rng, 4, obs, act, rew, next, term, 0) == 1,
        "second batch too early");
  make_rows(2, 10, obs, act, rew, next, flags);
  replay_insert(&r, 2, obs, act, rew, next, flags);
  CHECK(replay_sample_wait(&r, &rng, 4, obs, act, rew, next, term, 0) == 0,
        "second batch after 2 inserts");
  CHECK(replay_insert_allowed(&r), "ingest paused while on rate");
  make_rows(7, 12, obs, act, rew, next, flags);
  replay_insert(&r, 7, obs, act, rew, next, flags); /* budget (19-10)*2-8 = 10 <= 12: allowed */
  CHECK(replay_insert_allowed(&r), "ingest paused within slack");
  make_rows(1, 19, obs, act, rew, next, flags);
  replay_insert(&r, 1, obs, act, rew, next, flags); /* budget 12: still allowed (<=) */
  make_rows(1, 20, obs, act, rew, next, flags);
  replay_insert(&r, 1, obs, act, rew, next, flags); /* budget 14 > 12: pause */
  CHECK(!replay_insert_allowed(&r), "ingest not paused beyond slack");
  replay_close(&r);
  CHECK(replay_sample_wait(&r, &rng, 4, obs, act, rew, next, term, -1) == 1,
        "closed buffer sampled");
  replay_free(&r);

  /* Concurrency: 2 inserters, 1 sampler; rows never torn; ratio held. */
  flow_limits_t lim3 = {.min_size = 256, .spi = 4, .slack = 512};
  CHECK(replay_init(&r, 5000, 2, 1, &lim3) == 0, "init");
  shared_t s = {.r = &r};
  atomic_init(&s.next_id, 0);
  atomic_init(&s.inserters_done, 0);
  pthread_t t[3];
  pthread_create(&t[0], NULL, inserter, &s);
  pthread_create(&t[1], NULL, inserter, &s);
  pthread_create(&t[2], NULL, sampler, &s);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  c = replay_counts(&r);
  CHECK(s.torn == 0, "%d torn rows", s.torn);
  CHECK(c.inserted == 128000, "inserted %llu", (unsigned long long)c.inserted);
  double want = (double)(c.inserted - 256) * 4;
  CHECK((double)c.sampled <= want + 16 && (double)c.sampled >= want - 16 - 512 * 4,
        "sampled %llu, rate allows %.0f", (unsigned long long)c.sampled, want);
  replay_free(&r);
  CHECK_DONE();
}
