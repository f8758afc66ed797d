# The learner's decode threads (server/learner/ingest.h): the thread rule (unit), many sealed
# connections, a credit overrun and a clean stop with the threads on (integration, security and
# tsan: the TSan build runs it), and the hostile-client tests again with ingest_threads = 2.
rl_test(test_ingest LABELS unit SOURCES test_ingest.c LIBS rllearner)
add_test(NAME it_ingest_threads COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ingest_threads.sh)
set_tests_properties(it_ingest_threads PROPERTIES LABELS "integration;security;tsan" TIMEOUT 600
  RUN_SERIAL TRUE ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_LOADGEN=$<TARGET_FILE:loadgen>")
set(ingest_env "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_LEARNER_ARGS=--set ingest_threads=2")
add_test(NAME it_bad_input_threads COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/bad_input.sh)
set_tests_properties(it_bad_input_threads PROPERTIES LABELS "integration;security" TIMEOUT 120
  RUN_SERIAL TRUE ENVIRONMENT "${ingest_env};RLSERVE_BADFRAMES=$<TARGET_FILE:badframes>")
foreach(t bounds poison)
  add_test(NAME sec_${t}_threads COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security/${t}.sh)
  set_tests_properties(sec_${t}_threads PROPERTIES LABELS security TIMEOUT 180 RUN_SERIAL TRUE
    ENVIRONMENT "${ingest_env};RLSERVE_HOSTILE=$<TARGET_FILE:hostile>")
endforeach()
add_test(NAME sec_sealed_threads COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security/sealed.sh)
set_tests_properties(sec_sealed_threads PROPERTIES LABELS security TIMEOUT 180 RUN_SERIAL TRUE
  ENVIRONMENT "${ingest_env};RLSERVE_SECHOSTILE=$<TARGET_FILE:sechostile>")
