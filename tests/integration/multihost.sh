#!/usr/bin/env bash
# Multi-host training over an impaired link, in network namespaces of this machine.
#
#   rlmh<pid>l  learner host  10.77.0.1/24 ─┐
#   rlmh<pid>a  worker host a 10.77.0.2/24 ─┼─ bridge in rlmh<pid>s
#   rlmh<pid>b  worker host b 10.77.0.3/24 ─┘
#
# The kernel here has no netem, so each worker host runs a small delaying TCP relay
# (tcp_delay_relay.py: 20 ms each way) between its worker and the learner, and drops 1% of
# the packets it sends on its link with an nftables rule. The learner sees each worker at its
# host's address. Checks: both workers get weights and train; host a's link is cut for 10 s
# (ip link set down, then up): the learner never stops ingesting (from b), and a's worker
# reconnects by itself and contributes again. Everything the test creates (namespaces, links,
# rules, relays, processes) is removed on exit; it talks to no address outside its namespaces.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if [ "$(id -u)" -ne 0 ]; then skip_test "multihost: needs root (network namespaces)"; fi
if ! ip netns list >/dev/null 2>&1; then skip_test "multihost: ip netns is unavailable"; fi
command -v nft >/dev/null || fail "nft not found (install nftables: deploy/install-deps.sh --test)"
command -v "$PY" >/dev/null || fail "python3 not found"

ns_l=rlmh$$l ns_a=rlmh$$a ns_b=rlmh$$b ns_s=rlmh$$s
NSS=()
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)"; }

ns_cleanup() {
  cleanup # processes by PID (lib.sh), then the work folder
  for n in "${NSS[@]}"; do
    ip netns exec "$n" nft delete table inet rlt 2>/dev/null
    ip netns del "$n" 2>/dev/null
  done
}
trap ns_cleanup EXIT

for n in "$ns_s" "$ns_l" "$ns_a" "$ns_b"; do
  ip netns add "$n" || fail "ip netns add $n"
  NSS+=("$n")
  ip -n "$n" link set lo up
done
ip -n "$ns_s" link add br0 type bridge || fail "bridge"
ip -n "$ns_s" link set br0 up
# host NS, its link name, its address: a veth pair made inside the bridge namespace with one
# end moved straight into the host's namespace (nothing is created in the root namespace).
plug() {
  local ns=$1 dev=$2 addr=$3
  ip -n "$ns_s" link add "s$dev" type veth peer name "$dev" netns "$ns" || fail "veth $dev"
  ip -n "$ns_s" link set "s$dev" master br0
  ip -n "$ns_s" link set "s$dev" up
  ip -n "$ns" addr add "$addr/24" dev "$dev"
  ip -n "$ns" link set "$dev" up
}
plug "$ns_l" vl 10.77.0.1
plug "$ns_a" va 10.77.0.2
plug "$ns_b" vb 10.77.0.3
for h in a:va b:vb; do
  ns=rlmh$$${h%%:*} dev=${h#*:}
  ip netns exec "$ns" nft -f - <<EOF || fail "nftables rule in $ns"
table inet rlt {
  chain out {
    type filter hook output priority 0;
    oifname "$dev" numgen random mod 100 < 1 drop
  }
}
EOF
done
# Reachable: a TCP connection to a closed port is refused (not timed out).
ping_ok() {
  ip netns exec "$1" "$PY" -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), 1)
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    sys.exit(1)' "$2" 2>/dev/null
}
wait_for 10 ping_ok "$ns_a" 10.77.0.1 || fail "host a cannot reach the learner host"
wait_for 10 ping_ok "$ns_b" 10.77.0.1 || fail "host b cannot reach the learner host"
echo "[$(elapsed) s] namespaces $ns_l $ns_a $ns_b (bridge $ns_s) up, 1% loss rules in a and b"

# The learner host. Its status socket answers on 127.0.0.1 inside its namespace only.
# idle_timeout_s = 4: both ends give up on a connection that stays silent during the 10 s cut,
# so the worker has to reconnect (with the default 10 s, TCP would just ride the cut out).
head -c 32 /dev/urandom | base64 >"$WORK/token"
chmod 600 "$WORK/token"
out=$WORK/run
ip netns exec "$ns_l" "$RLSERVE" learner --preset cartpole-dqn --set env_steps_budget=100000000 \
  --set eval_interval=0 --set progress_interval_s=0.5 --set idle_timeout_s=4 \
  --token-file "$WORK/token" --listen 10.77.0.1:7878 --status 127.0.0.1:8080 --out "$out" \
  >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
status_json() { ip netns exec "$ns_l" "$RLSERVE" status 127.0.0.1:8080 --json 2>/dev/null; }
wait_for 20 eval "status_json >/dev/null" || fail "learner status did not answer"

# A relay and a worker on each worker host: worker -> 127.0.0.1:7000 (relay) -> 10.77.0.1:7878.
for h in a b; do
  ns=rlmh$$$h
  ip netns exec "$ns" "$PY" "$here/tcp_delay_relay.py" --listen 127.0.0.1:7000 \
    --connect 10.77.0.1:7878 --delay-ms 20 --connect-timeout 2 >"$WORK/relay-$h.log" 2>&1 &
  PIDS+=("$!")
done
relay_up() { ip netns exec "$1" "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 7000), 1).close()' 2>/dev/null; }
wait_for 10 relay_up "$ns_a" || fail "relay on host a did not start"
wait_for 10 relay_up "$ns_b" || fail "relay on host b did not start"
for h in a b; do
  ip netns exec "rlmh$$$h" "$RLSERVE" worker --connect 127.0.0.1:7000 --token-file "$WORK/token" \
    >"$WORK/worker-$h.log" 2>&1 &
  PIDS+=("$!")
done

m=$out/metrics.jsonl
steps() { last_metric "$m" env_steps; }
has_steps() { [ "$(steps)" -ge "$1" ]; }
wait_for 30 grep -q "first weights" "$WORK/worker-a.log" || fail "worker a got no weights"
wait_for 30 grep -q "first weights" "$WORK/worker-b.log" || fail "worker b got no weights"
echo "[$(elapsed) s] both workers have weights"
wait_for 40 has_steps 8000 || fail "training did not reach 8000 env steps over the link"

# Per-worker figures from the learner's status: host, transitions, version lag.
# worker_field HOST FIELD -> the field of the worker row whose address is on HOST (or -1).
worker_field() {
  status_json | "$PY" -c '
import json, sys
host, key = sys.argv[1], sys.argv[2]
rows = [w for w in json.load(sys.stdin).get("workers", []) if (w.get("addr") or "").startswith(host + ":")]
rows.sort(key=lambda w: w.get("id") or 0)  # the newest connection from that host
print(int(rows[-1][key]) if rows and rows[-1].get(key) is not None else -1)' "$1" "$2"
}
for h in 10.77.0.2 10.77.0.3; do
  [ "$(worker_field $h env_steps)" -gt 0 ] || fail "no worker row with transitions from $h in the status"
done
s0=$(steps); sleep 4; s1=$(steps)
rate=$(((s1 - s0) / 4))
echo "[$(elapsed) s] over the 20 ms + 1% link: $rate env steps/s; version lag a $(worker_field 10.77.0.2 version_lag), b $(worker_field 10.77.0.3 version_lag)"
[ "$rate" -gt 0 ] || fail "no progress over the link"

# Cut host a's link for 10 s. The learner keeps ingesting from b all along.
ta_before=$(worker_field 10.77.0.2 env_steps)
joins=$(grep -c " joined from 10.77.0.2" "$WORK/learner.log")
ip -n "$ns_a" link set va down || fail "link down"
echo "[$(elapsed) s] host a's link is down"
c0=$(steps)
prev=$c0
for i in 1 2 3 4 5; do
  sleep 2
  kill -0 "$learner" 2>/dev/null || fail "learner died during the cut"
  cur=$(steps)
  [ "$cur" -gt "$prev" ] || fail "learner stopped ingesting during the cut (env steps $prev -> $cur at $((i * 2)) s)"
  prev=$cur
done
ip -n "$ns_a" link set va up || fail "link up"
t_up=$(date +%s.%N)
echo "[$(elapsed) s] host a's link is up again; env steps during the 10 s cut: $c0 -> $prev"
grep -q "connection to the learner lost" "$WORK/worker-a.log" ||
  fail "worker a did not notice the cut (no 'connection to the learner lost')"
rejoined() { [ "$(grep -c " joined from 10.77.0.2" "$WORK/learner.log")" -gt "$joins" ]; }
wait_for 30 rejoined || fail "worker a did not reconnect within 30 s of the link coming back"
t_join=$(date +%s.%N)
back=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_up" "$t_join")
echo "[$(elapsed) s] worker a reconnected $back s after the link came back"
[ "$(grep -c "welcomed as worker" "$WORK/worker-a.log")" -ge 2 ] || fail "worker a's log shows no second welcome"
contributes() { [ "$(worker_field 10.77.0.2 env_steps)" -ge 500 ]; }
wait_for 20 contributes || fail "worker a did not contribute transitions after reconnecting"
echo "[$(elapsed) s] worker a contributes again ($(worker_field 10.77.0.2 env_steps) transitions on its new connection; $ta_before before the cut); version lag a $(worker_field 10.77.0.2 version_lag), b $(worker_field 10.77.0.3 version_lag)"
kill -0 "$learner" 2>/dev/null || fail "learner is not running"

kill -TERM "$learner"
wait "$learner"
rc=$?
[ "$rc" -eq 130 ] || fail "learner exited $rc on SIGTERM (expected 130)"
echo "PASS: multihost over a 20 ms + 1% loss link, link cut and reconnection ($(elapsed) s)"
