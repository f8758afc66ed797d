# Distributed deployments on this machine (run as root): a real single-node Slurm cluster
# running deploy/slurm/rlserve.sbatch (label slurm) and three hosts in network namespaces
# with a 20 ms + 1% loss link and a link cut (label multihost). Each skips, saying so, only
# when not root or when its system tools are missing (deploy/install-deps.sh --test).
foreach(t slurm multihost)
  add_test(NAME it_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh)
  set_tests_properties(it_${t} PROPERTIES LABELS ${t} TIMEOUT 300 RUN_SERIAL TRUE
                       ENVIRONMENT "RLSERVE_BIN=$<TARGET_FILE:rlserve>")
endforeach()
