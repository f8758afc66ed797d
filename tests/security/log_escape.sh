#!/usr/bin/env bash
# Remote strings are escaped before they reach the log: a worker's Error reason with a newline,
# a forged log line after it and a tab shows up on one line, escaped.
. "$(dirname "$0")/../integration/lib.sh"
hostile=${RLSERVE_SECHOSTILE:?}
"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --listen 127.0.0.1:0 \
  --port-file "$WORK/port" --status off >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
"$hostile" client 127.0.0.1 "$(cat "$WORK/port")" errnl
wait_for 5 grep -q "reports: bye" "$WORK/learner.log" || fail "the worker's reason was not logged"
! grep -q "^2099-01-01" "$WORK/learner.log" || fail "a forged log line got through"
grep -qF 'reports: bye\n2099-01-01T00:00:00.000Z ERROR net: forged line\tend' "$WORK/learner.log" ||
  fail "the reason is not escaped: $(grep -a 'reports' "$WORK/learner.log")"
echo "PASS: control characters in a remote reason are escaped in the log"
