# Benchmarks of the learner's DQN and DDPG trainers (server/algo/dqn.c, ddpg.c); label bench only
# (ctest -L bench). Fail when an update's FLOP rate as a fraction of the same core's SGEMM peak,
# or what a second trainer thread buys, falls below its floor (tests/bench/README.md).
rl_test(bench_trainer LABELS bench SOURCES bench/bench_trainer.c
        LIBS rlalgo TIMEOUT 180)
set_tests_properties(bench_trainer PROPERTIES RUN_SERIAL TRUE)
# The same on the OpenBLAS kernels rlserve runs (its OPENBLAS_CORETYPE re-exec, server/cli/main.c).
rl_test(bench_trainer_rlserve_kernels LABELS bench SOURCES bench/bench_trainer.c
        LIBS rlalgo ARGS --rlserve-kernels TIMEOUT 180)
set_tests_properties(bench_trainer_rlserve_kernels PROPERTIES RUN_SERIAL TRUE)
# The minatar-breakout-dqn update (conv DQN, bits replay): FLOP rate / SGEMM peak and 2 trainer
# threads / 1, on the OpenBLAS kernels rlserve runs (tests/bench/README.md).
rl_test(bench_trainer_conv LABELS bench SOURCES bench/bench_trainer_conv.c
        LIBS rllearner ARGS --rlserve-kernels TIMEOUT 180)
set_tests_properties(bench_trainer_conv PROPERTIES RUN_SERIAL TRUE)
