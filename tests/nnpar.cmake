# common/nnpar: one dense network's forward, backward, optimizer step and Polyak split by units
# across a tpool job, against nn.h / optim.h on one thread (T = 1, 2, 3).
rl_test(test_nnpar LABELS "unit;tsan" SOURCES test_nnpar.c LIBS rlcommon)
