/* test_solve: the solve rule (server/algo/solve.h). Every evaluation and confirmation of a run
 * takes seeds no other one took, also with confirmations of another size; `rlserve eval`'s default
 * range is disjoint from all of them; and the verdict: pass + confirmation pass -> solved, pass +
 * confirmation miss -> training goes on, and the evaluations after a failed confirmation continue
 * on fresh seeds. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "solve.h"

#define MAX_RANGES 64

/* A run's seed ranges: n_evals evaluations of eval_eps episodes, each one that "passes" (every
 * third) followed by a confirmation of confirm_eps. */
static int run_ranges(uint64_t eval_seed, uint64_t eval_eps, uint64_t confirm_eps, int n_evals,
                      solve_seeds_t *out) {
  uint64_t cursor = 0;
  int n = 0;
  for (int k = 0; k < n_evals; k++) {
    out[n++] = solve_next_seeds(eval_seed, &cursor, eval_eps);
    if (k % 3 == 2) out[n++] = solve_next_seeds(eval_seed, &cursor, confirm_eps);
  }
  return n;
}

static void test_ranges_disjoint(void) {
  const uint64_t eval_seed = 1000000;
  solve_seeds_t r[MAX_RANGES];
  int n = run_ranges(eval_seed, 100, 37, 30, r);
  CHECK(n == 40, "%d ranges, expected 30 evaluations + 10 confirmations", n);
  CHECK(r[0].first == eval_seed && r[0].count == 100, "first range %llu+%llu",
        (unsigned long long)r[0].first, (unsigned long long)r[0].count);
  /* evaluation k (before any confirmation) is eval_seed + k * eval_episodes + i */
  CHECK(r[1].first == eval_seed + 100 && r[2].first == eval_seed + 200, "ranges 1, 2 at %llu %llu",
        (unsigned long long)r[1].first, (unsigned long long)r[2].first);
  CHECK(r[3].count == 37 && r[3].first == eval_seed + 300, "confirmation at %llu+%llu",
        (unsigned long long)r[3].first, (unsigned long long)r[3].count);
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    total += r[i].count;
    for (int j = i + 1; j < n; j++)
      CHECK(!solve_seeds_overlap(r[i], r[j]), "ranges %d (%llu+%llu) and %d (%llu+%llu) overlap", i,
            (unsigned long long)r[i].first, (unsigned long long)r[i].count, j,
            (unsigned long long)r[j].first, (unsigned long long)r[j].count);
    if (i > 0) CHECK(r[i].first == r[i - 1].first + r[i - 1].count, "range %d not contiguous", i);
  }
  CHECK(total == 30 * 100 + 10 * 37, "%llu seeds handed out", (unsigned long long)total);
  /* rlserve eval's default: after the whole span of the run's seeds, for any eval_seed */
  uint64_t fresh = solve_fresh_seed(eval_seed);
  solve_seeds_t cli = {fresh, 1000000};
  solve_seeds_t span = {eval_seed, SOLVE_RUN_SEED_SPAN};
  CHECK(fresh == eval_seed + SOLVE_RUN_SEED_SPAN, "fresh seed %llu", (unsigned long long)fresh);
  CHECK(!solve_seeds_overlap(cli, span), "rlserve eval's seeds overlap the run's span");
  for (int i = 0; i < n; i++)
    CHECK(!solve_seeds_overlap(cli, r[i]), "rlserve eval's seeds overlap range %d", i);
  /* The largest eval_seed the config allows still leaves room below 2^64. */
  uint64_t top = solve_fresh_seed(UINT64_C(4294967295));
  CHECK(top > UINT64_C(4294967295) && top < UINT64_MAX - UINT64_C(1000000000),
        "fresh seed for the largest eval_seed: %llu", (unsigned long long)top);
}

static void test_overlap(void) {
  solve_seeds_t a = {10, 5}, b = {15, 5}, c = {14, 1}, e = {12, 0};
  CHECK(!solve_seeds_overlap(a, b), "10+5 and 15+5 are adjacent, not overlapping");
  CHECK(solve_seeds_overlap(a, c) && solve_seeds_overlap(c, a), "14 is in 10+5");
  CHECK(!solve_seeds_overlap(a, e), "an empty range overlaps nothing");
}

static void test_verdict(void) {
  const double thr = 475;
  /* a regular evaluation: a pass only asks for a confirmation */
  CHECK(solve_judge(480, thr, 0) == SOLVE_CONFIRM, "pass -> confirm");
  CHECK(solve_judge(475, thr, 0) == SOLVE_CONFIRM, "a mean equal to the threshold meets it");
  CHECK(solve_judge(474.99, thr, 0) == SOLVE_GO_ON, "miss -> go on");
  CHECK(solve_judge(NAN, thr, 0) == SOLVE_GO_ON, "NaN -> go on");
  /* the confirmation decides */
  CHECK(solve_judge(500, thr, 1) == SOLVE_SOLVED, "pass + confirmation pass -> solved");
  CHECK(solve_judge(430, thr, 1) == SOLVE_GO_ON, "pass + confirmation miss -> go on");
  CHECK(solve_judge(NAN, thr, 1) == SOLVE_GO_ON, "confirmation NaN -> go on");
  CHECK(solve_judge(-150, -150, 1) == SOLVE_SOLVED, "negative thresholds (MountainCar)");
}

/* A run driven by the rule: means of the regular evaluations and of the confirmations they
 * trigger. The first pass is not confirmed, so training goes on and the next evaluations run on
 * fresh seeds; the second pass is confirmed and the run stops there. */
static void test_sequence(void) {
  const double thr = 475, evals[] = {300, 480, 460, 490, 499}, confirms[] = {420, 476};
  uint64_t cursor = 0;
  int ci = 0, solved_at = -1, n_confirm = 0;
  solve_seeds_t seen[16];
  int n_seen = 0;
  for (int k = 0; k < 5 && solved_at < 0; k++) {
    seen[n_seen++] = solve_next_seeds(7, &cursor, 100);
    if (solve_judge(evals[k], thr, 0) != SOLVE_CONFIRM) continue;
    seen[n_seen++] = solve_next_seeds(7, &cursor, 100);
    n_confirm++;
    if (solve_judge(confirms[ci++], thr, 1) == SOLVE_SOLVED) solved_at = k;
  }
  CHECK(solved_at == 3, "solved at evaluation %d, expected 3 (1 passed but was not confirmed)",
        solved_at);
  CHECK(n_confirm == 2 && n_seen == 6, "%d confirmations, %d ranges", n_confirm, n_seen);
  for (int i = 0; i < n_seen; i++)
    for (int j = i + 1; j < n_seen; j++)
      CHECK(!solve_seeds_overlap(seen[i], seen[j]), "ranges %d and %d overlap", i, j);
}

int main(void) {
  test_ranges_disjoint();
  test_overlap();
  test_verdict();
  test_sequence();
  CHECK_DONE();
}
