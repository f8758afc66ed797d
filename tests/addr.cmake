# "HOST:PORT" parsing and resolution (common/addr.c), used by every listener and client.
rl_test(test_addr LABELS unit SOURCES test_addr.c LIBS rlcommon TIMEOUT 60)
