#!/usr/bin/env bash
# Token authentication: a learner started with --token-file sends each connection a fresh
# challenge; a worker without the token or with a wrong one gets an Error frame, is closed
# before any transition is accepted, and gives up (exit 3); the right token trains.
. "$(dirname "$0")/lib.sh"
head -c 32 /dev/urandom | base64 >"$WORK/token"
head -c 32 /dev/urandom | base64 >"$WORK/wrong"
learner_up --set eval_interval=0 --set progress_interval_s=0.5 --token-file "$WORK/token" \
  --status off
timeout 30 "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/none.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "worker without a token exited $rc, expected 3"
grep -q "requires a token" "$WORK/none.log" || fail "no clear message without a token"
timeout 30 "$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$WORK/wrong" >"$WORK/wrong.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "worker with a wrong token exited $rc, expected 3"
grep -q "wrong token" "$WORK/wrong.log" || fail "no clear message for a wrong token"
[ "$(grep -c 'authentication failed' "$WORK/learner.log")" -ge 2 ] || fail "learner did not log the refusals"
[ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -eq 0 ] || fail "transitions accepted before authentication"
! grep -q "$(cat "$WORK/token")" "$WORK"/*.log || fail "the token appears in a log"
"$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$WORK/token" >"$WORK/good.log" 2>&1 &
PIDS+=("$!")
has_steps() { [ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -ge 2000 ]; }
wait_for 30 has_steps || fail "the worker with the right token did not train"
echo "PASS: token authentication"
