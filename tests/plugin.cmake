# plugin: user environments from shared libraries (envs/plugin.h), tested against the example
# plugin and its wrong-ABI twin built in envs/plugins, and libm as a library without the entry.
rl_test(test_plugin LABELS unit SOURCES test_plugin.c LIBS rlenvs rlcommon
        ARGS $<TARGET_FILE:rlserve_example_env> $<TARGET_FILE:rlserve_example_env_badabi>
             libm.so.6)
add_dependencies(test_plugin rlserve_example_env rlserve_example_env_badabi)
