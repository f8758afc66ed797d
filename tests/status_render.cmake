# The /status JSON and /metrics text renderer (server/status/status_render.c). The test compiles the
# renderer alone against a learner_t it builds in memory; learner.h's types need libuv and
# the envs headers, and the test supplies learner_now (a fake clock) and returns_window_mean
# rather than linking server/learner/learner.c and with it the whole learner.
rl_test(test_status_render LABELS unit TIMEOUT 60
        SOURCES test_status_render.c ${PROJECT_SOURCE_DIR}/server/status/status_render.c
        LIBS rlcommon rlenvs PkgConfig::UV)
target_include_directories(test_status_render PRIVATE ${PROJECT_SOURCE_DIR}/server/status
                           ${PROJECT_SOURCE_DIR}/server/learner ${PROJECT_SOURCE_DIR}/server/algo)
