# Linear function approximation: features, gradient MC / TD(0) prediction on the random walk,
# semi-gradient Sarsa on MountainCar (fixed seeds, episode budgets).
rl_test(test_features LABELS unit SOURCES test_features.c LIBS rlcommon)
rl_test(test_linear LABELS unit SOURCES test_linear.c LIBS rlalgo)
