# Policy gradient: REINFORCE (+ baseline) on the short corridor, actor-critic on CartPole-v1
# (fixed seeds, episode budgets).
rl_test(test_pg LABELS unit SOURCES test_pg.c LIBS rlcli)

# The issue's "done when" studies (30-100 runs each, rlserve study in-process): label bench.
foreach(b randomwalk mountaincar corridor cartpole)
  add_test(NAME bench_study_${b} COMMAND test_pg --bench ${b})
  set_tests_properties(bench_study_${b} PROPERTIES LABELS bench TIMEOUT 1200)
endforeach()
