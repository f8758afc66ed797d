# Policy gradient: REINFORCE (+ baseline) on the short corridor, actor-critic on CartPole-v1
# (fixed seeds, episode budgets).
rl_test(test_pg LABELS unit SOURCES test_pg.c ../server/pg.c ../server/linear.c ../server/onpolicy.c LIBS rlenvs rlcommon)
target_include_directories(test_pg PRIVATE ${PROJECT_SOURCE_DIR}/server)
