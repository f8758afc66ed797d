# Hostile peers on the wire (issue "Hostile peers and hostile files"): the seal codec (unit),
# and hostile clients and fake learners against real processes on 127.0.0.1 (label security).
rl_test(test_seal LABELS unit SOURCES test_seal.c LIBS rlcommon)

add_executable(sechostile security/sechostile.c)
target_include_directories(sechostile PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}) # sock.h
target_link_libraries(sechostile PRIVATE rlcommon)
foreach(t fake_learner sealed listen preauth log_escape envs failing_sweep worker_preauth)
  add_test(NAME sec_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/security/${t}.sh)
  set_tests_properties(sec_${t} PROPERTIES LABELS security TIMEOUT 180 RUN_SERIAL TRUE
    ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>;RLSERVE_SECHOSTILE=$<TARGET_FILE:sechostile>")
endforeach()

# The cost of sealing on the ingest path (label bench only: ctest -L bench, or ./tests/bench_seal).
rl_test(bench_seal LABELS bench SOURCES bench/bench_seal.c LIBS rlcommon TIMEOUT 120)

# libFuzzer target for the seal opener (with -DRLSERVE_FUZZ=ON and clang; tests/fuzz.cmake,
# included before this file, sets FUZZ_FLAGS).
if(RLSERVE_FUZZ)
  add_executable(fuzz_seal ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_seal.c
                 ${PROJECT_SOURCE_DIR}/common/seal.c ${PROJECT_SOURCE_DIR}/common/frame.c)
  target_include_directories(fuzz_seal PRIVATE ${PROJECT_SOURCE_DIR}/common)
  target_compile_options(fuzz_seal PRIVATE ${FUZZ_FLAGS})
  target_link_options(fuzz_seal PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_seal PRIVATE PkgConfig::SODIUM)
  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-run/fuzz_seal)
  add_test(NAME fuzz_seal
           COMMAND sh -c "rm -rf \"$1/corpus\" && mkdir -p \"$1/corpus\" && cp \"$2\"/* \"$1/corpus/\" && cd \"$1\" && exec \"$3\" -max_total_time=$4 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus"
                   sh ${work} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/fuzz_seal $<TARGET_FILE:fuzz_seal>
                   ${RLSERVE_FUZZ_TIME})
  math(EXPR fuzz_seal_timeout "${RLSERVE_FUZZ_TIME} + 60")
  set_tests_properties(fuzz_seal PROPERTIES LABELS fuzz TIMEOUT ${fuzz_seal_timeout})
endif()
