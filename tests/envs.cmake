# envs: the env API, registry, env_vec and the random walk; envcheck against Gymnasium's
# test vectors (one ctest per file, running the real binary); the env throughput benchmark.
rl_test(test_envs LABELS unit SOURCES test_envs.c LIBS rlenvs rlcommon)

foreach(env CartPole-v1 MountainCar-v0 MountainCarContinuous-v0 Pendulum-v1 Acrobot-v1)
  add_test(NAME envcheck_${env}
           COMMAND rlserve envcheck ${RLSERVE_SHARED_DIR}/testdata/gym-classic/${env}.json)
  set_tests_properties(envcheck_${env} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# An unknown env_id must exit 2 with a message naming the id.
set(ENVCHECK_UNKNOWN_JSON ${CMAKE_CURRENT_BINARY_DIR}/envcheck_unknown_id.json)
file(WRITE ${ENVCHECK_UNKNOWN_JSON}
     "{\"env_id\": \"NoSuchEnv-v9\", \"gymnasium_version\": \"none\", \"trajectories\": []}\n")
add_test(NAME envcheck_unknown_id
         COMMAND sh -c "\"$0\" envcheck \"$1\" 2>&1; echo \"exit status $?\""
                 $<TARGET_FILE:rlserve> ${ENVCHECK_UNKNOWN_JSON})
set_tests_properties(envcheck_unknown_id PROPERTIES LABELS unit TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "unknown env id 'NoSuchEnv-v9'.*exit status 2")

# bench_envs fails when an env's step rate falls below its floor against a plain C loop of the
# same dynamics, or env_vec_step's per env against env_step (tests/bench/README.md).
rl_test(bench_envs LABELS bench SOURCES bench/bench_envs.c LIBS rlenvs rlcommon TIMEOUT 120)
set_tests_properties(bench_envs PROPERTIES RUN_SERIAL TRUE)
