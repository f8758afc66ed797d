#!/usr/bin/env bash
# A learner and 2 workers on 127.0.0.1. One worker is killed with SIGKILL mid-run: the
# learner keeps ingesting and training from the other. A new worker joins mid-run and
# receives the current weights before its first step. SIGTERM makes the learner save a
# checkpoint and exit; every process is stopped by PID.
. "$(dirname "$0")/lib.sh"
out=$WORK/learner
"$RLSERVE" learner --preset cartpole-dqn --set env_steps_budget=100000000 --set eval_interval=0 \
  --set progress_interval_s=0.5 --set idle_timeout_s=3 --listen 127.0.0.1:0 --port-file "$WORK/port" --out "$out" \
  >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not write its port"
port=$(cat "$WORK/port")
"$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w1.log" 2>&1 &
w1=$!
PIDS+=("$w1")
"$RLSERVE" worker --connect "localhost:$port" >"$WORK/w2.log" 2>&1 &
w2=$!
PIDS+=("$w2")
m=$out/metrics.jsonl
has_steps() { [ "$(last_metric "$m" env_steps)" -ge "$1" ]; }
wait_for 60 has_steps 20000 || fail "20000 env steps not reached with 2 workers"
grep -q "first weights" "$WORK/w1.log" || fail "worker 1 never got weights"
grep -q "first weights" "$WORK/w2.log" || fail "worker 2 (by host name) never got weights"

# Rate with both workers, over ~2 s.
u0=$(last_metric "$m" updates); s0=$(last_metric "$m" env_steps); sleep 2
u1=$(last_metric "$m" updates); s1=$(last_metric "$m" env_steps)
kill -KILL "$w1"
wait "$w1" 2>/dev/null
wait_for 10 grep -q " left: " "$WORK/learner.log" || fail "learner did not notice the killed worker"
sleep 1
u2=$(last_metric "$m" updates); s2=$(last_metric "$m" env_steps); sleep 2
u3=$(last_metric "$m" updates); s3=$(last_metric "$m" env_steps)
kill -0 "$learner" 2>/dev/null || fail "learner died after a worker was killed"
echo "updates per 2 s: with 2 workers $((u1 - u0)), after the kill $((u3 - u2)); env steps $((s1 - s0)) -> $((s3 - s2))"
[ $((s3 - s2)) -gt 0 ] || fail "ingest stopped after one worker was killed"
# The learner may lose at most the killed worker's share (half) and some noise.
[ $((u3 - u2)) -ge $(( (u1 - u0) * 4 / 10 )) ] || fail "trainer slowed beyond the lost worker's share"

# A new worker joins mid-run and gets the current weights before it steps.
"$RLSERVE" worker --connect "127.0.0.1:$port" --envs 2 >"$WORK/w3.log" 2>&1 &
w3=$!
PIDS+=("$w3")
wait_for 20 grep -q "first weights" "$WORK/w3.log" || fail "new worker got no weights"
ver=$(sed -n 's/.*first weights (version \([0-9]*\)).*/\1/p' "$WORK/w3.log")
[ "${ver:-0}" -gt 10 ] || fail "new worker started from weights version ${ver:-none}, not the current ones"
grep -q "index 0, " "$WORK/learner.log" || true
s4=$(last_metric "$m" env_steps)
wait_for 20 has_steps $((s4 + 2000)) || fail "training stalled after the new worker joined"

# A hung worker (SIGSTOP) goes silent: the learner drops it after idle_timeout_s and keeps
# training with the others; resumed (SIGCONT), it finds its connection gone and rejoins.
kill -STOP "$w3"
wait_for 15 grep -qE "silent for|not reading" "$WORK/learner.log" || fail "hung worker not detected"
s5=$(last_metric "$m" env_steps)
wait_for 20 has_steps $((s5 + 2000)) || fail "training stalled while a worker hung"
joins=$(grep -c " joined from " "$WORK/learner.log")
kill -CONT "$w3"
rejoined() { [ "$(grep -c " joined from " "$WORK/learner.log")" -gt "$joins" ]; }
wait_for 30 rejoined || fail "resumed worker did not rejoin"

# Clean shutdown: checkpoint written, exit status 130 (interrupted), workers reconnecting.
kill -TERM "$learner"
wait "$learner"
rc=$?
[ "$rc" -eq 130 ] || fail "learner exited $rc on SIGTERM (expected 130)"
[ -s "$out/checkpoint.ckpt" ] || fail "no checkpoint after SIGTERM"
[ "$(json_field "$out/summary.json" interrupted)" = True ] || fail "summary does not say interrupted"
wait_for 10 grep -q "connection to the learner lost" "$WORK/w2.log" || fail "worker 2 did not see the learner go"
kill -0 "$w2" 2>/dev/null || fail "worker 2 exited instead of reconnecting"
echo "PASS: worker kill, join and learner shutdown"
