# The Python worker (worker/python) and `rlserve export` (server/cli/export_cmd.c): codec round
# trips against the C codecs (unit), training and exports through real processes (integration).
# They run Debian's python3 with python3-numpy, -msgpack, -protobuf, -nacl, -onnx, -opencv
# (deploy/install-deps.sh --test).
find_program(RLSERVE_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT RLSERVE_PYTHON)
  find_program(RLSERVE_PYTHON NAMES python3 REQUIRED)
endif()
add_executable(py_helper python/py_helper.c)
target_link_libraries(py_helper PRIVATE rlalgo rlenvs rlcommon)
set(PY_TEST_ENV "PYTHONPATH=${PROJECT_BINARY_DIR}/python:${CMAKE_CURRENT_SOURCE_DIR}/python"
    "RLSERVE_PYTHON=${RLSERVE_PYTHON}" "RLSERVE_BIN=$<TARGET_FILE:rlserve>"
    "RLSERVE_PY_HELPER=$<TARGET_FILE:py_helper>" "PYTHONDONTWRITEBYTECODE=1")
add_test(NAME test_py_codec
         COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_codec.py $<TARGET_FILE:py_helper>)
set_tests_properties(test_py_codec PROPERTIES LABELS unit TIMEOUT 120 ENVIRONMENT "${PY_TEST_ENV}")
add_test(NAME test_py_nstep_prio
         COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_nstep_prio.py $<TARGET_FILE:py_helper>)
set_tests_properties(test_py_nstep_prio PROPERTIES LABELS unit TIMEOUT 120 ENVIRONMENT "${PY_TEST_ENV}")
add_test(NAME test_py_eval_shares COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_eval_shares.py)
set_tests_properties(test_py_eval_shares PROPERTIES LABELS unit TIMEOUT 120 ENVIRONMENT "${PY_TEST_ENV}")
foreach(t py_cartpole py_mixed py_export_ddpg py_reconnect py_pendulum py_extenv py_extenv_faults
        py_apex py_extenv_export py_export_conv py_image_env)
  add_test(NAME it_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh)
  set_tests_properties(it_${t} PROPERTIES LABELS integration TIMEOUT 1200 RUN_SERIAL TRUE
                       ENVIRONMENT "${PY_TEST_ENV}")
endforeach()
add_test(NAME bench_py_worker COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/py_worker_throughput.sh)
set_tests_properties(bench_py_worker PROPERTIES LABELS bench TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "${PY_TEST_ENV}")
rl_test(test_export LABELS unit SOURCES test_export.c LIBS rlcli)
add_test(NAME it_py_fake_learner COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_fake_learner.py)
set_tests_properties(it_py_fake_learner PROPERTIES LABELS "integration;security" TIMEOUT 120
                     ENVIRONMENT "${PY_TEST_ENV}")
add_test(NAME it_py_extenv_hostile
         COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_extenv_hostile.py)
set_tests_properties(it_py_extenv_hostile PROPERTIES LABELS "integration;security" TIMEOUT 300
                     ENVIRONMENT "${PY_TEST_ENV}")
rl_test(test_spaces_ckpt LABELS unit SOURCES test_spaces_ckpt.c LIBS rlcli)
add_test(NAME test_py_mutate COMMAND ${RLSERVE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/test_py_mutate.py)
set_tests_properties(test_py_mutate PROPERTIES LABELS "unit;security" TIMEOUT 300 ENVIRONMENT "${PY_TEST_ENV}")
