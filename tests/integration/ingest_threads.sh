#!/usr/bin/env bash
# The learner's decode threads (ingest_threads = 3, server/learner/ingest.h) on a live learner
# with a token: loadgen (tests/bench/loadgen.c) drives 4, 64 and 256 sealed connections at once
# through them; a connection that sends one frame beyond its credit is closed with the 429
# reason; a MinAtar learner takes packed-bits batches over 64 connections the same way; both
# learners then stop on SIGTERM within 10 s with exit status 130 (under TSan or ASan a report,
# a race or a leak, changes that status). Transitions are counted from the learner's own
# metrics: every accepted one is in env_steps. Windows of 1.5 s, best of 2 rounds: under TSan on
# a loaded machine a 0.5 s window at 256 connections once saw no credit top-up at all (the
# learner still draining the connections' first grants), which says nothing about correctness.
. "$(dirname "$0")/lib.sh"
loadgen=${RLSERVE_LOADGEN:?}
head -c 32 /dev/urandom | base64 >"$WORK/token"
sets=(--set eval_interval=0 --set learning_starts=1000000000000000
  --set env_steps_budget=1000000000000000 --set credit_window=4096 --set max_workers=1024
  --set max_unauth_conns=1024 --set max_unauth_per_addr=1024 --set checkpoint_interval_s=0
  --set progress_interval_s=0.2 --set ingest_threads=3 --set handshake_timeout_s=60)
# start NAME PRESET: a learner in $WORK/NAME (port in $WORK/NAME/port, PID in pid_NAME).
start() {
  mkdir -p "$WORK/$1"
  "$RLSERVE" learner --preset "$2" --listen 127.0.0.1:0 --port-file "$WORK/$1/port" \
    --token-file "$WORK/token" --out "$WORK/$1/run" --status off "${sets[@]}" \
    >"$WORK/$1/learner.log" 2>&1 &
  PIDS+=("$!")
  eval "pid_$1=$!"
  wait_for 30 test -s "$WORK/$1/port" || fail "learner $1 did not start"
}
start cp cartpole-dqn
start ma minatar-breakout-dqn
grep -q "ingest on 3 decode threads" "$WORK/cp/learner.log" || fail "the decode threads did not start"
timeout 300 "$loadgen" --token-file "$WORK/token" --seconds 1.5 --rounds 2 --conns 4,64,256 \
  --presealed-mb 40 --learner "cp,cartpole,$(cat "$WORK/cp/port"),$pid_cp" \
  --learner "ma,minatar,$(cat "$WORK/ma/port"),$pid_ma" >"$WORK/loadgen.out" 2>&1 ||
  { cat "$WORK/loadgen.out"; fail "loadgen failed"; }
cat "$WORK/loadgen.out"
rows=$(awk '$1 == "row" && $5 > 0' "$WORK/loadgen.out" | wc -l)
[ "$rows" -eq 6 ] || fail "$rows of 6 levels accepted transitions"
timeout 60 "$loadgen" --token-file "$WORK/token" --learner "cp,cartpole,$(cat "$WORK/cp/port")" \
  --overrun || fail "a frame beyond the credit was not refused with the credit's reason"
grep -q "sent beyond the 4096 granted (credit); closing the connection" "$WORK/cp/learner.log" ||
  fail "the learner did not log the credit refusal"
for n in cp ma; do
  kill -0 "$(eval echo "\$pid_$n")" 2>/dev/null || fail "learner $n died"
  wait_for 5 test -s "$WORK/$n/run/metrics.jsonl" || fail "learner $n wrote no metrics"
done
steps=$(last_metric "$WORK/cp/run/metrics.jsonl" env_steps)
[ "$steps" -gt 0 ] || fail "the CartPole learner counted no env steps"
for n in cp ma; do
  p=$(eval echo "\$pid_$n")
  kill -TERM "$p"
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "learner $n did not stop within 10 s of SIGTERM"
  wait "$p"
  rc=$?
  [ "$rc" -eq 130 ] || fail "learner $n exited $rc after SIGTERM, expected 130"
  ! grep -q "ThreadSanitizer\|AddressSanitizer\|LeakSanitizer" "$WORK/$n/learner.log" ||
    fail "learner $n: a sanitizer report"
done
echo "PASS: decode threads: 4-256 sealed connections (CartPole, MinAtar bits), a credit overrun refused (429), clean stop ($steps CartPole transitions)"
