#!/usr/bin/env bash
# The learner runs Corridor-v0 from its env plugin. A worker given another build of that
# plugin (same env id, other bytes) is refused with a message naming both SHA-256 hashes; a
# worker given no plugin is refused with a message saying it needs --env-plugin; a worker
# given the same library is welcomed and steps.
. "$(dirname "$0")/lib_sec.sh"
plugin=${RLSERVE_PLUGIN:?} other=${RLSERVE_PLUGIN_OTHER:?}
h_ours=$(sha256sum "$plugin" | cut -d' ' -f1) h_other=$(sha256sum "$other" | cut -d' ' -f1)
[ "$h_ours" != "$h_other" ] || fail "the two builds have the same hash: the test cannot tell them apart"
"$RLSERVE" learner --preset cartpole-dqn --set env_plugin="$plugin" --set env=Corridor-v0 \
  --set hidden=16 --set eval_interval=0 --token-file "$TOKEN" --listen 127.0.0.1:0 \
  --port-file "$WORK/port" --status off >"$WORK/learner.log" 2>&1 &
PIDS+=("$!")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
addr=127.0.0.1:$(cat "$WORK/port")
timeout 20 "$RLSERVE" worker --connect "$addr" --token-file "$TOKEN" --env-plugin "$other" \
  >"$WORK/other.log" 2>&1
rc=$?
[ "$rc" -ne 124 ] || fail "the worker with another build did not stop"
grep -q "$h_ours" "$WORK/other.log" && grep -q "$h_other" "$WORK/other.log" ||
  fail "the refusal does not name both hashes ($h_ours, $h_other): $(grep -i plugin "$WORK/other.log")"
timeout 20 "$RLSERVE" worker --connect "$addr" --token-file "$TOKEN" >"$WORK/none.log" 2>&1
rc=$?
[ "$rc" -ne 124 ] || fail "the worker without a plugin did not stop"
grep -q -- "--env-plugin" "$WORK/none.log" && grep -q "$h_ours" "$WORK/none.log" ||
  fail "the refusal of a worker without a plugin: $(tail -n 3 "$WORK/none.log")"
"$RLSERVE" worker --connect "$addr" --token-file "$TOKEN" --env-plugin "$plugin" >"$WORK/same.log" 2>&1 &
PIDS+=("$!")
wait_for 20 grep -q "first weights" "$WORK/same.log" || fail "the worker with the same plugin was not welcomed"
echo "PASS: another build refused naming $h_ours and $h_other; no plugin refused; the same library welcomed"
