# MinAtar (envs/minatar*.c, envs/npmt.c): the numpy stream, options and wrapper (test_minatar),
# and `rlserve envcheck` over MinAtar's own trajectories with every draw (one ctest per game,
# exact), and the frames/s benchmark (label bench).
rl_test(test_minatar LABELS unit SOURCES test_minatar.c LIBS rlenvs rlcommon)

foreach(game Asterix Breakout Freeway Seaquest SpaceInvaders)
  add_test(NAME envcheck_MinAtar_${game}
           COMMAND rlserve envcheck ${RLSERVE_SHARED_DIR}/testdata/minatar/${game}.json)
  set_tests_properties(envcheck_MinAtar_${game} PROPERTIES LABELS unit TIMEOUT 120
                       PASS_REGULAR_EXPRESSION "PASS MinAtar/${game}-v1")
endforeach()

# bench_minatar: frames/s per game (random policy), the ratio to MinAtar's Python figures as
# quoted (not measured here), asserted as frames/s over CartPole steps/s in the same run.
rl_test(bench_minatar LABELS bench SOURCES bench/bench_minatar.c LIBS rlenvs rlcommon TIMEOUT 120)
set_tests_properties(bench_minatar PROPERTIES RUN_SERIAL TRUE)
