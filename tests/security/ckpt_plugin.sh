#!/usr/bin/env bash
# Crafted checkpoints that name a library (env_plugin = a path that writes a marker file when
# loaded): `rlserve eval` and `rlserve learner --resume` refuse them unless the command line
# names a plugin (--env-plugin), and load only that one; the marker never appears.
. "$(dirname "$0")/lib_sec.sh"
export RLSERVE_MARKER=$WORK/marker
ckpt=$(dirname "$0")/ckpt.py
cfg="text:env = Corridor-v0\nenv_plugin = $RLSERVE_MARKER_PLUGIN\nalgo = dqn\nhidden = 16\n"
python3 "$ckpt" "$WORK/policy.ckpt" "config=$cfg" "online=zeros:82" "eval=text:mean = 0\n"
"$RLSERVE" eval --checkpoint "$WORK/policy.ckpt" --episodes 2 >"$WORK/eval.log" 2>&1
rc=$?
[ -e "$RLSERVE_MARKER" ] && fail "rlserve eval loaded the library the checkpoint named"
[ "$rc" -ne 0 ] || fail "rlserve eval accepted a checkpoint naming a plugin without --env-plugin"
grep -q -- "--env-plugin" "$WORK/eval.log" || fail "eval's refusal: $(cat "$WORK/eval.log")"
"$RLSERVE" eval --checkpoint "$WORK/policy.ckpt" --episodes 2 --env-plugin "${RLSERVE_PLUGIN:?}" \
  >"$WORK/eval2.log" 2>&1 || fail "eval with --env-plugin failed: $(cat "$WORK/eval2.log")"
[ -e "$RLSERVE_MARKER" ] && fail "eval --env-plugin still loaded the checkpoint's library"
mkdir -p "$WORK/run"
python3 "$ckpt" "$WORK/run/checkpoint.ckpt" "config=$cfg" "counters=u64:0,0,0,0"
"$RLSERVE" learner --resume "$WORK/run" --listen 127.0.0.1:0 --status off >"$WORK/resume.log" 2>&1 &
learner=$!
PIDS+=("$learner")
for _ in $(seq 100); do kill -0 "$learner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$learner" 2>/dev/null && fail "learner --resume started from a checkpoint naming a plugin"
wait "$learner"
rc=$?
[ -e "$RLSERVE_MARKER" ] && fail "learner --resume loaded the library the checkpoint named"
[ "$rc" -eq 2 ] || fail "learner --resume exited $rc, expected 2"
grep -q -- "--env-plugin" "$WORK/resume.log" || fail "resume's refusal: $(cat "$WORK/resume.log")"
echo "PASS: eval and learner --resume refused a checkpoint's plugin path; --env-plugin loads the user's"
