# The status socket (server/status_http.c, server/status_cmd.c) and the Prometheus text writer.
rl_test(test_status_http LABELS unit SOURCES test_status_http.c LIBS rlserver rlcommon TIMEOUT 60)
rl_test(test_promtext LABELS unit SOURCES test_promtext.c LIBS rlcommon TIMEOUT 60)
