#!/usr/bin/env bash
# A learner killed (SIGKILL) 6 s into `rlserve run` with the default checkpoint_interval_s (60):
# `rlserve run --resume` must resume from a checkpoint and train on. Before the fix the first
# checkpoint came after 60 s, so the run folder had none and --resume failed.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
t0=$SECONDS
"$RLSERVE" run --preset cartpole-dqn --workers 2 --out "$out" --set env_steps_budget=1000000000 \
  --set solve_threshold=1e9 --set eval_interval=0 --set eval_episodes=5 >"$WORK/run1.log" 2>&1 &
run=$!
PIDS+=("$run")
wait_for 30 test -s "$out/learner.port" || fail "the learner did not start"
learner=$(child_with_arg "$run" learner) || fail "no learner child of run $run"
PIDS+=("$learner")
while [ $((SECONDS - t0)) -lt 6 ]; do sleep 0.2; done
kill -KILL "$learner"
wait_for 20 eval '! pid_running "$run"' || fail "run did not end after its learner was killed"
wait "$run" 2>/dev/null
echo "learner killed $((SECONDS - t0)) s into the run; run folder: $(ls "$out" | tr '\n' ' ')"
[ -s "$out/checkpoint.ckpt" ] || fail "no checkpoint 6 s into the run"
saved=$(ckpt_env_steps "$out/checkpoint.ckpt")
[ -n "$saved" ] || fail "cannot read the checkpoint's counters"
budget=$((saved + 5000))
timeout 120 "$RLSERVE" run --resume "$out" --set env_steps_budget=$budget >"$WORK/run2.log" 2>&1
rc=$?
cat "$WORK/run2.log"
[ "$rc" -eq 1 ] || fail "run --resume exited $rc, expected 1 (budget of $budget env steps spent)"
grep -q "resumed from .*checkpoint.ckpt: $saved env steps" "$out/learner.log" ||
  fail "the learner did not resume from the checkpoint at $saved env steps"
total=$(json_field "$out/summary.json" env_steps_total)
[ "$total" -ge "$budget" ] || fail "summary env_steps_total $total < budget $budget"
echo "PASS: killed 6 s in, resumed from $saved env steps and trained on to $total"
