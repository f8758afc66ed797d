# The status socket of a live learner checked by real clients: curl, promtool, a Prometheus
# server, headless Chromium, raw sockets and `rlserve status` (tests/integration/status_live.sh;
# Prometheus and Chromium are skipped with a visible line when not installed).
add_test(NAME it_status_live COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/status_live.sh)
set_tests_properties(it_status_live PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
