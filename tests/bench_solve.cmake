# The README's learning claims (label bench): rlserve run (the preset's workers) on seeds 1 2 3
# of each preset the README's Results tables report; each fails unless every seed solves at the
# README's threshold within its budget (tests/bench/solve_table.sh). Minutes each (the wall-time
# presets pendulum-ddpg, pendulum-td3, cartpole-dqn-fast: seconds): run serially.
set(RLSERVE_SOLVE_CLAIMS
    "cartpole:cartpole-dqn:900" "pendulum_ddpg:pendulum-ddpg:900"
    "pendulum_td3:pendulum-td3:1200" "mountaincarcontinuous_td3:mountaincarcontinuous-td3:1800"
    "cartpole_apex:cartpole-apex:900" "acrobot_apex:acrobot-apex:1800"
    "mountaincar_apex:mountaincar-apex:2400"
    "cartpole_fast:cartpole-dqn-fast:300" "pendulum_ddpg_zoo:pendulum-ddpg-zoo:900"
    "pendulum_td3_zoo:pendulum-td3-zoo:1200"
    "pendulum_apex_td3:pendulum-apex-td3:1200")
foreach(claim ${RLSERVE_SOLVE_CLAIMS})
  string(REPLACE ":" ";" f ${claim})
  list(GET f 0 name)
  list(GET f 1 preset)
  list(GET f 2 timeout)
  add_test(NAME bench_solve_${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/solve_table.sh ${preset} 1 2 3)
  set_tests_properties(bench_solve_${name} PROPERTIES LABELS bench TIMEOUT ${timeout} RUN_SERIAL TRUE
                       ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
# The Ape-X ablation (tests/bench/ablation.sh): its default subset, CartPole uniform vs
# prioritized x n_step 1 vs 3 x dueling 0 vs 1 at 2 workers over 5 seeds.
add_test(NAME bench_ablation COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/ablation.sh)
set_tests_properties(bench_ablation PROPERTIES LABELS bench TIMEOUT 3600 RUN_SERIAL TRUE
                     ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
# MinAtar's own PyTorch dqn.py against rlserve on the same MinAtar game, same machine, same
# updates per frame (tests/bench/minatar_peer.py). Needs python3-torch and a MinAtar checkout
# named by RLSERVE_MINATAR_DIR (MinAtar is not packaged by Debian): without them it fails
# with the reason, it never passes.
add_test(NAME bench_minatar_peer
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/bench/minatar_peer.py
                 --rlserve $<TARGET_FILE:rlserve>)
set_tests_properties(bench_minatar_peer PROPERTIES LABELS bench TIMEOUT 3600 RUN_SERIAL TRUE)
# The MinAtar returns table (tests/bench/minatar_table.sh): minatar-<game>-dqn, seed 1, 2 workers,
# to 0.5M, 1M and 2M frames (one run resumed at each mark), the confirmed greedy return at each;
# fails unless the README's claim holds at 2M. ~40 minutes each on 2 cores.
foreach(game asterix breakout freeway seaquest spaceinvaders)
  add_test(NAME bench_minatar_table_${game}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/minatar_table.sh ${game})
  set_tests_properties(bench_minatar_table_${game} PROPERTIES LABELS bench TIMEOUT 10800
                       RUN_SERIAL TRUE ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
