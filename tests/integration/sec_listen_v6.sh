#!/usr/bin/env bash
# The learner listens on an IPv6 address and on a host name, and a worker joins each end to
# end: --listen [::1]:0 with --connect [::1]:PORT, --listen localhost:0 with
# --connect localhost:PORT.
. "$(dirname "$0")/lib.sh"
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null ||
  skip_test "no IPv6 loopback (::1) here"
# serve NAME LISTEN HOST: a learner on LISTEN, a worker connecting to HOST:PORT, both joined.
serve() {
  local name=$1 listen=$2 host=$3 port learner
  "$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --listen "$listen" \
    --port-file "$WORK/$name.port" --status off --out "$WORK/$name" >"$WORK/$name-learner.log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
  wait_for 20 test -s "$WORK/$name.port" || fail "learner on $listen did not start"
  port=$(cat "$WORK/$name.port")
  grep -qF "listening on $listen (port $port)" "$WORK/$name-learner.log" || fail "no listening line for $listen"
  "$RLSERVE" worker --connect "$host:$port" >"$WORK/$name-worker.log" 2>&1 &
  PIDS+=("$!")
  wait_for 20 grep -q "joined from" "$WORK/$name-learner.log" || fail "no worker joined the learner on $listen"
  wait_for 20 grep -q "first weights" "$WORK/$name-worker.log" || fail "the worker on $host:$port got no weights"
  grep -h "joined from" "$WORK/$name-learner.log" | head -n 1
}
serve v6 "[::1]:0" "[::1]"
grep -q "joined from \[::1\]" "$WORK/v6-learner.log" || fail "the IPv6 worker did not join from [::1]"
serve name localhost:0 localhost
echo "PASS: learners on [::1]:0 and localhost:0 served a worker each"
