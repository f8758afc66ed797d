# Hostile peers and hostile files (DESIGN.md "Security"): no code from the wire or from data
# files, authenticated checkpoints, poison-proof training, sane counters. Unit tests of the
# guards (label unit) and regression tests with a hostile client or file (label security).

# The trainer's finiteness guard (server/learner/guard.c), on a fake state and a real DQN.
rl_test(test_guard LABELS "unit;tsan" TIMEOUT 60 SOURCES test_guard.c LIBS rllearner)
# The ingest bounds check (envs/bounds.c) and the reward ranges envs and plugins declare.
rl_test(test_bounds LABELS unit TIMEOUT 60 SOURCES test_bounds.c LIBS rlenvs rlcommon)

# The hostile client / fake learner and a library that marks the file RLSERVE_MARKER when it
# is loaded (it must never be).
add_executable(hostile security/hostile.c)
target_include_directories(hostile PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}) # sock.h
target_link_libraries(hostile PRIVATE rlcommon)
add_library(rlserve_marker_plugin MODULE security/marker_plugin.c)
set_target_properties(rlserve_marker_plugin PROPERTIES PREFIX "lib")
# Corridor-v0 built again with other flags: the same env id, different bytes (another hash).
add_library(rlserve_example_env_other MODULE ${PROJECT_SOURCE_DIR}/envs/plugins/example_gridworld.c)
target_include_directories(rlserve_example_env_other PRIVATE ${PROJECT_SOURCE_DIR}/envs)
target_compile_options(rlserve_example_env_other PRIVATE -O0 -fno-inline)
set_target_properties(rlserve_example_env_other PROPERTIES C_VISIBILITY_PRESET hidden PREFIX "lib")

# sec_NAME runs tests/security/NAME.sh against a live learner / worker.
foreach(t poison bounds stats welcome_plugin plugin_mismatch ckpt_plugin ckpt_forged)
  add_test(NAME sec_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security/${t}.sh)
  set_tests_properties(sec_${t} PROPERTIES LABELS security TIMEOUT 180 RUN_SERIAL TRUE
    ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_HOSTILE=$<TARGET_FILE:hostile>;RLSERVE_MARKER_PLUGIN=$<TARGET_FILE:rlserve_marker_plugin>;RLSERVE_PLUGIN=$<TARGET_FILE:rlserve_example_env>;RLSERVE_PLUGIN_OTHER=$<TARGET_FILE:rlserve_example_env_other>")
endforeach()
