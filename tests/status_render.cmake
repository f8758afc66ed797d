# The /status JSON and /metrics text renderer (server/status/status_render.c, in rlstatus). The
# renderer prints a status_snapshot_t; the test builds one in memory, no learner needed.
rl_test(test_status_render LABELS unit TIMEOUT 60 SOURCES test_status_render.c LIBS rlstatus)

# What the learner puts in a snapshot (server/learner/status_fill.c): a learner_t built in
# memory, filled with the real clock, and the status_http callbacks end to end.
rl_test(test_status_fill LABELS unit TIMEOUT 60 SOURCES test_status_fill.c LIBS rllearner)
