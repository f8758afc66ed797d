/* solve: when a run counts as solved, and which reset seeds each of its greedy evaluations
 * uses. Pure functions over the caller's numbers; any thread.
 *
 * Seeds: a run's evaluations take consecutive ranges of reset seeds from eval_seed + [0,
 * SOLVE_RUN_SEED_SPAN). A cursor (the seeds handed out so far; the learner keeps it in its
 * checkpoint) advances by each evaluation's episodes, so no evaluation or confirmation of a run
 * sees an episode seed another one saw. `rlserve eval` defaults to the range after it
 * (solve_fresh_seed), disjoint from every evaluation of the run.
 *
 * Verdict: a regular evaluation whose mean meets the threshold only nominates its weights; a
 * confirmation of the same weights on its own fresh seeds decides. Solved needs both. */
#ifndef RLSERVE_SOLVE_H
#define RLSERVE_SOLVE_H

#include <stdint.h>

/* 2^40 seeds: a run would need about 10^12 evaluation episodes to leave its range. */
#define SOLVE_RUN_SEED_SPAN (UINT64_C(1) << 40)

typedef struct solve_seeds {
  uint64_t first, count; /* episode i (i < count) is reset with seed first + i */
} solve_seeds_t;

/* The next `episodes` seeds of the run whose evaluations start at eval_seed; advances *cursor. */
solve_seeds_t solve_next_seeds(uint64_t eval_seed, uint64_t *cursor, uint64_t episodes);
/* The first seed `rlserve eval` uses by default: eval_seed + SOLVE_RUN_SEED_SPAN. */
uint64_t solve_fresh_seed(uint64_t eval_seed);
/* Whether two ranges share a seed. */
int solve_seeds_overlap(solve_seeds_t a, solve_seeds_t b);

typedef enum {
  SOLVE_GO_ON = 0,   /* keep training; the next evaluations continue as scheduled */
  SOLVE_CONFIRM = 1, /* run a confirmation evaluation of the same weights on fresh seeds */
  SOLVE_SOLVED = 2   /* the confirmation met the threshold too: the run is solved */
} solve_verdict_t;

/* After an evaluation of mean `mean`: a regular one (confirming 0) that meets the threshold asks
 * for a confirmation; a confirmation (confirming 1) that meets it solves the run; anything else
 * (a miss, a NaN) goes on training. */
solve_verdict_t solve_judge(double mean, double threshold, int confirming);

#endif
