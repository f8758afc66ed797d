rl_test(test_dqn_per LABELS "unit;tsan" SOURCES test_dqn_per.c LIBS rlalgo TIMEOUT 60)
