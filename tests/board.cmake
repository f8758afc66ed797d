# rlserve board over three run folders: /runs, /history, Chromium (table text, three line
# colours in every chart) and a live run followed (tests/integration/board_live.sh).
add_test(NAME it_board_live COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/board_live.sh)
set_tests_properties(it_board_live PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
