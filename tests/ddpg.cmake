# The DDPG/TD3 update core (server/algo/ddpg.c): gradient, Polyak, target and preset checks, and a
# deterministic single-process TD3 run on Pendulum-v1 (test_ddpg --learn: ~4 s in Release,
# ~30 s of CPU under ASan). `test_ddpg --run PRESET.conf SEED [STEPS]` is the tuning loop.
rl_test(test_ddpg LABELS unit SOURCES test_ddpg.c LIBS rlalgo TIMEOUT 600)
add_test(NAME test_ddpg_learn COMMAND test_ddpg --learn)
set_tests_properties(test_ddpg_learn PROPERTIES LABELS unit TIMEOUT 600)
# The DDPG/TD3 update split across the trainer's pool (ddpg.c par_*): T = 2, 3 against T = 1.
rl_test(test_ddpg_threads LABELS "unit;tsan" SOURCES test_ddpg_threads.c LIBS rlalgo)
