#!/usr/bin/env bash
# SIGINT and SIGTERM stop the learner within a second even while an evaluation runs: the eval
# thread reads the stop flag between steps (server/algo/eval.c). Evaluations of 100000
# MountainCar episodes (200 steps each until the car is driven up the hill, which an untrained
# network does not do) are 20M steps, many seconds here, so the signal arrives in the middle of
# one. (CartPole's 100000 episodes of ~9 steps each took under a second once the forward got
# faster, and the evaluation ended before the signal.)
. "$(dirname "$0")/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for sig in INT TERM; do
  out=$WORK/run-$sig
  log=$WORK/learner-$sig.log
  "$RLSERVE" learner --preset mountaincar-dqn --set solve_threshold=1e9 --set eval_interval=1000 \
    --set eval_episodes=100000 --set progress_interval_s=0.5 --listen "127.0.0.1:$port" \
    --status off --out "$out" >"$log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
  "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/worker-$sig.log" 2>&1 &
  PIDS+=("$!")
  has_steps() { [ "$(last_metric "$out/metrics.jsonl" env_steps)" -ge 1500 ]; }
  wait_for 60 has_steps || fail "$sig: 1500 env steps not reached"
  sleep 0.5
  # The first evaluation (due at 1000 env steps) is still running.
  grep -q "greedy eval at" "$log" && fail "$sig: the evaluation ended too soon to test a stop in it"
  t0=$(date +%s.%N)
  kill -"$sig" "$learner"
  wait_for 5 eval '! kill -0 "$learner" 2>/dev/null' || fail "$sig: learner still running after 5 s"
  wait "$learner"
  rc=$?
  dt=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
  [ "$rc" -eq 130 ] || fail "$sig: learner exited $rc (expected 130)"
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$dt" ||
    fail "$sig: the learner took $dt s to stop during an evaluation"
  [ "$(json_field "$out/summary.json" interrupted)" = True ] || fail "$sig: summary not interrupted"
  grep -q "greedy eval at" "$log" && fail "$sig: an aborted evaluation was reported"
  echo "$sig during an evaluation: stopped in $dt s"
done
echo "PASS: SIGINT and SIGTERM stop the learner within a second during an evaluation"
