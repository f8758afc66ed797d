# Benchmark of the learner's DQN trainer (server/algo/dqn.c): updates/s with and without replay
# sampling against the single-core SGEMM peak; label bench only (ctest -L bench).
rl_test(bench_trainer LABELS bench SOURCES bench/bench_trainer.c
        LIBS rlalgo TIMEOUT 120)
