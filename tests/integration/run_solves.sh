#!/usr/bin/env bash
# `rlserve run` with a learner and 2 workers on 127.0.0.1 reaches greedy eval >= 195 on
# CartPole-v1 within a fixed env-step budget with a fixed seed (a step budget, not a time
# limit), writes the run folder, and `rlserve eval` reproduces the score from the checkpoint.
. "$(dirname "$0")/lib.sh"
out=$WORK/runs/nested/run   # a folder that does not exist yet: run creates it
"$RLSERVE" run --preset cartpole-dqn --workers 2 --seed 1 --set solve_threshold=195 \
  --set env_steps_budget=100000 --out "$out" >"$WORK/run.log" 2>&1 &
run_pid=$!
PIDS+=("$run_pid")
wait "$run_pid"
rc=$?
cat "$WORK/run.log" | tail -n 5
[ "$rc" -eq 0 ] || fail "rlserve run exited $rc (expected 0: solved)"
for f in run.conf config.conf metrics.jsonl checkpoint.ckpt policy.ckpt summary.json; do
  [ -s "$out/$f" ] || fail "run folder lacks $f"
done
[ "$(json_field "$out/summary.json" solved)" = True ] || fail "summary says not solved"
steps=$(json_field "$out/summary.json" env_steps)
mean=$(json_field "$out/summary.json" eval_mean)
python3 -c "import sys; sys.exit(0 if float('$mean') >= 195 and int('$steps') <= 100000 else 1)" ||
  fail "eval_mean $mean at $steps env steps"
for k in env_steps updates wall_seconds eval_mean eval_std; do
  json_field "$out/summary.json" $k >/dev/null || fail "summary.json lacks $k"
done
# The saved policy evaluates to the same greedy score (same seeds, deterministic).
"$RLSERVE" eval --checkpoint "$out/policy.ckpt" --token-file "$out/token" --json >"$WORK/eval.json" || fail "rlserve eval failed"
python3 - "$WORK/eval.json" "$mean" <<'PY' || fail "rlserve eval differs from the run's evaluation"
import json, sys
e = json.load(open(sys.argv[1])); m = float(sys.argv[2])
print("rlserve eval:", e)
sys.exit(0 if abs(e["mean"] - m) < 1e-6 and e["episodes"] == 100 else 1)
PY
# A corrupt checkpoint is refused with a message naming the problem.
cp "$out/policy.ckpt" "$WORK/bad.ckpt"
printf 'XX' | dd of="$WORK/bad.ckpt" bs=1 seek=100 conv=notrunc 2>/dev/null
"$RLSERVE" eval --checkpoint "$WORK/bad.ckpt" --token-file "$out/token" 2>"$WORK/bad.err" && fail "corrupt checkpoint accepted"
grep -q checksum "$WORK/bad.err" || fail "corrupt checkpoint message: $(cat "$WORK/bad.err")"
echo "PASS: solved at $steps env steps with greedy eval $mean"
