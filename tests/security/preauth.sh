#!/usr/bin/env bash
# Bounded pre-auth state on a learner with a token: a 64 KiB frame header before authentication
# is refused at once; a client trickling a byte every 0.4 s is closed at handshake_timeout_s (the
# bytes do not extend it); silent connections are capped per address (max_unauth_per_addr) and
# in total (max_unauth_conns, from other loopback addresses), and a real worker still joins.
. "$(dirname "$0")/../integration/lib.sh"
hostile=${RLSERVE_SECHOSTILE:?}
head -c 32 /dev/urandom | base64 >"$WORK/token"
start() {
  rm -f "$WORK/port"
  "$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --token-file "$WORK/token" \
    --listen 127.0.0.1:0 --port-file "$WORK/port" --status off "$@" >>"$WORK/learner.log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
  wait_for 20 test -s "$WORK/port" || fail "learner did not start"
  port=$(cat "$WORK/port")
}
start --set handshake_timeout_s=2
"$hostile" client 127.0.0.1 "$port" bigframe || fail "a 64 KiB frame before authentication was not refused"
grep -q "HELLO frame length 65536 exceeds limit 4096" "$WORK/learner.log" || fail "no reason logged"
"$hostile" client 127.0.0.1 "$port" trickle 400 8 | tee "$WORK/trickle.out"
t=$(sed -n 's/.*closed after \([0-9.]*\) s/\1/p' "$WORK/trickle.out")
[ -n "$t" ] || fail "the trickling client was not closed within 8 s"
python3 -c "import sys; sys.exit(0 if 1.5 <= float(sys.argv[1]) <= 4.0 else 1)" "$t" ||
  fail "the trickling client was closed after $t s, expected about handshake_timeout_s = 2"
grep -q "handshake not finished within" "$WORK/learner.log" || fail "no deadline reason logged"
kill -TERM "$learner"; wait "$learner" 2>/dev/null

start --set handshake_timeout_s=20 --set max_unauth_per_addr=4 --set max_unauth_conns=6
"$hostile" client 127.0.0.1 "$port" hold 127.0.0.1 12 127.0.0.2 1 127.0.0.3 1 127.0.0.4 2 \
  >"$WORK/hold.out" 2>&1 &
PIDS+=("$!")
wait_for 20 grep -q "127.0.0.4:" "$WORK/hold.out" || fail "hold did not report"
cat "$WORK/hold.out"
grep -q "127.0.0.1: 4 of 12 open" "$WORK/hold.out" || fail "max_unauth_per_addr = 4 not applied"
grep -q "127.0.0.2: 1 of 1 open" "$WORK/hold.out" || fail "another address was refused early"
grep -q "127.0.0.4: 0 of 2 open" "$WORK/hold.out" || fail "max_unauth_conns = 6 not applied"
grep -q "refusing a connection from 127.0.0.1.*max_unauth_per_addr = 4" "$WORK/learner.log" ||
  fail "the per-address refusal is not logged"
# An authenticated worker is not counted against the caps.
"$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$WORK/token" >"$WORK/w.log" 2>&1 &
PIDS+=("$!")
wait_for 20 grep -q "joined from" "$WORK/learner.log" || fail "a worker with the token did not join"
echo "PASS: pre-auth frames capped at 4 KiB, handshake deadline, unauthenticated connections capped"
