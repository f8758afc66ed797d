# Ingest at scale: tests/bench/loadgen.c replays sealed CartPole and MinAtar batches over 1-256 connections
# against real learners with ingest_threads 1 and 2 (tests/bench/loadgen.sh starts and stops
# them); label bench only.
add_executable(loadgen bench/loadgen.c)
target_include_directories(loadgen PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(loadgen PRIVATE rlcommon)
add_test(NAME bench_ingest COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench/loadgen.sh
         $<TARGET_FILE:rlserve> $<TARGET_FILE:loadgen>)
set_tests_properties(bench_ingest PROPERTIES LABELS bench RUN_SERIAL TRUE TIMEOUT 900)
