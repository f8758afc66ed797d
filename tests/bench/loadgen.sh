#!/usr/bin/env bash
# bench_ingest: a CartPole DQN learner on 127.0.0.1 that never trains (learning_starts beyond
# the budget, no evaluations), fed by loadgen (tests/bench/loadgen.c) over 1, 4, 16, 64 and 256
# token-authenticated, sealed connections. Prints accepted transitions/s per connection count
# and asserts one ratio measured in this run: transitions/s at 256 connections over 16
# connections at least FLAT_FLOOR (ingest stays flat as connections grow). The learner is
# stopped by its PID; everything lives in a temporary folder that is removed.
# Usage: loadgen.sh RLSERVE LOADGEN [SECONDS]
set -u
rlserve=$1 loadgen=$2 seconds=${3:-1}
FLAT_FLOOR=0.7
work=$(mktemp -d /tmp/rlserve-ingest.XXXXXX)
learner=
cleanup() {
  if [ -n "$learner" ] && kill -0 "$learner" 2>/dev/null; then
    kill "$learner"
    for _ in $(seq 50); do kill -0 "$learner" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$learner" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
head -c 32 /dev/urandom | base64 >"$work/token"
"$rlserve" learner --preset cartpole-dqn --listen 127.0.0.1:0 --port-file "$work/port" \
  --token-file "$work/token" --out "$work/run" --status off \
  --set learning_starts=1000000000000000 --set env_steps_budget=1000000000000000 \
  --set eval_interval=0 --set credit_window=4096 --set max_workers=1024 \
  --set max_unauth_conns=1024 --set max_unauth_per_addr=1024 --set checkpoint_interval_s=0 \
  >"$work/learner.log" 2>&1 &
learner=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "bench_ingest: the learner did not start"; cat "$work/learner.log"; exit 1; }
"$loadgen" --port "$(cat "$work/port")" --token-file "$work/token" --seconds "$seconds" \
  --conns 1,4,16,64,256 | tee "$work/out" || { echo "bench_ingest: loadgen failed"; tail -20 "$work/learner.log"; exit 1; }
r16=$(awk '$1 == 16 {print $2}' "$work/out")
r256=$(awk '$1 == 256 {print $2}' "$work/out")
[ -n "$r16" ] && [ -n "$r256" ] || { echo "bench_ingest: no rates in loadgen's output"; exit 1; }
awk -v a="$r256" -v b="$r16" -v f="$FLAT_FLOOR" 'BEGIN {
  r = a / b; ok = r >= f
  printf "check %s  accepted transitions/s at 256 connections / 16 connections: %.3g (floor %.3g)\n", ok ? "ok  " : "FAIL", r, f
  exit ok ? 0 : 1 }'
