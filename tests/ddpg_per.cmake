# Ape-X DPG actor priorities (server/algo/ddpg.c): the worker-side |n-step TD error| of the ddpg
# and td3 rows equals the learner's on the same networks and transitions.
rl_test(test_ddpg_per LABELS unit SOURCES test_ddpg_per.c LIBS rlalgo TIMEOUT 60)
