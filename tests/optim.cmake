# common/optim: hand-computed RMSprop steps, fused vs unfused Adam, vector kernels vs plain.
rl_test(test_optim LABELS "unit;tsan" SOURCES test_optim.c LIBS rlcommon)
