/* Checks the flow-control rule (common/flow.h) on plain counters: the limiter's k-th batch
 * rule, the slack bound, credit top-ups, withholding while replay is ahead, the trainer's wake
 * cadence, and a single-threaded run of workers, net thread and trainer that keeps the bounds
 * the rule promises. No sockets or threads. */
#include <stdint.h>

#include "check.h"
#include "flow.h"

/* Batch k of B may be sampled exactly when inserted >= min + k * B / spi. spi = num / den keeps
 * the reference in integers: (inserted - min) * num >= k * B * den. */
static void check_kth_batch(uint64_t min, uint64_t num, uint64_t den, uint64_t B) {
  flow_limits_t l = {.min_size = min, .spi = (double)num / (double)den, .slack = 1000};
  for (uint64_t k = 0; k < 40; k++)
    for (uint64_t ins = 0; ins < min + 200; ins++) {
      int want = ins >= min && (ins - min) * num >= k * B * den;
      int got = flow_may_sample(&l, ins, k * B);
      CHECK(got == want, "min %llu spi %g B %llu: batch %llu at %llu inserted: got %d want %d",
            (unsigned long long)min, l.spi, (unsigned long long)B, (unsigned long long)k,
            (unsigned long long)ins, got, want);
    }
}

static void test_limiter_kth_batch(void) {
  check_kth_batch(10, 2, 1, 4);    /* batch k at insert 10 + 2k (test_replay's case) */
  check_kth_batch(0, 32, 1, 64);   /* the CartPole preset: one update per 2 inserts */
  check_kth_batch(5, 256, 1, 256); /* Pendulum: one update per insert */
  check_kth_batch(3, 1, 2, 4);     /* spi 0.5: 8 inserts per batch */
  check_kth_batch(7, 4, 3, 4);     /* B/spi = 3 inserts per batch */
  flow_limits_t l = {.min_size = 10, .spi = 2, .slack = 6};
  CHECK(!flow_may_sample(&l, 9, 0), "sampled before min_size");
  CHECK(flow_may_sample(&l, 10, 0), "first batch not at min_size");
  CHECK(!flow_may_sample(&l, 11, 4), "second batch 1 insert early");
  CHECK(flow_may_sample(&l, 12, 4), "second batch not after 2 inserts");
}

/* Replay is ahead when inserted > min + slack + sampled / spi, never before min_size. */
static void test_slack_bound(void) {
  flow_limits_t l = {.min_size = 10, .spi = 2, .slack = 6};
  CHECK(!flow_ahead(&l, 20, 8), "ahead at budget 12 = slack * spi (the bound is inclusive)");
  CHECK(flow_ahead(&l, 21, 8), "not ahead at budget 14 > 12");
  flow_limits_t m = {.min_size = 1000, .spi = 1, .slack = 1};
  CHECK(!flow_ahead(&m, 999, 0), "ahead before min_size");
  for (uint64_t s = 0; s < 100; s += 4)
    for (uint64_t ins = 10; ins < 200; ins++) {
      int want = 2 * ins > 2 * (10 + 6) + s; /* ins > min + slack + s / spi, doubled */
      CHECK(flow_ahead(&l, ins, s) == want, "inserted %llu sampled %llu: ahead %d want %d",
            (unsigned long long)ins, (unsigned long long)s, flow_ahead(&l, ins, s), want);
    }
}

/* Tops up to the window, only once half of it is used; receiving beyond the grant fails. */
static void test_credit_topup(void) {
  flow_credit_t c = {0};
  uint64_t n = flow_credit_due(&c, 256, 0);
  CHECK(n == 256, "a new connection is granted %llu, want the window 256", (unsigned long long)n);
  flow_credit_sent(&c, n);
  CHECK(flow_credit_receive(&c, 100) == 0, "100 of 256 refused");
  n = flow_credit_due(&c, 256, 0);
  CHECK(n == 0, "top-up of %llu with 100 of 256 used (less than half)", (unsigned long long)n);
  CHECK(flow_credit_receive(&c, 27) == 0 && flow_credit_due(&c, 256, 0) == 0, "top-up at 127 used");
  CHECK(flow_credit_receive(&c, 1) == 0, "128 of 256 refused");
  n = flow_credit_due(&c, 256, 0);
  CHECK(n == 128, "half used: top-up %llu, want 128 (back to the window)", (unsigned long long)n);
  flow_credit_sent(&c, n);
  CHECK(c.granted == 384 && c.received == 128, "granted %llu received %llu",
        (unsigned long long)c.granted, (unsigned long long)c.received);
  CHECK(flow_credit_receive(&c, 256) == 0, "the whole window refused");
  CHECK(flow_credit_receive(&c, 1) == -1, "1 beyond the grant accepted (received %llu of %llu)",
        (unsigned long long)c.received, (unsigned long long)c.granted);
  /* Odd windows round the half up: window 5 tops up once 3 are used. */
  flow_credit_t d = {.granted = 5, .received = 2};
  CHECK(flow_credit_due(&d, 5, 0) == 0, "window 5: top-up at 2 used");
  d.received = 3;
  CHECK(flow_credit_due(&d, 5, 0) == 3, "window 5: top-up at 3 used is %llu, want 3",
        (unsigned long long)flow_credit_due(&d, 5, 0));
  flow_credit_t e = {0};
  CHECK(flow_credit_due(&e, 1, 0) == 1, "window 1: nothing granted to a new connection");
}

/* While replay is ahead nothing is granted and the connection is owed; once caught up the
 * top-up goes out and pays what was owed. */
static void test_withhold_while_ahead(void) {
  flow_credit_t c = {.granted = 256, .received = 200};
  CHECK(flow_credit_due(&c, 256, 1) == 0, "granted while ahead");
  CHECK(c.owed == 1 && c.granted == 256, "withheld: owed %d granted %llu", c.owed,
        (unsigned long long)c.granted);
  uint64_t n = flow_credit_due(&c, 256, 0);
  CHECK(n == 200, "caught up: top-up %llu, want 200", (unsigned long long)n);
  CHECK(c.owed == 1, "owed cleared before the Credit frame went out");
  flow_credit_sent(&c, n);
  CHECK(c.owed == 0 && c.granted == 456, "after the grant: owed %d granted %llu", c.owed,
        (unsigned long long)c.granted);
  flow_credit_t d = {.granted = 256, .received = 10};
  CHECK(flow_credit_due(&d, 256, 1) == 0 && d.owed == 1, "ahead with little used: owed %d", d.owed);
}

static void test_wake_cadence(void) {
  CHECK(FLOW_WAKE_UPDATES == 8, "FLOW_WAKE_UPDATES %d, the learner has always used 8",
        FLOW_WAKE_UPDATES);
  int wakes = 0;
  for (uint64_t u = 1; u <= 800; u++) {
    int w = flow_wake_due(u);
    wakes += w;
    CHECK(w == (u % 8 == 0), "update %llu: wake %d", (unsigned long long)u, w);
  }
  CHECK(wakes == 100, "%d wakes in 800 updates, want 100", wakes);
}

/* Three workers, the net thread and a slow trainer, in one loop: workers send send_batch
 * whenever their credit covers it, the net thread ingests and tops up as net.c does, the
 * trainer samples under the limiter and wakes the net thread as trainer.c does. The rule
 * promises: nothing beyond the grant, at most `window` in flight per worker, replay at most
 * slack + workers * window ahead, and the trainer is never starved by withheld credit. */
#define SIM_W 3
static void test_run_keeps_bounds(void) {
  const uint64_t window = 64, send = 16, B = 32;
  flow_limits_t l = {.min_size = 100, .spi = 8, .slack = 50};
  flow_credit_t c[SIM_W] = {{0}};
  uint64_t inserted = 0, sampled = 0, updates = 0, slots = 0, worst_ahead = 0;
  int paused = 0, resumes = 0;
  for (int w = 0; w < SIM_W; w++) flow_credit_sent(&c[w], flow_credit_due(&c[w], window, 0));
  for (int tick = 0; tick < 20000; tick++) {
    for (int w = 0; w < SIM_W; w++) {
      if (c[w].granted - c[w].received < send) continue; /* the worker waits for credit */
      CHECK(flow_credit_receive(&c[w], send) == 0, "worker %d sent beyond its grant", w);
      inserted += send;
      uint64_t rate =
          l.min_size + l.slack + sampled / (uint64_t)l.spi; /* sampled: a multiple of spi */
      if (inserted > rate && inserted - rate > worst_ahead) worst_ahead = inserted - rate;
      int ahead = flow_ahead(&l, inserted, sampled);
      paused |= ahead;
      flow_credit_sent(&c[w], flow_credit_due(&c[w], window, ahead)); /* net.c grant() */
      CHECK(c[w].granted - c[w].received <= window, "worker %d: %llu in flight > window", w,
            (unsigned long long)(c[w].granted - c[w].received));
    }
    if (tick % 3) continue; /* the trainer is slower than the workers: credit must hold them */
    slots += inserted >= l.min_size;
    if (!flow_may_sample(&l, inserted, sampled)) continue;
    sampled += B;
    if (!flow_wake_due(++updates) || !paused || flow_ahead(&l, inserted, sampled)) continue;
    paused = 0; /* net_on_wake: resume_ingest */
    resumes++;
    for (int w = 0; w < SIM_W; w++)
      if (c[w].owed) flow_credit_sent(&c[w], flow_credit_due(&c[w], window, 0));
  }
  CHECK(resumes > 10, "credit withheld and resumed only %d times: the run tests nothing", resumes);
  CHECK(worst_ahead <= SIM_W * window, "replay ran %llu beyond the slack, bound %llu",
        (unsigned long long)worst_ahead, (unsigned long long)(SIM_W * window));
  CHECK(updates == slots, "trainer starved: %llu updates in %llu slots after min_size",
        (unsigned long long)updates, (unsigned long long)slots);
}

int main(void) {
  test_limiter_kth_batch();
  test_slack_bound();
  test_credit_topup();
  test_withhold_while_ahead();
  test_wake_cadence();
  test_run_keeps_bounds();
  CHECK_DONE();
}
