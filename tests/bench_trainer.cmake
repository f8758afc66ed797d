# Benchmark of the learner's DQN trainer (server/dqn.c): updates/s with and without replay
# sampling against the single-core SGEMM peak; label bench only (ctest -L bench).
rl_test(bench_trainer LABELS bench SOURCES bench/bench_trainer.c ../server/dqn.c
        LIBS rlcommon rlenvs TIMEOUT 120)
target_include_directories(bench_trainer PRIVATE ${PROJECT_SOURCE_DIR}/server)
