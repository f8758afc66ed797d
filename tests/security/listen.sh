#!/usr/bin/env bash
# No open door by accident: a learner refuses to listen beyond loopback without a token (exit 2,
# the message says how to make one), listens with --insecure or with a token, and loopback needs
# neither. 0.0.0.0 is bound but only 127.0.0.1 is ever connected to.
. "$(dirname "$0")/../integration/lib.sh"
head -c 32 /dev/urandom | base64 >"$WORK/token"
timeout 30 "$RLSERVE" learner --preset cartpole-dqn --listen 0.0.0.0:0 --status off \
  >"$WORK/refused.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "tokenless --listen 0.0.0.0:0 exited $rc, expected 2"
grep -q "no --token-file" "$WORK/refused.log" || fail "the refusal does not say why"
grep -qF "head -c 32 /dev/urandom | base64 > token" "$WORK/refused.log" ||
  fail "the refusal does not say how to make a token"
grep -q -- "--insecure" "$WORK/refused.log" || fail "the refusal does not name --insecure"
# starts ARGS...: the learner listens (port file written), then it is stopped.
starts() {
  rm -f "$WORK/port"
  "$RLSERVE" learner --preset cartpole-dqn --status off --port-file "$WORK/port" "$@" \
    >"$WORK/start.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for 20 test -s "$WORK/port" || { cat "$WORK/start.log"; return 1; }
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2).close()" \
    "$(cat "$WORK/port")" || return 1
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  return 0
}
starts --listen 0.0.0.0:0 --insecure || fail "--insecure did not listen"
grep -q "insecure" "$WORK/start.log" || fail "--insecure is not logged"
starts --listen 0.0.0.0:0 --token-file "$WORK/token" || fail "a token did not listen"
starts --listen 127.0.0.1:0 || fail "loopback without a token did not listen"
echo "PASS: tokenless non-loopback listen refused; --insecure and a token accepted"
