#!/usr/bin/env bash
# bench_ingest: four learners on 127.0.0.1 that never train (learning_starts beyond the budget,
# no evaluations): CartPole DQN and MinAtar Breakout DQN, each with ingest_threads = 1 (the net
# thread opens, decodes and inserts) and ingest_threads = T (T decode threads), fed by loadgen
# (tests/bench/loadgen.c) over 1, 4, 16, 64 and 256 token-authenticated, sealed connections,
# the learners taking turns. Prints accepted transitions/s per learner and connection count with
# the CPU of the net and decode threads, and asserts ratios measured in this run:
#   - flat: transitions per CPU second of the busiest ingest thread at 256 connections over 16
#     connections >= FLAT_FLOOR, every learner; the same by the wall clock (transitions/s) when
#     the net thread waited for a core under QUIET of both windows (asserted then, printed
#     otherwise: on a loaded machine the wall clock measures the scheduler);
#   - threads: transitions per CPU second of the busiest ingest thread (net or decode), T
#     threads over 1, at 16 and at 256 connections >= THREAD_FLOOR, both kinds: what T decode
#     threads give when each has a core;
#   - threads, wall clock: transitions/s T over 1 at 16 connections >= WALL_FLOOR, asserted
#     only when the machine has T + 2 cores (the net thread, T decode threads, loadgen);
#     printed otherwise.
# The learners are stopped by their PIDs; everything lives in a temporary folder that is removed.
# Usage: loadgen.sh RLSERVE LOADGEN [SECONDS] [T] (T = 1 runs the net thread against itself: the
# thread checks then fail, as they must)
set -u
rlserve=$1 loadgen=$2 seconds=${3:-1} T=${4:-2}
FLAT_FLOOR=0.7 THREAD_FLOOR=1.3 WALL_FLOOR=1.3 QUIET=0.2
work=$(mktemp -d /tmp/rlserve-ingest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
head -c 32 /dev/urandom | base64 >"$work/token"
# start NAME PRESET THREADS: a learner in $work/NAME; its PID into pids.
start() {
  mkdir -p "$work/$1"
  "$rlserve" learner --preset "$2" --listen 127.0.0.1:0 --port-file "$work/$1/port" \
    --token-file "$work/token" --out "$work/$1/run" --status off \
    --set learning_starts=1000000000000000 --set env_steps_budget=1000000000000000 \
    --set eval_interval=0 --set credit_window=4096 --set max_workers=1024 \
    --set max_unauth_conns=1024 --set max_unauth_per_addr=1024 --set checkpoint_interval_s=0 \
    --set ingest_threads="$3" >"$work/$1/learner.log" 2>&1 &
  pids+=("$!")
  eval "pid_$1=$!"
}
start cp1 cartpole-dqn 1
start cpT cartpole-dqn "$T"
start ma1 minatar-breakout-dqn 1
start maT minatar-breakout-dqn "$T"
args=()
for l in cp1:cartpole cpT:cartpole ma1:minatar maT:minatar; do
  n=${l%%:*} kind=${l#*:}
  for _ in $(seq 100); do [ -s "$work/$n/port" ] && break; sleep 0.1; done
  [ -s "$work/$n/port" ] || { echo "bench_ingest: learner $n did not start"; cat "$work/$n/learner.log"; exit 1; }
  pid_var=pid_$n
  case $n in *1) label=${n%1}-net ;; *) label=${n%T}-$T ;; esac # cp-net, cp-2, ...
  args+=(--learner "$label,$kind,$(cat "$work/$n/port"),${!pid_var}")
done
grep -h "ingest on" "$work"/*/learner.log
"$loadgen" --token-file "$work/token" --seconds "$seconds" --conns 1,4,16,64,256 "${args[@]}" |
  tee "$work/out" || { echo "bench_ingest: loadgen failed"; tail -n 20 "$work"/*/learner.log; exit 1; }
cores=$(nproc)
awk -v T="$T" -v ff="$FLAT_FLOOR" -v tf="$THREAD_FLOOR" -v wf="$WALL_FLOOR" -v cores="$cores" \
  -v quiet="$QUIET" '
  $1 == "row" { rate[$2, $4] = $5; busy[$2, $4] = $9; wait[$2, $4] = $12; names[$2] = $3 }
  function check(ok, what, v, f) {
    printf "check %s  %s: %.3g (floor %.3g)\n", ok ? "ok  " : "FAIL", what, v, f
    if (!ok) bad = 1
  }
  END {
    for (n in names) {
      if (!((n, 16) in rate) || !((n, 256) in rate) || rate[n, 16] <= 0 || busy[n, 16] <= 0) { print "check FAIL  no rates for " n; bad = 1; continue }
      r = busy[n, 256] / busy[n, 16]
      check(r >= ff, n " transitions per CPU second of the busiest ingest thread at 256 connections / 16 connections", r, ff)
      w = rate[n, 256] / rate[n, 16]
      if (wait[n, 16] >= 0 && wait[n, 16] < quiet && wait[n, 256] >= 0 && wait[n, 256] < quiet)
        check(w >= ff, n " accepted transitions/s at 256 connections / 16 connections (wall clock)", w, ff)
      else
        printf "not asserted: %s accepted transitions/s at 256 connections / 16 connections (wall clock): %.3g (the net thread waited for a core %.2f / %.2f of the windows, the check needs < %.2f)\n", n, w, wait[n, 16], wait[n, 256], quiet
    }
    split("cp ma", kinds, " ")
    for (k = 1; k <= 2; k++) {
      one = kinds[k] "-net"; many = kinds[k] "-" T
      kind = names[one]
      for (c = 16; c <= 256; c *= 16) {
        if (busy[one, c] <= 0 || busy[many, c] <= 0) { print "check FAIL  no thread CPU for " kind; bad = 1; continue }
        r = busy[many, c] / busy[one, c]
        check(r >= tf, kind " " c " connections, transitions per CPU second of the busiest ingest thread, " T " decode threads / the net thread alone", r, tf)
      }
      w = rate[many, 16] / rate[one, 16]
      if (cores >= T + 2)
        check(w >= wf, kind " 16 connections, accepted transitions/s, " T " decode threads / the net thread alone (wall clock)", w, wf)
      else
        printf "not asserted: %s 16 connections, accepted transitions/s %d decode threads / the net thread alone (wall clock): %.3g (%d cores, the check needs %d)\n", kind, T, w, cores, T + 2
    }
    exit bad ? 1 : 0
  }' "$work/out"
