# The flow-control rule (common/flow.c): limiter, credits and wake cadence on plain counters.
rl_test(test_flow LABELS unit SOURCES test_flow.c LIBS rlcommon)
