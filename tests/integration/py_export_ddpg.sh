#!/usr/bin/env bash
# `rlserve export` of a DDPG actor (pendulum-ddpg's network, random parameters with a large last
# layer so tanh saturates on some observations): the ONNX model passes onnx.checker and, run with
# OpenCV's dnn module, gives the C actor's actions (tanh scaled to the bounds) within 1e-5 on
# 1,000 observations of greedy Pendulum episodes; the npz arrays do too. Bad invocations get a
# clear message and exit 2.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
HELPER=${RLSERVE_PY_HELPER:?}
"$HELPER" mkckpt pendulum-ddpg 3 "$WORK/ddpg.ckpt" || fail "mkckpt"
"$RLSERVE" export --checkpoint "$WORK/ddpg.ckpt" --format onnx --out "$WORK/actor.onnx" || fail "export onnx"
"$RLSERVE" export --checkpoint "$WORK/ddpg.ckpt" --format npz --out "$WORK/actor.npz" || fail "export npz"
"$HELPER" act "$WORK/ddpg.ckpt" - 1000 99 "$WORK/actions.bin" || fail "recording"
"$PY" "$(dirname "$0")/../python/check_export.py" "$WORK/actor.onnx" "$WORK/actor.npz" \
  "$WORK/actions.bin" 1e-5 || fail "exported actor differs from the C actor"
bad() { # EXPECTED-TEXT ARGS...
  local want=$1; shift
  "$RLSERVE" export "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
  local rc=$?
  [ "$rc" -eq 2 ] || fail "export $*: exit $rc, expected 2"
  grep -q "$want" "$WORK/bad.err" || fail "export $*: message '$(cat "$WORK/bad.err")' lacks '$want'"
  echo "refused: $(head -n 1 "$WORK/bad.err")"
}
bad "expected onnx or npz" --checkpoint "$WORK/ddpg.ckpt" --format tflite --out "$WORK/x"
bad "required" --checkpoint "$WORK/ddpg.ckpt" --format onnx
bad "$WORK/missing.ckpt" --checkpoint "$WORK/missing.ckpt" --format onnx --out "$WORK/x"
head -c 100 /dev/urandom >"$WORK/garbage.ckpt"
bad "garbage.ckpt" --checkpoint "$WORK/garbage.ckpt" --format npz --out "$WORK/x"
[ ! -e "$WORK/x" ] || fail "a refused export left an output file"
echo "PASS: DDPG actor exported to ONNX and npz within 1e-5 of the C actor"
end_test
