#!/usr/bin/env bash
# A Python image env in an env = worker:ID run with a conv net: tests/python/imggrid.py's
# ImgGrid-v0 observes a (5, 5, 2) binary image; the Python workers declare obs_shape 5x5x2 in
# their Hello, the learner builds net = conv:8x3x3,fc:32 (with a dueling head) on it, and the
# workers build the same network for acting. A short run (fixed seed, 3,000 env steps, two Python
# workers, no evaluation); then:
#   the learner logged the declared image; checkpoint.ckpt's layout section is the conv net;
#   checkpoint.ckpt's spaces section carries the shape: `rlserve export` writes ONNX and npz
#   whose Q-network acts as the Python worker's own forward (record_py_actions.py) on 1,000
#   observations (check_export.py: OpenCV dnn, the npz through numpy, rlserve_worker.portable);
#   rlserve_worker.evaluate plays the same 20 greedy episodes from the checkpoint, the ONNX and
#   the npz;
#   a Hello whose obs_shape does not hold obs_dim, has other than 3 values or a zero is refused
#   with ERROR 409 naming the problem.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
HERE=$(dirname "$0")
"$RLSERVE" learner --preset cartpole-apex --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --status off --out "$WORK/run" --set env=worker:ImgGrid-v0 --set net=conv:8x3x3,fc:32 \
  --set dueling=true --set seed=2 --set env_steps_budget=3000 --set learning_starts=300 \
  --set eval_interval=0 --set solve_threshold=1e9 >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
port=$(cat "$WORK/port")
for i in 1 2; do
  "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env imggrid:ImgGrid \
    >"$WORK/pyworker$i.log" 2>&1 &
  PIDS+=($!)
done
wait_for 600 test -s "$WORK/run/summary.json" || fail "the run did not end in 600 s"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
[ "$rc" -le 1 ] || fail "learner exited $rc"
grep -q "declared by the first worker: obs 50 in \[0, 1\]... (binary) (image 5x5x2)" "$WORK/learner.log" ||
  fail "the learner did not log the declared image: $(grep declared "$WORK/learner.log")"
"$PY" - "$WORK/run/checkpoint.ckpt" <<'PY' || fail "checkpoint.ckpt's layout section"
import sys
from rlserve_worker import ckpt
lay = ckpt.read(sys.argv[1], None)["layout"].decode()
print("checkpoint layout:", lay)
assert lay == "in:5x5x2 conv:8x3x3:relu flatten fc:32:relu dueling:4", lay
PY
updates=$(json_field "$WORK/run/summary.json" updates | cut -d. -f1)
[ "$updates" -ge 100 ] || fail "only $updates updates"
grep -q "welcomed as worker" "$WORK/pyworker1.log" || fail "Python worker 1 was not welcomed"
for fmt in onnx npz; do
  "$RLSERVE" export --checkpoint "$WORK/run/checkpoint.ckpt" --format "$fmt" \
    --out "$WORK/policy.$fmt" || fail "export $fmt"
done
"$PY" - "$WORK/policy.npz" <<'PY' || fail "the npz does not hold the conv layout"
import sys
import numpy as np
z = np.load(sys.argv[1])
print("npz layout:", str(z["layout"]))
assert str(z["layout"]).startswith("in:5x5x2 conv:8x3x3:relu flatten fc:32:relu dueling:4"), str(z["layout"])
assert z["layer0.weight"].shape == (8, 2, 3, 3), z["layer0.weight"].shape
PY
"$PY" "$HERE/../python/record_py_actions.py" "$WORK/run/checkpoint.ckpt" - imggrid:ImgGrid 1000 4242 \
  "$WORK/actions.bin" || fail "recording with the Python forward"
"$PY" "$HERE/../python/check_export.py" "$WORK/policy.onnx" "$WORK/policy.npz" "$WORK/actions.bin" 0 ||
  fail "the exported policy does not act as the Python worker's forward"
# rlserve_worker.evaluate plays the same greedy episodes from the checkpoint and from both
# exported files (the image flattened as the worker sends it).
for src in "--checkpoint $WORK/run/checkpoint.ckpt" "--policy $WORK/policy.onnx" "--policy $WORK/policy.npz"; do
  "$PY" -m rlserve_worker.evaluate $src --env imggrid:ImgGrid --episodes 20 --seed 500 --json \
    >"$WORK/eval.${src##*.}.json" 2>"$WORK/eval.err" || fail "evaluate $src: $(cat "$WORK/eval.err")"
done
"$PY" - "$WORK/eval.ckpt.json" "$WORK/eval.onnx.json" "$WORK/eval.npz.json" <<'PY' || fail "evaluate: the returns differ"
import json, sys
r = [json.load(open(p)) for p in sys.argv[1:]]
assert all(x["episodes"] == 20 and x["returns"] == r[0]["returns"] for x in r), [x["returns"] for x in r]
print("evaluate --checkpoint / --policy onnx / --policy npz: the same 20 returns, mean %.2f" % r[0]["mean"])
PY
# Bad obs_shapes in a Hello: refused with the reason (a fresh learner; one connection each).
"$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:0 --port-file "$WORK/port2" \
  --status off --out "$WORK/run2" --set env=worker:ImgGrid-v0 --set net=conv:8x3x3,fc:32 \
  --set env_steps_budget=1000 >"$WORK/learner2.log" 2>&1 &
l2=$!
PIDS+=("$l2")
wait_for 20 test -s "$WORK/port2" || fail "learner 2 did not start"
"$PY" - "$(cat "$WORK/port2")" <<'PY' >"$WORK/badshape.out" 2>&1 || fail "bad shape: $(cat "$WORK/badshape.out")"
import select, socket, sys, time
import imggrid
from rlserve_worker import frame
from rlserve_worker.proto import pb
from rlserve_worker.spaces import EnvSpace
from rlserve_worker.worker import hello_payload
env = imggrid.ImgGrid()
space = EnvSpace("ImgGrid-v0", env.observation_space, env.action_space)
cases = [((5, 5, 3), "obs_shape 5x5x3 does not hold the 50 observation values"),
         ((50,), "obs_shape has 1 values; (H, W, C) or none expected"),
         ((0, 5, 10), "obs_shape 0x5x10: each in 1..")]


def refused(shape, want):
    space.obs_shape = shape
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(frame.encode(frame.HELLO, hello_payload(space, 1)))
    rd = frame.FrameReader(frame.MAX_PAYLOAD)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if not select.select([s], [], [], 1)[0]:
            continue
        data = s.recv(1 << 16)
        if not data:
            break
        rd.feed(data)
        f = rd.next()
        if f is not None:
            assert f[0] == frame.ERROR, "expected an ERROR frame, got type %d" % f[0]
            e = pb.Error()
            e.ParseFromString(f[3])
            print("obs_shape %r refused: %d %s" % (shape, e.code, e.reason))
            assert want in e.reason, e.reason
            s.close()
            return
    sys.exit("obs_shape %r: no ERROR frame within 10 s" % (shape,))


for shape, want in cases:
    refused(shape, want)
PY
cat "$WORK/badshape.out"
echo "PASS: a Python image env trained a conv + dueling DQN (env = worker:ImgGrid-v0); its export acts as the Python forward"
end_test
