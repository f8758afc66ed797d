# rlserve study with learner presets (cartpole-dqn, pendulum-td3 two side by side) on small
# budgets: run folders, curve.csv / curve.svg with the 95% interval, table.md
# (tests/integration/study_learner.sh).
add_test(NAME it_study_learner COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/study_learner.sh)
set_tests_properties(it_study_learner PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
