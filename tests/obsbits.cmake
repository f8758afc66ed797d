# common/obsbits: the "bits" observation encoding (proto/README.md).
rl_test(test_obsbits LABELS unit SOURCES test_obsbits.c LIBS rlcommon)
