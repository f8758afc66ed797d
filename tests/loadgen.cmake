# Ingest at scale: tests/bench/loadgen.c replays sealed CartPole batches over 1-256 connections
# against a real learner (tests/bench/loadgen.sh starts and stops it); label bench only.
add_executable(loadgen bench/loadgen.c)
target_include_directories(loadgen PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(loadgen PRIVATE rlcommon)
add_test(NAME bench_ingest COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench/loadgen.sh
         $<TARGET_FILE:rlserve> $<TARGET_FILE:loadgen>)
set_tests_properties(bench_ingest PROPERTIES LABELS bench RUN_SERIAL TRUE TIMEOUT 300)
