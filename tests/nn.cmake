rl_test(test_nn LABELS unit SOURCES test_nn.c LIBS rlcommon)
if(TARGET rlcommon)
  # Benchmark of the nn kernels and a DQN update; label bench only (ctest -L bench).
  rl_test(bench_nn LABELS bench SOURCES bench/bench_nn.c LIBS rlcommon TIMEOUT 120)
endif()
