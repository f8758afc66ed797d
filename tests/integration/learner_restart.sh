#!/usr/bin/env bash
# The learner is killed with SIGKILL mid-run and started again with --resume on the same
# address: the workers reconnect by themselves (backoff with jitter) and deliver what they
# queued in their bounded outbox meanwhile, the counters continue
# from the checkpoint, a corrupted newest checkpoint is refused in favour of the previous
# one, and the run still solves CartPole-v1 at the preset's threshold (greedy eval >= 475,
# confirmed on fresh seeds) within its step budget.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_learner() {
  "$RLSERVE" learner "$@" --listen "127.0.0.1:$port" --status off >>"$WORK/learner.log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
}
start_learner --preset cartpole-dqn --set seed=3 --set checkpoint_interval_s=0.5 \
  --set env_steps_budget=100000 --set eval_interval=0 \
  --set progress_interval_s=0.5 --out "$out"
for i in 1 2; do
  "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w$i.log" 2>&1 &
  PIDS+=("$!")
done
m=$out/metrics.jsonl
has_steps() { [ "$(last_metric "$m" env_steps)" -ge "$1" ]; }
wait_for 60 has_steps 6000 || fail "6000 env steps not reached"
wait_for 20 test -s "$out/checkpoint.prev.ckpt" || fail "no periodic checkpoints"
kill -KILL "$learner"
wait "$learner" 2>/dev/null
# Damage the newest checkpoint: resume must refuse it and use the previous one.
printf 'garbage' | dd of="$out/checkpoint.ckpt" bs=1 seek=200 conv=notrunc 2>/dev/null
saved=$(ckpt_env_steps "$out/checkpoint.prev.ckpt")
echo "previous checkpoint holds $saved env steps"
wait_for 10 grep -q "connection to the learner lost" "$WORK/w1.log" || fail "worker 1 did not notice"
start_learner --resume "$out" --set eval_interval=2000
wait_for 20 grep -q "refusing .*checkpoint.ckpt" "$WORK/learner.log" || fail "corrupt checkpoint not refused"
grep -q "resumed from .*checkpoint.prev.ckpt: $saved env steps" "$WORK/learner.log" ||
  fail "did not resume from the previous checkpoint at $saved env steps"
rejoined() { sed -n '/resumed from/,$p' "$WORK/learner.log" | grep -q "worker .* joined"; }
wait_for 30 rejoined || fail "no worker reconnected to the restarted learner"
# While the learner was away the workers kept stepping into their bounded outbox; the queued
# transitions go to the restarted learner first.
sent_queued() { grep -q "queued while the learner was away" "$WORK/w1.log" "$WORK/w2.log"; }
wait_for 30 sent_queued || fail "no worker delivered what it queued while the learner was away"
wait "$learner"
rc=$?
[ "$rc" -eq 0 ] || fail "resumed run ended with $rc (expected 0: solved)"
steps=$(json_field "$out/summary.json" env_steps)
[ "$steps" -gt "$saved" ] || fail "summary env_steps $steps does not continue from $saved"
python3 - "$out/summary.json" <<'PY' || fail "summary.json: $(cat "$out/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["solved"] and s["threshold"] == 475 and s["eval_mean"] >= 475
         and s["confirm_mean"] >= 475 and s["env_steps"] <= 100000 else 1)
PY
echo "PASS: learner killed, resumed from $saved env steps, solved at $steps" \
  "(eval $(json_field "$out/summary.json" eval_mean), confirmed $(json_field "$out/summary.json" confirm_mean))"
