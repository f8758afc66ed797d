#!/usr/bin/env bash
# `rlserve run` killed with SIGKILL (no chance to clean up): its learner and workers must exit
# within 5 s by themselves. Before the fix they ran on as orphans. The children are found by
# their parent PID, and anything left is stopped by PID on exit.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
"$RLSERVE" run --preset cartpole-dqn --workers 2 --out "$out" --set env_steps_budget=1000000000 \
  --set solve_threshold=1e9 --set eval_interval=0 >"$WORK/run.log" 2>&1 &
run=$!
PIDS+=("$run")
wait_for 30 test -s "$out/learner.port" || fail "the learner did not start"
three() { [ "$(children_of "$run" | wc -l)" -ge 3 ]; }
wait_for 20 three || fail "run has $(children_of "$run" | wc -l) children, expected 3"
kids=($(children_of "$run"))
PIDS+=("${kids[@]}")
wait_for 20 grep -q "first weights" "$out/worker-0.log" || fail "worker 0 got no weights"
kill -KILL "$run"
wait "$run" 2>/dev/null
all_gone() {
  local p
  for p in "${kids[@]}"; do pid_running "$p" && return 1; done
  return 0
}
if ! wait_for 5 all_gone; then
  left=""
  for p in "${kids[@]}"; do pid_running "$p" && left="$left $p($(tr '\0' ' ' </proc/$p/cmdline | cut -c1-40))"; done
  fail "5 s after SIGKILL of run, still running:$left"
fi
echo "PASS: SIGKILL of rlserve run: its ${#kids[@]} children (${kids[*]}) exited within 5 s"
