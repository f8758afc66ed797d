#!/usr/bin/env bash
# A connection in the FAILING state (an Error frame queued behind weights the peer never reads)
# is swept: the learner drops it and releases its socket after idle_timeout_s instead of keeping
# it forever. Weights of 8 MiB a frame (hidden 1024,1024), above the 4 MiB a loopback socket
# buffers by default, with a peer that never reads keep that write (and the Error) pending.
. "$(dirname "$0")/../integration/lib.sh"
hostile=${RLSERVE_SECHOSTILE:?}
"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --set hidden=1024,1024 \
  --set idle_timeout_s=3 --set heartbeat_interval_s=0.5 --listen 127.0.0.1:0 \
  --port-file "$WORK/port" --status off >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
sockets() { find "/proc/$learner/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
base=$(sockets)
"$hostile" client 127.0.0.1 "$(cat "$WORK/port")" failing 14 >"$WORK/client.log" 2>&1 &
PIDS+=("$!")
wait_for 10 grep -q "closing the connection" "$WORK/learner.log" || fail "the bad frame was not refused"
[ "$(sockets)" -gt "$base" ] || fail "the failing connection is already gone (the test needs it stuck)"
released() { [ "$(sockets)" -le "$base" ]; }
wait_for 10 released || fail "the FAILING connection was never swept ($(sockets) sockets, $base before)"
grep -q "error frame was not taken" "$WORK/learner.log" || fail "the sweep is not logged"
echo "PASS: a FAILING connection that does not read is swept"
