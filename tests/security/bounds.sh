#!/usr/bin/env bash
# A token-holding client sends transitions the env could never produce: an observation past
# CartPole's declared bound (obs[0] = 100, bound 4.8) and a reward outside its range (5, range
# [0, 1]). Each batch is refused at ingest with an Error naming the value, nothing reaches
# replay, and the learner keeps running.
. "$(dirname "$0")/lib_sec.sh"
"$RLSERVE" learner --preset cartpole-dqn --token-file "$TOKEN" --set eval_interval=0 \
  --set progress_interval_s=0.2 --listen 127.0.0.1:0 --port-file "$WORK/port" --status off \
  --out "$WORK/run" ${RLSERVE_LEARNER_ARGS:-} >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
"$HOSTILE" oob 127.0.0.1 "$(cat "$WORK/port")" "$TOKEN" || fail "an out-of-bounds batch was not refused"
kill -0 "$learner" 2>/dev/null || fail "the learner died"
grep -q "obs\[0\] = 100 is outside CartPole-v1's bounds" "$WORK/learner.log" || fail "the refusal was not logged"
sleep 0.5
[ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -eq 0 ] || fail "replay took out-of-bounds transitions"
echo "PASS: out-of-bounds observation and reward refused at ingest, naming the value"
