rl_test(test_rng LABELS unit SOURCES test_rng.c LIBS rlcommon)
