#!/usr/bin/env bash
# Ape-X DQN (preset cartpole-apex: prioritized replay, 3-step returns built on the workers,
# initial priorities computed by the workers with their online and target copies, fixed
# per-actor epsilons) trained by two Python workers (python3 -m rlserve_worker, the pure-Python
# CartPole of tests/python/cartpole_py.py) to a confirmed greedy 475 within the preset's budget
# of 100,000 env steps (fixed seed, with a token). Each worker says it sends 3-step transitions
# with their discounts and priorities (the byte-level equality with the C worker's is
# test_py_nstep_prio's).
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
head -c 32 /dev/urandom | base64 >"$WORK/T"
chmod 600 "$WORK/T"
"$RLSERVE" learner --preset cartpole-apex --set seed=1 --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --token-file "$WORK/T" --status off --out "$WORK/run" >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
port=$(cat "$WORK/port")
for i in 1 2; do
  "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --token-file "$WORK/T" \
    --env cartpole_py:CartPole >"$WORK/pyworker$i.log" 2>&1 &
  PIDS+=($!)
done
# The learner ends the run itself: solved, or the env-step budget spent (bounded wait).
wait_for 1000 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
grep -E "confirmation|solved" "$WORK/learner.log" | tail -n 2
[ "$rc" -eq 0 ] || fail "learner exited $rc (1: budget spent without a confirmed 475)"
S="$WORK/run/summary.json"
[ "$(json_field "$S" solved)" = True ] || fail "summary.json: not solved"
[ "$(json_field "$S" preset)" = cartpole-apex ] || fail "summary.json: not the cartpole-apex preset"
steps=$(json_field "$S" env_steps)
[ "$steps" -le 100000 ] || fail "solved after $steps env steps, beyond the preset's budget"
for i in 1 2; do
  grep -q "welcomed as worker" "$WORK/pyworker$i.log" || fail "Python worker $i was not welcomed"
  grep -q "first batch: [0-9]* transitions, 3-step returns (disc), actor priorities (prio)" \
    "$WORK/pyworker$i.log" || fail "Python worker $i did not send 3-step transitions with priorities"
done
sent=$(grep -o "left: [^;]*; [0-9]* transitions" "$WORK/learner.log" | grep -o "[0-9]* transitions" | grep -vc "^0 ")
[ "$sent" -ge 2 ] || fail "expected both workers' transitions in the left: lines, saw $sent"
echo "solved at $steps env steps (eval $(json_field "$S" eval_mean), confirm $(json_field "$S" confirm_mean)) with two Python Ape-X actors"
echo "PASS: two Python workers (3-step returns, actor priorities) solved cartpole-apex"
end_test
