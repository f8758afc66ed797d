#!/usr/bin/env bash
# Listen addresses: a --listen that does not resolve, has a port out of range or is not
# HOST:PORT exits 2 with a message naming it (never an abort); a bad --status address only
# costs the status socket; localhost:0 listens on loopback and a worker joins through
# localhost; a port already in use or an unwritable port file exits 2 after the status socket
# is up or the listener listens (the late error path, where the listener must be closed once).
. "$(dirname "$0")/lib.sh"

# expect_refused ADDR MESSAGE: `learner --listen ADDR` exits 2 and prints MESSAGE.
expect_refused() {
  local addr=$1 want=$2 rc
  timeout 30 "$RLSERVE" learner --preset cartpole-dqn --listen "$addr" --status off \
    >"$WORK/refused.log" 2>&1
  rc=$?
  [ "$rc" -eq 2 ] || fail "--listen '$addr' exited $rc, expected 2: $(cat "$WORK/refused.log")"
  grep -qF "rlserve learner: --listen $want" "$WORK/refused.log" ||
    fail "--listen '$addr': message '$(cat "$WORK/refused.log")' lacks '$want'"
}
expect_refused 999.1.1.1:80 "'999.1.1.1:80': host '999.1.1.1' does not resolve: "
expect_refused :99999 "':99999': port 99999 is outside 0..65535"
expect_refused abc "'abc': expected HOST:PORT"

"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --set progress_interval_s=0.5 \
  --listen localhost:0 --port-file "$WORK/port" --status :99999 --out "$WORK/run" \
  >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner on localhost:0 did not start"
port=$(cat "$WORK/port")
[ "$port" -gt 0 ] || fail "port file holds '$port'"
grep -q "listening on localhost:0 (port $port)" "$WORK/learner.log" || fail "no listening line"
grep -qF "status address ':99999': port 99999 is outside 0..65535 (continuing without it)" \
  "$WORK/learner.log" || fail "bad --status address not reported"
python3 - "$port" <<'PY' || fail "nothing listens on a loopback address at port $port"
import socket, sys
port = int(sys.argv[1])
for host in ("127.0.0.1", "::1"):
    try:
        socket.create_connection((host, port), timeout=2).close()
        sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
"$RLSERVE" worker --connect "localhost:$port" >"$WORK/w.log" 2>&1 &
PIDS+=("$!")
wait_for 20 grep -q "joined from" "$WORK/learner.log" || fail "the worker did not join via localhost"
kill -0 "$learner" 2>/dev/null || fail "the learner died"

# The same address again: the status socket comes up, then the listener cannot bind.
timeout 30 "$RLSERVE" learner --preset cartpole-dqn --listen "localhost:$port" --status 127.0.0.1:0 \
  >"$WORK/inuse.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "--listen on a port in use exited $rc, expected 2"
grep -q "rlserve learner: cannot listen on localhost:$port: address already in use" \
  "$WORK/inuse.log" || fail "port in use: no message"
# Listening, then the port file cannot be written: exit 2 naming the file and why.
timeout 30 "$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:0 --status off \
  --port-file "$WORK/no/such/dir/port" >"$WORK/portfile.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "an unwritable port file exited $rc, expected 2"
grep -q "rlserve learner: cannot write the port file $WORK/no/such/dir/port: No such file" \
  "$WORK/portfile.log" || fail "unwritable port file: no message"
echo "PASS: bad listen addresses refused with exit 2 and a message; localhost:0 serves"
