#!/usr/bin/env bash
# A worker tries every address its --connect name resolves to: with a host name that resolves
# to ::1 first and 127.0.0.1 second (Debian's own /etc/hosts does this for localhost), a
# learner listening on 127.0.0.1 only is still reached. The name lives in a private /etc/hosts
# (a mount namespace made by the test, so the machine's file is never touched); root only.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip_test "connect_all_addrs: needs root (a private /etc/hosts in a mount namespace)"
command -v unshare >/dev/null || skip_test "connect_all_addrs: unshare (util-linux) is missing"
token=$WORK/token
head -c 32 /dev/urandom | base64 >"$token"
printf '::1 both6first\n127.0.0.1 both6first\n' >"$WORK/hosts"
"$RLSERVE" learner --preset cartpole-dqn --set eval_interval=0 --set progress_interval_s=0.5 \
  --listen 127.0.0.1:0 --port-file "$WORK/port" --status off --token-file "$token" \
  --out "$WORK/run" >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
port=$(cat "$WORK/port")
unshare --mount --propagation private sh -c \
  'mount --bind "$1" /etc/hosts && getent ahosts both6first | head -1 >"$2" && exec "$3" worker --connect "both6first:$4" --token-file "$5" --envs 4' \
  sh "$WORK/hosts" "$WORK/first" "$RLSERVE" "$port" "$token" >"$WORK/worker.log" 2>&1 &
worker=$!
PIDS+=("$worker")
wait_for 30 grep -q "first weights" "$WORK/worker.log" ||
  fail "the worker never got weights through both6first:$port (first address: $(cat "$WORK/first" 2>/dev/null))"
grep -q "^::1" "$WORK/first" || fail "the private hosts file did not put ::1 first: $(cat "$WORK/first")"
echo "PASS: both6first resolves to ::1 first; the worker moved on to 127.0.0.1:$port and got weights"
end_test
