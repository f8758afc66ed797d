# Solve table benchmark (label bench): rlserve run on seeds 1 2 3, markdown rows for the README.
add_test(NAME bench_solve_cartpole COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/solve_table.sh cartpole-dqn 1 2 3)
set_tests_properties(bench_solve_cartpole PROPERTIES LABELS bench TIMEOUT 900 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
