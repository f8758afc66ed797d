#!/usr/bin/env bash
# Bad input to a live learner: truncated, oversized, unknown-type, other-version, garbage,
# wrong-dimension, NaN/Inf, bad-action and corrupt frames are each refused on their own
# connection with a logged reason, the learner keeps running, and replay receives only the
# one good batch sent afterwards (64 transitions).
. "$(dirname "$0")/lib.sh"
client=${RLSERVE_BADFRAMES:?}
"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --set progress_interval_s=0.2 \
  --listen 127.0.0.1:0 --port-file "$WORK/port" --status off --out "$WORK/run" \
  ${RLSERVE_LEARNER_ARGS:-} >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
"$client" 127.0.0.1 "$(cat "$WORK/port")" || fail "a bad frame was not refused"
kill -0 "$learner" 2>/dev/null || fail "the learner died"
got_64() { [ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -eq 64 ]; }
wait_for 10 got_64 || fail "replay holds $(last_metric "$WORK/run/metrics.jsonl" env_steps) transitions, expected exactly the good 64"
n=$(grep -c "closing the connection" "$WORK/learner.log")
[ "$n" -ge 8 ] || fail "only $n refusals logged"
echo "PASS: $n bad connections refused with a logged reason; only the good batch ingested"
