# Greedy evaluation (server/algo/eval.c): determinism, seed + i per episode, the abort flag.
rl_test(test_eval LABELS "unit;tsan" SOURCES test_eval.c LIBS rlalgo TIMEOUT 120)
