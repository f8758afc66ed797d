#!/usr/bin/env bash
# A short `rlserve run` (learner + 2 workers, 8000 env steps, small evaluations) that must end
# by its budget with a summary and, in sanitizer builds, without a single sanitizer report in
# any process's log. Label tsan: the TSan build runs it to check the learner's threads.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
"$RLSERVE" run --preset cartpole-dqn --workers 2 --seed 1 --set env_steps_budget=8000 \
  --set eval_interval=2000 --set eval_episodes=10 --set solve_threshold=1e9 --out "$out" \
  >"$WORK/run.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait "$pid"
rc=$?
tail -n 3 "$WORK/run.log"
[ "$rc" -eq 1 ] || fail "rlserve run exited $rc (expected 1: budget spent)"
[ -s "$out/summary.json" ] || fail "no summary.json"
[ "$(json_field "$out/summary.json" env_steps_total)" = 8000 ] || fail "budget not honoured"
if grep -l "Sanitizer" "$out"/*.log; then fail "sanitizer reports above"; fi
echo "PASS: short run clean"
