#!/usr/bin/env bash
# A DQN run with its network from config (net = fc:64,fc:64 over a hidden = 8 that must lose,
# dueling = 1) through a learner and one worker, separate processes on 127.0.0.1, for a small
# env-step budget on CartPole-v1: the worker is welcomed and acts with the dueling net, the
# learner trains, evaluates and ends by its budget; both checkpoints record the dueling layout;
# `rlserve eval` runs the saved policy; resuming with a config that reads the same floats as
# another network (tanh instead of relu) is refused naming both layouts. It checks that the run
# works, not that it solves.
. "$(dirname "$0")/lib.sh"
learner_up --set seed=2 --set net=fc:64,fc:64 --set dueling=1 --set hidden=8 \
  --set env_steps_budget=3000 --set learning_starts=500 --set samples_per_insert=4 \
  --set eval_interval=1000 --set eval_episodes=5 --set confirm_episodes=5 \
  --set solve_threshold=1e9 --set progress_interval_s=0.5 --status off
"$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w.log" 2>&1 &
PIDS+=("$!")
learner_done() { ! pid_running "$learner"; }
wait_for 300 learner_done || fail "the learner did not spend its 3000 env steps within 300 s"
wait "$learner"
rc=$?
[ "$rc" -eq 1 ] || fail "learner exited $rc (expected 1: budget spent)"
grep -q "welcomed as worker" "$WORK/w.log" || fail "the worker was not welcomed"
grep -q "first weights" "$WORK/w.log" || fail "the worker never received weights"
python3 - "$WORK/run/summary.json" <<'PY' || fail "summary.json: $(cat "$WORK/run/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["env_steps_total"] == 3000 and s["updates"] > 0 and s["evaluations"] >= 1
         and s["eval_mean"] is not None and s["eval_mean"] > 0 else 1)
PY
# The "layout" section of both files (common/checkpoint.h: 16-byte header, then name[16] |
# length u64 | data per section).
layout_of() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off = 16
while off < len(b) - 24:
    name = b[off:off + 16].rstrip(b"\0").decode(); n = struct.unpack("<Q", b[off + 16:off + 24])[0]
    if name == "layout":
        print(b[off + 24:off + 24 + n].decode()); break
    off += 24 + n
PY
}
want="in:4 fc:64:relu fc:64:relu dueling:2"
for f in checkpoint.ckpt policy.ckpt; do
  [ -s "$WORK/run/$f" ] || fail "no $f"
  got=$(layout_of "$WORK/run/$f")
  [ "$got" = "$want" ] || fail "$f records layout '$got', expected '$want'"
done
timeout 120 "$RLSERVE" eval --checkpoint "$WORK/run/policy.ckpt" --episodes 3 --seed 7 --json \
  >"$WORK/eval.out" 2>"$WORK/eval.log" || fail "rlserve eval failed: $(cat "$WORK/eval.log")"
grep -q '"episodes":3' "$WORK/eval.out" || fail "eval output: $(cat "$WORK/eval.out")"
timeout 60 "$RLSERVE" learner --resume "$WORK/run" --set activation=tanh --listen 127.0.0.1:0 \
  --status off >"$WORK/resume.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "resume with another activation exited $rc (expected 2)"
grep -q "network is '$want', this run's config .* builds 'in:4 fc:64:tanh fc:64:tanh dueling:2'" \
  "$WORK/resume.log" || fail "no clear layout message: $(cat "$WORK/resume.log")"
echo "PASS: dueling fc:64,fc:64 DQN ran 3000 env steps through learner + 1 worker," \
  "eval mean $(json_field "$WORK/run/summary.json" eval_mean); layout recorded and checked"
