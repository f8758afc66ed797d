#!/usr/bin/env bash
# `rlserve worker --envs K` with batches above the learner's credit_window used to wait forever:
# the learner refuses it at the handshake and the worker exits 3 with a message naming both.
. "$(dirname "$0")/../integration/lib.sh"
"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --set credit_window=256 \
  --listen 127.0.0.1:0 --port-file "$WORK/port" --status off >"$WORK/learner.log" 2>&1 &
PIDS+=("$!")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
timeout 20 "$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" --envs 300 \
  >"$WORK/worker.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "worker --envs 300 exited $rc, expected 3 (124: it hung)"
grep -q "envs make batches of 300 transitions, more than this learner's credit_window = 256" \
  "$WORK/worker.log" || fail "the worker's message does not name --envs and credit_window"
grep -q "credit_window" "$WORK/learner.log" || fail "the learner did not log the refusal"
echo "PASS: --envs above credit_window refused at the handshake with a message"
