# Benchmark of the learner's DQN trainer (server/algo/dqn.c); label bench only (ctest -L bench).
# Fails when the update's FLOP rate as a fraction of the same core's SGEMM peak, or the speedup
# FTZ/DAZ gives with subnormal Adam moments, falls below its floor (tests/bench/README.md).
rl_test(bench_trainer LABELS bench SOURCES bench/bench_trainer.c
        LIBS rlalgo TIMEOUT 120)
set_tests_properties(bench_trainer PROPERTIES RUN_SERIAL TRUE)
