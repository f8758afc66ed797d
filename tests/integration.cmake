# Integration tests: real learner and worker processes on 127.0.0.1 (label integration).
foreach(t run_solves worker_faults learner_restart auth pendulum status_load listen_addr
          stop_in_eval connect_all_addrs net_dueling
          replay_resume apex_explore minatar_bits)
  add_test(NAME it_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh)
  set_tests_properties(it_${t} PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                       ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
# The speed claim of status_load.sh (the ratio to the quiet rate) belongs in the bench label.
add_test(NAME bench_status_load COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/status_load.sh)
set_tests_properties(bench_status_load PROPERTIES LABELS bench TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_BENCH=1")
# Also regressions of the hostile-peer issue: bad --listen addresses aborted, a signal waited for
# a whole evaluation, a worker gave up on the first address of a name.
set_tests_properties(it_listen_addr it_stop_in_eval it_connect_all_addrs PROPERTIES
                     LABELS "integration;security")

# The learner's threads under TSan (the TSan build runs label tsan).
add_test(NAME it_short_run COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/short_run.sh)
set_tests_properties(it_short_run PROPERTIES LABELS "tsan" TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;TSAN_OPTIONS=halt_on_error=0")

# A user environment plugin trained end to end.
add_test(NAME it_plugin_trains COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/plugin_trains.sh)
set_tests_properties(it_plugin_trains PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
  ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_PLUGIN=$<TARGET_FILE:rlserve_example_env>;RLSERVE_PLUGIN_BADABI=$<TARGET_FILE:rlserve_example_env_badabi>")

# A hostile client: every class of bad frame refused on a live learner.
add_executable(badframes integration/badframes.c)
target_include_directories(badframes PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}) # sock.h
target_link_libraries(badframes PRIVATE rlcommon)
add_test(NAME it_bad_input COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/bad_input.sh)
set_tests_properties(it_bad_input PROPERTIES LABELS integration TIMEOUT 120 RUN_SERIAL TRUE
  ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_BADFRAMES=$<TARGET_FILE:badframes>")
