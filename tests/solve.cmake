# The solve rule (server/algo/solve.c): fresh, disjoint seed ranges; the confirmation verdict.
rl_test(test_solve LABELS unit SOURCES test_solve.c LIBS rlalgo TIMEOUT 60)
