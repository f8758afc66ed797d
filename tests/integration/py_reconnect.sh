#!/usr/bin/env bash
# The Python worker rides out a learner that goes away: the learner is killed (SIGKILL) while
# the worker steps; the worker logs the loss, keeps acting into its bounded away queue, retries
# with backoff, and when a new learner listens on the same address it is welcomed again and its
# transitions reach the new learner.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
learner_up --status off --set eval_interval=0
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env cartpole_py:CartPole >"$WORK/pyworker.log" 2>&1 &
PIDS+=($!)
worker=$!
wait_for 30 grep -q "first weights" "$WORK/pyworker.log" || fail "the Python worker did not start stepping"
sleep 2
kill -KILL "$learner"
wait "$learner" 2>/dev/null
wait_for 30 grep -q "connection to the learner lost" "$WORK/pyworker.log" || fail "the worker did not notice"
sleep 2 # a few failed attempts, backing off
kill -0 "$worker" || fail "the worker exited while the learner was away"
"$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:"$port" --status off --set eval_interval=0 \
  --out "$WORK/run2" >"$WORK/learner2.log" 2>&1 &
learner2=$!
PIDS+=("$learner2")
wait_for 30 grep -q "joined from" "$WORK/learner2.log" || fail "the worker did not reconnect"
[ "$(grep -c "welcomed as worker" "$WORK/pyworker.log")" -ge 2 ] || fail "not welcomed twice"
steps=0
for _ in $(seq 100); do
  steps=$(last_metric "$WORK/run2/metrics.jsonl" env_steps)
  [ "${steps:-0}" -gt 0 ] && break
  sleep 0.2
done
[ "${steps:-0}" -gt 0 ] || fail "the new learner ingested nothing from the reconnected worker"
grep -E "lost|cannot reach|welcomed" "$WORK/pyworker.log" | sed 's/.*\] //' | head -n 4
echo "PASS: the Python worker reconnected to a new learner and sent it $steps transitions"
end_test
