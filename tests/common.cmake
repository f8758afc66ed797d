rl_test(test_rng LABELS unit SOURCES test_rng.c LIBS rlcommon)
rl_test(test_config LABELS unit SOURCES test_config.c LIBS rlcommon)
rl_test(test_replay LABELS "unit;tsan" SOURCES test_replay.c LIBS rlcommon)
rl_test(test_checkpoint LABELS unit SOURCES test_checkpoint.c LIBS rlcommon)
