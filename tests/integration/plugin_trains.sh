#!/usr/bin/env bash
# A user environment from a shared library (envs/rlserve_env_plugin.h): learner and workers
# load it from --set env_plugin=PATH, train DQN on it and reach its threshold within a step
# budget; a plugin built for another ABI version is refused with a clear message.
. "$(dirname "$0")/lib.sh"
plugin=${RLSERVE_PLUGIN:?RLSERVE_PLUGIN must name the example plugin}
bad=${RLSERVE_PLUGIN_BADABI:?}
"$RLSERVE" run --preset cartpole-dqn --workers 2 --seed 1 --set env_plugin="$plugin" \
  --set env=Corridor-v0 --set solve_threshold=nan --set env_steps_budget=50000 \
  --set hidden=64,64 --out "$WORK/run" >"$WORK/run.log" 2>&1
rc=$?
tail -n 2 "$WORK/run.log"
[ "$rc" -eq 0 ] || fail "training on the plugin env exited $rc"
grep -q "Corridor-v0" "$WORK/run/worker-0.log" || fail "worker did not run the plugin env"
"$RLSERVE" eval --checkpoint "$WORK/run/policy.ckpt" --env-plugin "$plugin" --token-file "$WORK/run/token" --json >"$WORK/eval.json" || fail "eval of the plugin policy failed"
"$RLSERVE" learner --set env_plugin="$bad" --set env=Corridor-v0 --listen 127.0.0.1:0 \
  --status off 2>"$WORK/bad.err"
rc=$?
[ "$rc" -eq 2 ] || fail "bad-ABI plugin: learner exited $rc, expected 2"
grep -q "ABI" "$WORK/bad.err" || fail "bad-ABI message: $(cat "$WORK/bad.err")"
echo "PASS: plugin env trained; bad ABI refused: $(cat "$WORK/bad.err")"
