# libFuzzer targets for the codecs (ctest label fuzz). Only with -DRLSERVE_FUZZ=ON and
# CC=clang; leave RLSERVE_SANITIZE empty, the fuzzer flags are set per target here.
# The codec sources are compiled into each target (rather than linking rlcommon) so they
# carry the coverage instrumentation libFuzzer needs. Each ctest runs its target for a
# bounded time on a copy of tests/fuzz/corpus/<target> in the build tree (the source tree
# is never written); new inputs and crash files land in the build tree.
if(NOT RLSERVE_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "RLSERVE_FUZZ needs clang: configure with CC=clang")
endif()

set(RLSERVE_FUZZ_TIME 20 CACHE STRING "Seconds each fuzz ctest runs its target")
set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
               -fno-omit-frame-pointer -g)
set(FUZZ_CODEC_SRC ${PROJECT_SOURCE_DIR}/common/frame.c ${PROJECT_SOURCE_DIR}/common/wire.c
                   ${PROJECT_SOURCE_DIR}/common/tbatch.c)

foreach(t fuzz_frame fuzz_wire fuzz_tbatch)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${t}.c ${FUZZ_CODEC_SRC})
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/common)
  target_compile_options(${t} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${t} PRIVATE rlproto PkgConfig::MSGPACK m)

  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-run/${t})
  add_test(NAME ${t}
           COMMAND sh -c "rm -rf \"$1/corpus\" && mkdir -p \"$1/corpus\" && cp \"$2\"/* \"$1/corpus/\" && cd \"$1\" && exec \"$3\" -max_total_time=$4 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus"
                   sh ${work} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t} $<TARGET_FILE:${t}>
                   ${RLSERVE_FUZZ_TIME})
  math(EXPR fuzz_timeout "${RLSERVE_FUZZ_TIME} + 60")
  set_tests_properties(${t} PROPERTIES LABELS fuzz TIMEOUT ${fuzz_timeout})
endforeach()

# Regenerates the seed corpora: fuzz_gen_corpus tests/fuzz/corpus
add_executable(fuzz_gen_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/gen_corpus.c ${FUZZ_CODEC_SRC})
target_include_directories(fuzz_gen_corpus PRIVATE ${PROJECT_SOURCE_DIR}/common)
target_link_libraries(fuzz_gen_corpus PRIVATE rlproto PkgConfig::MSGPACK m)
