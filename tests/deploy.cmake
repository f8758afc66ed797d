# deploy/k8s, deploy/docker and deploy/systemd (label deploy; deploy/test.sh runs it in CI).
# Static checks with python3-yaml: every referenced name is defined, every command line of the
# manifests, the compose file and the units passes `rlserve ... --check-args`, the runtime
# image's packages cover `ldd rlserve`, and a mutation self-test shows each check can fail.
# Live: the Kubernetes manifests' learner and worker command lines on 127.0.0.1 (probes, join,
# resume after a restart), and the systemd units verified and run under strace against their
# own hardening. Nothing here needs docker or a running systemd.
find_program(RLSERVE_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(RLSERVE_PYTHON3 python3)
set(DEPLOY_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/deploy/check_manifests.py)
foreach(t names args libs selftest)
  set(bin_arg $<TARGET_FILE:rlserve>)
  if(t STREQUAL names)
    set(bin_arg "")
  endif()
  add_test(NAME deploy_${t} COMMAND ${RLSERVE_PYTHON3} ${DEPLOY_CHECK} ${t} ${PROJECT_SOURCE_DIR} ${bin_arg})
  set_tests_properties(deploy_${t} PROPERTIES LABELS deploy TIMEOUT 300)
endforeach()
foreach(t k8s_live systemd_units)
  add_test(NAME deploy_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy/${t}.sh)
  set_tests_properties(deploy_${t} PROPERTIES LABELS deploy TIMEOUT 300 RUN_SERIAL TRUE
                       ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
