#!/usr/bin/env bash
# `rlserve export` of the networks the MinAtar presets train: a conv trunk (net =
# conv:16x3x3,fc:128) and a dueling head. Three short runs, each a learner and one C worker on
# 127.0.0.1, fixed seed and env-step budget, no evaluation (solving is not the point; the weights
# are trained ones, not the init):
#   minatar-breakout-dqn   conv trunk, dense head
#   minatar-breakout-apex  conv trunk, dueling head (double DQN, 3-step, actor priorities)
#   cartpole-apex with dueling = true   a dense trunk with a dueling head
# For each, checkpoint.ckpt is exported as ONNX and npz; py_helper act records 1,000
# observations from greedy episodes of the C env with the C greedy actions and the C Q-values
# (common/nn.c's forward); check_export.py: the ONNX passes onnx.checker, OpenCV's dnn chooses
# the same action on all 1,000 and the npz rebuilt with numpy by the documented layout does too
# (but for float32 near-ties of the two best Q-values, counted), both within 1e-4 of the C
# Q-values relative to the row's largest |Q|, and rlserve_worker.portable (evaluate --policy)
# acts the same from both files.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
HELPER=${RLSERVE_PY_HELPER:?}
HERE=$(dirname "$0")

# run NAME PRESET SETS...: a learner and one C worker until the budget is spent.
run() {
  local name=$1 preset=$2
  shift 2
  "$RLSERVE" learner --preset "$preset" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
    --status off --out "$WORK/$name" --set seed=1 --set eval_interval=0 --set solve_threshold=1e9 \
    "$@" >"$WORK/$name.log" 2>&1 &
  local lp=$!
  PIDS+=("$lp")
  wait_for 20 test -s "$WORK/$name.port" || fail "$name: learner did not start"
  "$RLSERVE" worker --connect 127.0.0.1:"$(cat "$WORK/$name.port")" \
    >"$WORK/$name.w.log" 2>&1 &
  local wp=$!
  PIDS+=("$wp")
  wait_for 600 test -s "$WORK/$name/summary.json" || fail "$name: the run did not end in 600 s"
  wait_for 30 bash -c "! kill -0 $lp 2>/dev/null" || fail "$name: the learner did not exit"
  wait "$lp"
  local rc=$?
  [ "$rc" -le 1 ] || fail "$name: learner exited $rc"
  kill -TERM "$wp" 2>/dev/null
  wait_for 10 bash -c "! kill -0 $wp 2>/dev/null" || fail "$name: the worker did not stop"
  [ -s "$WORK/$name/checkpoint.ckpt" ] || fail "$name: no checkpoint.ckpt"
  local updates
  updates=$(json_field "$WORK/$name/summary.json" updates | cut -d. -f1)
  [ "$updates" -ge 100 ] || fail "$name: only $updates updates: the weights are not trained ones"
  echo "$name: run ended at $(json_field "$WORK/$name/summary.json" env_steps) env steps," \
    "$updates updates"
}

# check NAME: export both formats, record the C policy, compare.
check() {
  local name=$1 d=$WORK/$1
  for fmt in onnx npz; do
    "$RLSERVE" export --checkpoint "$d/checkpoint.ckpt" --format "$fmt" --out "$d/policy.$fmt" \
      >"$WORK/$name.export.out" 2>&1 || fail "$name: export $fmt: $(cat "$WORK/$name.export.out")"
    cat "$WORK/$name.export.out"
  done
  "$HELPER" act "$d/checkpoint.ckpt" - 1000 4242 "$d/actions.bin" || fail "$name: recording"
  "$PY" "$HERE/../python/check_export.py" "$d/policy.onnx" "$d/policy.npz" "$d/actions.bin" 0 ||
    fail "$name: the exported policy does not act as the C policy"
}

run breakout-dqn minatar-breakout-dqn --set env_steps_budget=4000 --set learning_starts=500 \
  --set samples_per_insert=8 --set target_update_interval=100
check breakout-dqn
run breakout-apex minatar-breakout-apex --set env_steps_budget=4000 --set learning_starts=500 \
  --set samples_per_insert=8 --set target_update_interval=100
check breakout-apex
run cartpole-dueling cartpole-apex --set dueling=true --set env_steps_budget=4000 \
  --set learning_starts=500
check cartpole-dueling
echo "PASS: conv and dueling networks export to ONNX and npz that act as the C policy"
end_test
