# GET /history of a live learner against its metrics.jsonl, the downsampling bound, and the
# dashboard opened late in headless Chromium (tests/integration/history_live.sh).
add_test(NAME it_history_live COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/history_live.sh)
set_tests_properties(it_history_live PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
