# The metrics history of the status socket and the board (server/status/history.c): rows and
# cursor, the downsampling bound, following a growing metrics.jsonl, the query parser.
rl_test(test_history LABELS unit TIMEOUT 60 SOURCES test_history.c LIBS rlstatus)
