#!/usr/bin/env bash
# Two Python workers (python3 -m rlserve_worker) stepping a pure-Python CartPole
# (tests/python/cartpole_py.py) train the C learner's DQN to a confirmed greedy 475, with a
# token (mutual proofs, sealed frames), fixed seed and env-step budget. The solved policy is
# exported as ONNX and npz: the ONNX model passes onnx.checker, and OpenCV's dnn module and the
# npz arrays choose the same action as the C greedy policy (`rlserve eval`'s act_greedy) on
# 1,000 observations recorded from greedy episodes of the C env.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
HELPER=${RLSERVE_PY_HELPER:?}
head -c 32 /dev/urandom | base64 >"$WORK/T"
chmod 600 "$WORK/T"
learner_up --token-file "$WORK/T" --status off --set seed=1 --set env_steps_budget=100000
for i in 1 2; do
  "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --token-file "$WORK/T" \
    --env cartpole_py:CartPole >"$WORK/pyworker$i.log" 2>&1 &
  PIDS+=($!)
done
# The learner ends the run itself: solved, or the env-step budget spent (bounded wait).
wait_for 900 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
grep -E "confirmation|solved" "$WORK/learner.log" | tail -n 2
[ "$rc" -eq 0 ] || fail "learner exited $rc (1: budget spent without a confirmed 475)"
[ "$(json_field "$WORK/run/summary.json" solved)" = True ] || fail "summary.json: not solved"
n_py=$(grep -c "joined from .*:" "$WORK/learner.log")
[ "$n_py" -ge 2 ] || fail "expected two workers to join, saw $n_py"
grep -q "welcomed as worker" "$WORK/pyworker1.log" || fail "Python worker 1 was not welcomed"
grep -q "welcomed as worker" "$WORK/pyworker2.log" || fail "Python worker 2 was not welcomed"
sent=$(grep -o "left: [^;]*; [0-9]* transitions" "$WORK/learner.log" | grep -o "[0-9]* transitions" | grep -vc "^0 ")
[ "$sent" -ge 2 ] || fail "expected both workers' transitions in the left: lines, saw $sent"
echo "solved at $(json_field "$WORK/run/summary.json" env_steps) env steps with two Python workers"

"$RLSERVE" export --checkpoint "$WORK/run/policy.ckpt" --token-file "$WORK/T" --format onnx \
  --out "$WORK/policy.onnx" || fail "export onnx"
"$RLSERVE" export --checkpoint "$WORK/run/policy.ckpt" --token-file "$WORK/T" --format npz \
  --out "$WORK/policy.npz" || fail "export npz"
"$HELPER" act "$WORK/run/policy.ckpt" "$WORK/T" 1000 4242 "$WORK/actions.bin" || fail "recording"
"$PY" "$(dirname "$0")/../python/check_export.py" "$WORK/policy.onnx" "$WORK/policy.npz" \
  "$WORK/actions.bin" 0 || fail "the exported policy does not act as the C policy"
"$RLSERVE" eval --checkpoint "$WORK/run/policy.ckpt" --token-file "$WORK/T" --episodes 10 \
  || fail "rlserve eval of the policy"
echo "PASS: two Python workers solved CartPole; the ONNX/npz export acts as the C policy"
end_test
