rl_test(test_nn LABELS unit SOURCES test_nn.c LIBS rlcommon)
rl_test(test_nn_layers LABELS "unit;tsan" SOURCES test_nn_layers.c LIBS rlcommon)
if(TARGET rlcommon)
  # Benchmark of the nn kernels and a DQN update; label bench only (ctest -L bench). Fails when
  # our kernel stops beating OpenBLAS under GEMM_OWN_MAX_MACS, or OpenBLAS stops beating ours
  # on the 4-256-256-2 update (ratios measured in the same run; tests/bench/README.md).
  rl_test(bench_nn LABELS bench SOURCES bench/bench_nn.c LIBS rlcommon TIMEOUT 120)
  set_tests_properties(bench_nn PROPERTIES RUN_SERIAL TRUE)
endif()
# Networks from config (net, dueling) through policy, dqn, ddpg and pg (server/algo).
rl_test(test_net_config LABELS unit SOURCES test_net_config.c LIBS rlalgo)
# dqn_update_ext with trainer_threads = 2, 3: the forwards at once, split backward and optimizer;
# repeatable bits per T, within rounding of one thread.
rl_test(test_dqn_threads LABELS "unit;tsan" SOURCES test_dqn_threads.c LIBS rlalgo)
