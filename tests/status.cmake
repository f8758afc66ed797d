# The status socket (server/status/status_http.c, server/cli/status_cmd.c) and the Prometheus text writer.
# test_status_http compiles the two status sources (and its own copy of the embedded page)
# directly instead of linking rlstatus and rlcli, so the unit test does not depend on every other
# learner file building: the module itself needs only libuv, http_parser, cJSON and log.
set(STATUS_TEST_DASHBOARD_C ${CMAKE_CURRENT_BINARY_DIR}/status_test_dashboard_html.c)
add_custom_command(OUTPUT ${STATUS_TEST_DASHBOARD_C}
  COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/server/status/dashboard.html
          -DOUT=${STATUS_TEST_DASHBOARD_C} -DNAME=status_dashboard_html
          -P ${PROJECT_SOURCE_DIR}/server/status/embed.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/server/status/dashboard.html ${PROJECT_SOURCE_DIR}/server/status/embed.cmake
  COMMENT "Embedding dashboard.html for test_status_http")
rl_test(test_status_http LABELS unit TIMEOUT 60
        SOURCES test_status_http.c ${PROJECT_SOURCE_DIR}/server/status/status_http.c
                ${PROJECT_SOURCE_DIR}/server/cli/status_cmd.c ${STATUS_TEST_DASHBOARD_C}
        LIBS rlcommon PkgConfig::UV ${HTTP_PARSER_LIB})
target_include_directories(test_status_http PRIVATE ${PROJECT_SOURCE_DIR}/server/status
                           ${PROJECT_SOURCE_DIR}/server/cli
                           ${HTTP_PARSER_INCLUDE})
rl_test(test_promtext LABELS unit SOURCES test_promtext.c LIBS rlcommon TIMEOUT 60)
