#!/usr/bin/env bash
# explore = apex: three workers join a learner and act with eps_i = 0.4^(1 + 7 i/2) (0.4,
# 0.01619, 0.0006554) in the order they joined; when the second leaves, the third becomes
# actor 1 of 2 with 0.4^8 = 0.0006554 (an Explore frame) and the first stays actor 0 (0.4).
# No annealing: the worker's Stats report that epsilon, and the learner logs each assignment.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$WORK/learner.log
"$RLSERVE" learner --preset cartpole-apex --set eval_interval=0 --set seed=4 \
  --listen "127.0.0.1:$port" --status off --out "$out" >"$log" 2>&1 &
learner=$!
PIDS+=("$learner")
wpid=()
for i in 1 2 3; do
  "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w$i.log" 2>&1 &
  wpid+=("$!")
  PIDS+=("$!")
  joined() { [ "$(grep -c 'joined from' "$log")" -ge "$i" ]; }
  wait_for 30 joined || fail "worker $i did not join"
done
# Worker k (1..3) joined k-th: its Welcome or Explore says actor k-1 of 3.
has() { grep -q "$2" "$WORK/w$1.log"; }
wait_for 20 has 1 "actor 0 of 3: epsilon 0.4," || fail "worker 1 is not actor 0 of 3 with 0.4"
wait_for 20 has 2 "actor 1 of 3: epsilon 0.01619" || fail "worker 2 is not actor 1 of 3 with 0.01619"
wait_for 20 has 3 "(index 2).*epsilon -> 0.0006554" || fail "worker 3 was not welcomed as actor 2 with 0.0006554"
kill -TERM "${wpid[1]}"
wait "${wpid[1]}" 2>/dev/null
wait_for 20 has 3 "actor 1 of 2: epsilon 0.0006554" ||
  fail "worker 3 not reassigned to actor 1 of 2 (0.4^8) after worker 2 left"
wait_for 20 has 1 "actor 0 of 2: epsilon 0.4," || fail "worker 1 not told it is actor 0 of 2"
grep -q "worker [0-9]*: actor 1 of 2, epsilon 0.0006554" "$log" || fail "learner did not log the reassignment"
kill -TERM "$learner"
wait "$learner" 2>/dev/null
echo "PASS: eps_i = 0.4^(1+7i/(N-1)) over the connected actors, reassigned when one left"
end_test
