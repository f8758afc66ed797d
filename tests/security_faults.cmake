# Hostile peers and faults (label security): slow status clients, the death of `rlserve run`,
# a learner killed in its first seconds, a failing checkpoint write, `--workers 0` with an
# actor-learner preset, and learners on [::1] and localhost. Scripts in tests/integration/.
foreach(t status_slow run_orphans resume_early checkpoint_fail run_workers0 listen_v6)
  add_test(NAME sec_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/sec_${t}.sh)
  set_tests_properties(sec_${t} PROPERTIES LABELS security TIMEOUT 300 RUN_SERIAL TRUE
                       ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
