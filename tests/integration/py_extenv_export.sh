#!/usr/bin/env bash
# Checkpoints of runs whose env lives in the workers (env = worker:ID): the learner stores the
# declared spaces (section "spaces"), so `rlserve export` rebuilds the policy. Two short runs
# with a token, fixed seeds and env-step budgets (solving is not the point):
#   DQN on worker:MyGridBits-v0 (tests/python/mygrid.py, a binary observation space: the worker
#   sends packed bits and the learner keeps them as bits), and DDPG on worker:Pendulum-v1
#   (tests/python/pendulum_py.py, continuous actions).
# For each: export ONNX and npz from policy.ckpt and from checkpoint.ckpt; record 1,000
# observations from greedy episodes with the Python worker's numpy forward
# (record_py_actions.py); the ONNX run with OpenCV's dnn and the npz with numpy choose the same
# actions (DQN: exact argmax; DDPG: within 1e-5; check_export.py). `rlserve eval` refuses such a
# checkpoint with exit 2 and prints the Python command; that command, run as printed, plays
# the episodes, and with the run's evaluation seeds it reproduces the learner's recorded mean.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
HERE=$(dirname "$0")
head -c 32 /dev/urandom | base64 >"$WORK/T"
chmod 600 "$WORK/T"

# run NAME PRESET FACTORY SETS...: a learner and two Python workers until the run ends.
run() {
  local name=$1 preset=$2 factory=$3
  shift 3
  "$RLSERVE" learner --preset "$preset" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
    --token-file "$WORK/T" --status off --out "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1 &
  local lp=$!
  PIDS+=("$lp")
  wait_for 20 test -s "$WORK/$name.port" || fail "$name: learner did not start"
  for i in 1 2; do
    "$PY" -m rlserve_worker --connect 127.0.0.1:"$(cat "$WORK/$name.port")" --token-file "$WORK/T" \
      --env "$factory" >"$WORK/$name.w$i.log" 2>&1 &
    PIDS+=($!)
  done
  wait_for 600 test -s "$WORK/$name/summary.json" || fail "$name: the run did not end"
  wait_for 30 bash -c "! kill -0 $lp 2>/dev/null" || fail "$name: the learner did not exit"
  wait "$lp"
  local rc=$?
  [ "$rc" -le 1 ] || fail "$name: learner exited $rc"
  [ -s "$WORK/$name/policy.ckpt" ] || fail "$name: no policy.ckpt"
}

# check NAME FACTORY TOL: exports, Python-forward recording, ONNX/npz comparison, eval path.
check() {
  local name=$1 factory=$2 tol=$3 d=$WORK/$1
  for f in policy checkpoint; do
    for fmt in onnx npz; do
      "$RLSERVE" export --checkpoint "$d/$f.ckpt" --token-file "$WORK/T" --format "$fmt" \
        --out "$d/$f.$fmt" >"$WORK/$name.export.out" 2>&1 || fail "$name: export $fmt of $f.ckpt: $(cat "$WORK/$name.export.out")"
    done
  done
  # checkpoint.ckpt (the latest weights, the DDPG critics after the actor) exports the same
  # network as policy.ckpt (the evaluated weights): a valid model with the same tensor shapes.
  "$PY" - "$d/policy.onnx" "$d/checkpoint.onnx" "$d/checkpoint.npz" <<'PY' || fail "$name: checkpoint.ckpt's export"
import sys
import numpy as np
import onnx
a, b = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])
onnx.checker.check_model(b, full_check=True)
shapes = lambda m: [(t.name, tuple(t.dims)) for t in m.graph.initializer]
assert shapes(a) == shapes(b), (shapes(a), shapes(b))
z = np.load(sys.argv[3])
assert sorted(k for k in z.files) == sorted(n for n, _ in shapes(b)), z.files
PY
  "$PY" "$HERE/../python/record_py_actions.py" "$d/policy.ckpt" "$WORK/T" "$factory" 1000 4242 \
    "$d/actions.bin" || fail "$name: recording with the Python forward"
  "$PY" "$HERE/../python/check_export.py" "$d/policy.onnx" "$d/policy.npz" "$d/actions.bin" "$tol" ||
    fail "$name: the exported policy does not act as the Python worker's forward"
  # rlserve eval cannot step a Python env: exit 2 and the command to use instead.
  "$RLSERVE" eval --checkpoint "$d/policy.ckpt" --token-file "$WORK/T" --episodes 20 --seed 77 \
    >"$WORK/$name.eval.out" 2>&1
  local rc=$?
  [ "$rc" -eq 2 ] || fail "$name: rlserve eval of a worker-env checkpoint exited $rc, expected 2"
  grep -q "lives in the workers" "$WORK/$name.eval.out" || fail "$name: eval message: $(cat "$WORK/$name.eval.out")"
  local cmd
  cmd=$(grep -o "python3 -m rlserve_worker.evaluate .*" "$WORK/$name.eval.out")
  [ "$cmd" = "python3 -m rlserve_worker.evaluate --checkpoint $d/policy.ckpt --token-file $WORK/T --env MODULE:FACTORY --episodes 20 --seed 77" ] ||
    fail "$name: eval printed '$cmd'"
  # The printed command as a user runs it (their own module:factory, Debian's python3).
  cmd=${cmd/MODULE:FACTORY/$factory}
  "$PY" ${cmd#python3 } --json >"$WORK/$name.pyeval.json" 2>"$WORK/$name.pyeval.err" ||
    fail "$name: the printed command failed: $(cat "$WORK/$name.pyeval.err")"
  "$PY" - "$WORK/$name.pyeval.json" <<'PY' || fail "$name: evaluate output"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["episodes"] == 20 and r["seed"] == 77 and len(r["returns"]) == 20, r
PY
  # The run's own reported evaluation, replayed on its seeds: the same mean.
  read -r first count mean < <("$PY" - "$d/policy.ckpt" "$WORK/T" <<'PY'
import sys
from rlserve_worker import ckpt
ev = dict(l.split(" = ") for l in ckpt.read(sys.argv[1], sys.argv[2])["eval"].decode().splitlines())
print(ev["seed_first"], ev["seed_count"], ev["mean"])
PY
)
  "$PY" -m rlserve_worker.evaluate --checkpoint "$d/policy.ckpt" --token-file "$WORK/T" --env "$factory" \
    --episodes "$count" --seed "$first" --json >"$WORK/$name.replay.json" || fail "$name: replaying the run's evaluation"
  "$PY" -c "import json,sys; m=json.load(open(sys.argv[1]))['mean']; w=float(sys.argv[2]); assert abs(m-w)<=1e-9*max(1,abs(w)), (m,w); print('$name: the run evaluated %.4f on seeds $first..+$count; replayed in Python: %.4f' % (w, m))" \
    "$WORK/$name.replay.json" "$mean" || fail "$name: the replayed evaluation differs from the run's"
  for p in onnx npz; do
    "$PY" -m rlserve_worker.evaluate --policy "$d/policy.$p" --env "$factory" --episodes "$count" \
      --seed "$first" --json >"$WORK/$name.$p.json" || fail "$name: evaluate --policy $p"
    "$PY" -c "import json,sys; a=json.load(open(sys.argv[1]))['mean']; b=json.load(open(sys.argv[2]))['mean']; assert abs(a-b)<=1e-9*max(1,abs(b)), (a,b)" \
      "$WORK/$name.$p.json" "$WORK/$name.replay.json" || fail "$name: evaluate --policy $p differs from --checkpoint"
  done
  echo "$name: exports of policy.ckpt and checkpoint.ckpt, the printed evaluate command and --policy onnx/npz agree"
}

run grid cartpole-dqn mygrid:MyGridBits --set env=worker:MyGridBits-v0 --set solve_threshold=-5 \
  --set env_steps_budget=6000 --set eval_interval=3000 --set eval_episodes=20 --set confirm_episodes=20 \
  --set hidden=64,64 --set eps_anneal_steps=3000 --set seed=1
grep -q "env MyGridBits-v0 declared by the first worker: obs 25 in \[0, 1\]\.\.\. (binary), actions 4" "$WORK/grid.log" ||
  fail "grid: the binary declaration is not logged: $(grep declared "$WORK/grid.log")"
for i in 1 2; do
  grep -q "first batch: .*observations as packed bits" "$WORK/grid.w$i.log" || fail "grid: worker $i sent no bits"
done
[ "$(json_field "$WORK/grid/summary.json" env_steps_total)" -ge 1000 ] || fail "grid: the bits batches were not ingested"
grep -qi "refus" "$WORK/grid.log" && fail "grid: the learner refused something: $(grep -i refus "$WORK/grid.log" | head -n 2)"
check grid mygrid:MyGridBits 0

run pend pendulum-ddpg pendulum_py:Pendulum --set env=worker:Pendulum-v1 --set solve_threshold=-200 \
  --set env_steps_budget=3000 --set eval_interval=1500 --set eval_episodes=3 --set confirm_episodes=3 \
  --set seed=1
check pend pendulum_py:Pendulum 1e-5
echo "PASS: worker-env checkpoints export (ONNX, npz) and act as the Python forward; eval points to the Python evaluator, which reproduces the run's evaluation"
end_test
