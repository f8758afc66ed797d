#!/usr/bin/env bash
# A fake learner that does not prove the token: one that skips the challenge and sends a
# Welcome, Weights and Credit straight away (the attack that made a worker act before), one that
# challenges but never proves, and one whose proof is random bytes. A worker with a token refuses
# each with a message and exit 3, and never sends a transition or a Stats frame.
. "$(dirname "$0")/../integration/lib.sh"
hostile=${RLSERVE_SECHOSTILE:?}
head -c 32 /dev/urandom | base64 >"$WORK/token"
for mode in no-challenge no-proof bad-proof; do
  rm -f "$WORK/port"
  "$hostile" fake-learner "$WORK/port" "$mode" 8 >"$WORK/fake-$mode.log" 2>&1 &
  fake=$!
  PIDS+=("$fake")
  wait_for 10 test -s "$WORK/port" || fail "fake learner ($mode) did not start"
  timeout 20 "$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" \
    --token-file "$WORK/token" >"$WORK/worker-$mode.log" 2>&1
  rc=$?
  wait "$fake"
  frc=$?
  cat "$WORK/fake-$mode.log"
  [ "$frc" -eq 0 ] || fail "$mode: the worker acted on a learner that did not prove the token"
  [ "$rc" -eq 3 ] || fail "$mode: the worker exited $rc, expected 3"
  grep -q "refusing the learner at 127.0.0.1" "$WORK/worker-$mode.log" ||
    fail "$mode: no refusal message"
  ! grep -q "welcomed\|first weights" "$WORK/worker-$mode.log" ||
    fail "$mode: the worker took the fake Welcome or Weights"
done
echo "PASS: a worker with a token refuses a learner that does not prove it"
