# common/tpool: every part of every job once, on its thread; spin and sleep paths; under TSan too.
rl_test(test_tpool LABELS "unit;tsan" SOURCES test_tpool.c LIBS rlcommon)
