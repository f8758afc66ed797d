#!/usr/bin/env bash
# A token-holding client streams finite but extreme transitions (+-3e38 in CartPole's
# unbounded velocity dims) for 5 s next to an honest worker: the learner keeps finite weights
# (the updates those batches poison are skipped, counted on /status and /metrics and logged),
# the honest worker keeps being fed weights it accepts (no reconnect loop) and its steps keep
# rising, and the periodic and final checkpoints hold only finite values.
. "$(dirname "$0")/lib_sec.sh"
learner_up --token-file "$TOKEN" --set eval_interval=0 --set checkpoint_interval_s=1 \
  --set env_steps_budget=100000000 --set progress_interval_s=0.5 --status 127.0.0.1:0
"$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$TOKEN" >"$WORK/worker.log" 2>&1 &
PIDS+=("$!")
m=$WORK/run/metrics.jsonl
has_steps() { [ "$(last_metric "$m" env_steps)" -ge "$1" ]; }
wait_for 60 has_steps 3000 || fail "3000 env steps not reached before the attack"
"$HOSTILE" poison 127.0.0.1 "$port" "$TOKEN" 5 || fail "the hostile client could not run"
after=$(last_metric "$m" env_steps)
kill -0 "$learner" 2>/dev/null || fail "the learner died"
wait_for 60 has_steps $((after + 3000)) || fail "training froze: env steps stuck near $after"
skipped=$(status_get "$sport" /status | python3 -c 'import json,sys; print(json.load(sys.stdin)["learner"]["updates_skipped"])') ||
  fail "no /status answer"
[ "$skipped" -gt 0 ] || fail "no update was skipped (updates_skipped = $skipped)"
status_get "$sport" /metrics | grep -q "^rlserve_updates_skipped_total $skipped\|^rlserve_updates_skipped_total [1-9]" ||
  fail "/metrics has no rlserve_updates_skipped_total"
grep -q "skipped" "$WORK/learner.log" || fail "the skipped updates were not logged"
if grep -q "connection to the learner lost" "$WORK/worker.log"; then
  fail "the honest worker lost its connection: $(grep -m1 'connection to the learner lost' "$WORK/worker.log")"
fi
# A periodic checkpoint written after the attack, then the final one.
sleep 2
ckpt_finite "$WORK/run/checkpoint.ckpt" || fail "a periodic checkpoint holds non-finite values"
kill -TERM "$learner"
for _ in $(seq 100); do kill -0 "$learner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$learner" 2>/dev/null && fail "the learner ignored SIGTERM"
ckpt_finite "$WORK/run/checkpoint.ckpt" || fail "the final checkpoint holds non-finite values"
echo "PASS: poison from a token holder: $skipped updates skipped, weights and checkpoints finite, the honest worker went on from $after to $(last_metric "$m" env_steps) env steps"
