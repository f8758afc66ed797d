#include "solve.h"

solve_seeds_t solve_next_seeds(uint64_t eval_seed, uint64_t *cursor, uint64_t episodes) {
  solve_seeds_t s = {eval_seed + *cursor, episodes};
  *cursor += episodes;
  return s;
}

uint64_t solve_fresh_seed(uint64_t eval_seed) { return eval_seed + SOLVE_RUN_SEED_SPAN; }

int solve_seeds_overlap(solve_seeds_t a, solve_seeds_t b) {
  if (a.count == 0 || b.count == 0) return 0;
  return a.first < b.first + b.count && b.first < a.first + a.count;
}

solve_verdict_t solve_judge(double mean, double threshold, int confirming) {
  if (!(mean >= threshold)) return SOLVE_GO_ON;
  return confirming ? SOLVE_SOLVED : SOLVE_CONFIRM;
}
