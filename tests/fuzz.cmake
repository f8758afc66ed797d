# libFuzzer targets for the codecs, the config parser and the status socket (ctest label
# fuzz). Only with -DRLSERVE_FUZZ=ON and CC=clang; leave RLSERVE_SANITIZE empty, the fuzzer
# flags are set per target here. The sources under test are compiled into each target
# (rather than linking rlcommon) so they carry the coverage instrumentation libFuzzer needs.
# Each ctest runs its target for a bounded time on a copy of tests/fuzz/corpus/<target> in
# the build tree (the source tree is never written); new inputs and crash files land in the
# build tree.
if(NOT RLSERVE_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "RLSERVE_FUZZ needs clang: configure with CC=clang")
endif()

set(RLSERVE_FUZZ_TIME 15 CACHE STRING "Seconds each fuzz ctest runs its target")
set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
               -fno-omit-frame-pointer -g)
set(FUZZ_CODEC_SRC ${PROJECT_SOURCE_DIR}/common/frame.c ${PROJECT_SOURCE_DIR}/common/wire.c
                   ${PROJECT_SOURCE_DIR}/common/tbatch.c ${PROJECT_SOURCE_DIR}/common/obsbits.c)

# fuzz_config: config.c with its own copy of the embedded presets (common/ generates the
# library's; a custom command output is not visible across directories).
set(FUZZ_PRESETS_C ${CMAKE_CURRENT_BINARY_DIR}/fuzz_presets_embed.c)
file(GLOB FUZZ_PRESET_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/presets/*.conf)
add_custom_command(OUTPUT ${FUZZ_PRESETS_C}
  COMMAND ${CMAKE_COMMAND} -DPRESET_DIR=${PROJECT_SOURCE_DIR}/deploy/presets -DOUT=${FUZZ_PRESETS_C}
          -P ${PROJECT_SOURCE_DIR}/common/embed_presets.cmake
  DEPENDS ${FUZZ_PRESET_FILES} ${PROJECT_SOURCE_DIR}/common/embed_presets.cmake
  COMMENT "Embedding presets for fuzz_config")
# fuzz_http: the status socket (as tests/status.cmake builds it for test_status_http) with its
# own copy of the embedded dashboard; rlcommon only supplies the logger.
set(FUZZ_DASHBOARD_C ${CMAKE_CURRENT_BINARY_DIR}/fuzz_dashboard_html.c)
add_custom_command(OUTPUT ${FUZZ_DASHBOARD_C}
  COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/server/status/dashboard.html
          -DOUT=${FUZZ_DASHBOARD_C} -DNAME=status_dashboard_html
          -P ${PROJECT_SOURCE_DIR}/server/status/embed.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/server/status/dashboard.html ${PROJECT_SOURCE_DIR}/server/status/embed.cmake
  COMMENT "Embedding dashboard.html for fuzz_http")

set(FUZZ_SRC_fuzz_frame ${FUZZ_CODEC_SRC})
set(FUZZ_SRC_fuzz_wire ${FUZZ_CODEC_SRC})
set(FUZZ_SRC_fuzz_tbatch ${FUZZ_CODEC_SRC})
# config_validate parses `net` with nn.c's spec parser (nn.c brings gemm, gemm512/256, tpool, rng).
set(FUZZ_SRC_fuzz_config ${PROJECT_SOURCE_DIR}/common/config.c ${FUZZ_PRESETS_C}
    ${PROJECT_SOURCE_DIR}/common/nn.c ${PROJECT_SOURCE_DIR}/common/gemm.c
    ${PROJECT_SOURCE_DIR}/common/gemm512.c ${PROJECT_SOURCE_DIR}/common/gemm256.c
    ${PROJECT_SOURCE_DIR}/common/tpool.c ${PROJECT_SOURCE_DIR}/common/rng.c)
set(FUZZ_SRC_fuzz_http ${PROJECT_SOURCE_DIR}/server/status/status_http.c
    ${PROJECT_SOURCE_DIR}/server/status/history.c ${FUZZ_DASHBOARD_C})
set(FUZZ_LIBS_fuzz_frame rlproto PkgConfig::MSGPACK PkgConfig::SODIUM m)
set(FUZZ_LIBS_fuzz_wire rlproto PkgConfig::MSGPACK PkgConfig::SODIUM m)
set(FUZZ_LIBS_fuzz_tbatch rlproto PkgConfig::MSGPACK PkgConfig::SODIUM m)
set(FUZZ_LIBS_fuzz_config PkgConfig::BLAS Threads::Threads m)
set(FUZZ_LIBS_fuzz_http rlcommon PkgConfig::UV ${HTTP_PARSER_LIB})

foreach(t fuzz_frame fuzz_wire fuzz_tbatch fuzz_config fuzz_http)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${t}.c ${FUZZ_SRC_${t}})
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/common ${PROJECT_SOURCE_DIR}/server/status
                             ${HTTP_PARSER_INCLUDE})
  target_compile_options(${t} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${t} PRIVATE ${FUZZ_LIBS_${t}})

  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-run/${t})
  add_test(NAME ${t}
           COMMAND sh -c "rm -rf \"$1/corpus\" && mkdir -p \"$1/corpus\" && cp \"$2\"/* \"$1/corpus/\" && cd \"$1\" && exec \"$3\" -max_total_time=$4 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus"
                   sh ${work} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t} $<TARGET_FILE:${t}>
                   ${RLSERVE_FUZZ_TIME})
  math(EXPR fuzz_timeout "${RLSERVE_FUZZ_TIME} + 60")
  set_tests_properties(${t} PROPERTIES LABELS fuzz TIMEOUT ${fuzz_timeout})
endforeach()

# fuzz_export: the export path (checkpoint image -> export_policy_load -> ONNX / npz writers);
# the code under test is compiled into the target, the rest (config, algo rows, envs, nn) comes
# from the libraries.
add_executable(fuzz_export ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_export.c
               ${PROJECT_SOURCE_DIR}/server/cli/export_cmd.c
               ${PROJECT_SOURCE_DIR}/server/learner/spaces_ckpt.c
               ${PROJECT_SOURCE_DIR}/common/checkpoint.c)
target_compile_options(fuzz_export PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_export PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_export PRIVATE rlcli)
set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-run/fuzz_export)
add_test(NAME fuzz_export
         COMMAND sh -c "rm -rf \"$1/corpus\" && mkdir -p \"$1/corpus\" && cp \"$2\"/* \"$1/corpus/\" && cd \"$1\" && exec \"$3\" -max_total_time=$4 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus"
                 sh ${work} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/fuzz_export $<TARGET_FILE:fuzz_export>
                 ${RLSERVE_FUZZ_TIME})
set_tests_properties(fuzz_export PROPERTIES LABELS fuzz TIMEOUT ${fuzz_timeout})

# Regenerates the codec seed corpora: fuzz_gen_corpus tests/fuzz/corpus (the fuzz_config and
# fuzz_http seeds are plain text files kept as they are).
add_executable(fuzz_gen_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/gen_corpus.c ${FUZZ_CODEC_SRC}
               ${PROJECT_SOURCE_DIR}/server/learner/spaces_ckpt.c)
target_include_directories(fuzz_gen_corpus PRIVATE ${PROJECT_SOURCE_DIR}/common
                           ${PROJECT_SOURCE_DIR}/server/learner ${PROJECT_SOURCE_DIR}/envs)
target_link_libraries(fuzz_gen_corpus PRIVATE rlproto PkgConfig::MSGPACK PkgConfig::SODIUM m)
