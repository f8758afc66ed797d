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
# Resuming from a checkpoint whose spaces section is damaged, or declares other spaces than the
# first worker, is refused by name (exit 2).
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
assert sorted(k for k in z.files if k != "layout") == sorted(n for n, _ in shapes(b)), z.files
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

# Resuming the grid run from a checkpoint whose spaces section was altered (and re-signed with
# the run's token, so only the section is wrong): a damaged section is refused by name, spaces
# other than the first worker declares are refused naming both; the learner exits 2.
for what in damaged other; do
  cp -r "$WORK/grid" "$WORK/grid-$what"
  rm -f "$WORK/grid-$what/checkpoint.prev.ckpt"
  "$PY" - "$WORK/grid-$what/checkpoint.ckpt" "$WORK/T" "$what" <<'PY' || fail "re-signing"
import hashlib, struct, sys
from rlserve_worker import ckpt
path, token, what = sys.argv[1:4]
sec = ckpt.read(path, token)
sp = bytearray(sec["spaces"])
obs = 14 + struct.unpack_from("<H", sp, 12)[0]
if what == "damaged":
    sp[obs:obs + 4] = struct.pack("<I", 0)                 # obs_dim 0
else:
    sp[obs + 21 + 8 + 1:obs + 21 + 8 + 5] = struct.pack("<I", 5)  # 5 actions instead of 4
sec["spaces"] = bytes(sp)
out = b"RLSVCKPT" + struct.pack("<II", 2, len(sec))
for name, data in sec.items():
    out += name.encode().ljust(16, b"\0") + struct.pack("<Q", len(data)) + data
out += hashlib.blake2b(out, digest_size=32, key=ckpt.key_for_token(token)).digest()
open(path, "wb").write(out)
PY
  "$RLSERVE" learner --resume "$WORK/grid-$what" --listen 127.0.0.1:0 --port-file "$WORK/$what.port" \
    --token-file "$WORK/T" --status off >"$WORK/resume-$what.log" 2>&1 &
  lp=$!
  PIDS+=("$lp")
  wait_for 20 test -s "$WORK/$what.port" || fail "resume $what: learner did not start"
  "$PY" -m rlserve_worker --connect 127.0.0.1:"$(cat "$WORK/$what.port")" --token-file "$WORK/T" \
    --env mygrid:MyGridBits >"$WORK/resume-$what.w.log" 2>&1 &
  PIDS+=($!)
  wait_for 60 bash -c "! kill -0 $lp 2>/dev/null" || fail "resume $what: the learner did not stop"
  wait "$lp"
  rc=$?
  [ "$rc" -eq 2 ] || fail "resume $what: learner exited $rc, expected 2"
  if [ "$what" = damaged ]; then
    want="section spaces refused: spaces: obs_dim 0 outside 1..1000"
  else
    want="the checkpoint's env MyGridBits-v0 was declared with other spaces (obs 25, actions 5) than this run's first worker declared for MyGridBits-v0 (obs 25, actions 4)"
  fi
  grep -qF "$want" "$WORK/resume-$what.log" || fail "resume $what: no '$want' in $(grep -i "spaces\|cannot\|error" "$WORK/resume-$what.log" | head -n 3)"
  echo "resume $what: refused ($want)"
done

run pend pendulum-ddpg pendulum_py:Pendulum --set env=worker:Pendulum-v1 --set solve_threshold=-200 \
  --set env_steps_budget=3000 --set eval_interval=1500 --set eval_episodes=3 --set confirm_episodes=3 \
  --set seed=1
check pend pendulum_py:Pendulum 1e-5
echo "PASS: worker-env checkpoints export (ONNX, npz) and act as the Python forward; eval points to the Python evaluator, which reproduces the run's evaluation"
end_test
