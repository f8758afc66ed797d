# The solve rule (server/algo/solve.c): fresh, disjoint seed ranges; the confirmation verdict.
rl_test(test_solve LABELS unit SOURCES test_solve.c LIBS rlalgo TIMEOUT 60)
# The learner's checkpoint keeps the evaluation seed cursor; older checkpoints without it load.
rl_test(test_learner_state LABELS unit SOURCES test_learner_state.c LIBS rllearner TIMEOUT 60)
