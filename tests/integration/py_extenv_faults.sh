#!/usr/bin/env bash
# env = worker:ID runs when things go wrong: no solve_threshold is a clear error; a worker
# declaring other spaces (MyGridWide, 6x6) and a C worker (no env of its own) are refused with
# ERROR 409 and stop (exit 3); a worker that leaves while it plays its share of an evaluation
# does not hang the learner: its seeds go to the other worker and the evaluation completes.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
out=$("$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:0 --set env=worker:MyGrid-v0 \
  --set solve_threshold=nan --check-args 2>&1) && fail "no solve_threshold accepted"
echo "$out" | grep -q "set solve_threshold" || fail "unclear error without a threshold: $out"

learner_up --status off --set env=worker:MyGrid-v0 --set solve_threshold=100 \
  --set env_steps_budget=6000 --set eval_interval=2000 --set eval_episodes=6 \
  --set learning_starts=500 --set eval_timeout_s=30 --set hidden=32 --set seed=2
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env mygrid:MyGridSlowEval \
  >"$WORK/slow.log" 2>&1 &
slow=$!
PIDS+=("$slow")
wait_for 30 grep -q "declared by the first worker" "$WORK/learner.log" || fail "no declaration"
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env mygrid:MyGridWide >"$WORK/wide.log" 2>&1 &
wide=$!
PIDS+=("$wide")
wait_for 30 bash -c "! kill -0 $wide 2>/dev/null" || fail "the wide worker did not stop"
wait "$wide"
[ $? -eq 3 ] || fail "the wide worker did not exit 3"
grep -q "env mismatch (observation space): this learner runs MyGrid-v0 (obs 25" \
  "$WORK/learner.log" || fail "no mismatch reason in the learner log"
"$RLSERVE" worker --connect 127.0.0.1:"$port" >"$WORK/cworker.log" 2>&1 &
cw=$!
PIDS+=("$cw")
wait_for 30 bash -c "! kill -0 $cw 2>/dev/null" || fail "the C worker did not stop"
wait "$cw"
crc=$?
[ "$crc" -ne 0 ] || fail "the C worker exited 0"
grep -q "lives in the workers" "$WORK/learner.log" || fail "no reason for the C worker"
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env mygrid:MyGrid >"$WORK/fast.log" 2>&1 &
PIDS+=($!)
# The slow worker takes 0.5 s per evaluation episode: stop it in the middle of its share.
wait_for 120 grep -q "playing [0-9]* greedy episodes" "$WORK/slow.log" || fail "no evaluation"
kill -KILL "$slow"
wait_for 30 grep -q "left while playing seeds" "$WORK/learner.log" || fail "no reassignment"
wait_for 60 grep -q "greedy eval at" "$WORK/learner.log" || fail "the evaluation did not complete"
wait_for 300 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
[ "$rc" -eq 1 ] || fail "learner exited $rc, expected 1 (budget spent, threshold 100 unreachable)"
grep -E "left while|greedy eval at" "$WORK/learner.log" | head -n 3

# A worker that stays but answers too late: after eval_timeout_s its share goes to the other
# worker, the evaluation completes, and the late answer is ignored (not refused: it stays).
mv "$WORK/learner.log" "$WORK/learner1.log"
mv "$WORK/run" "$WORK/run1"
rm -f "$WORK/port"
learner_up --status off --set env=worker:MyGrid-v0 --set solve_threshold=100 \
  --set env_steps_budget=100000000 --set eval_interval=1000 --set eval_episodes=10 \
  --set learning_starts=500 --set eval_timeout_s=2 --set hidden=32 --set seed=3
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env mygrid:MyGridSlowEval \
  >"$WORK/slow2.log" 2>&1 &
slow2=$!
PIDS+=("$slow2")
wait_for 30 grep -q "declared by the first worker" "$WORK/learner.log" || fail "no declaration (2)"
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env mygrid:MyGrid >"$WORK/fast2.log" 2>&1 &
PIDS+=($!)
wait_for 120 grep -q "did not answer its evaluation share" "$WORK/learner.log" || fail "no timeout"
wait_for 60 grep -q "greedy eval at" "$WORK/learner.log" || fail "no evaluation after the timeout"
wait_for 60 grep -q "late answer to evaluation share" "$WORK/learner.log" || fail "no late answer seen"
! grep -q "was not asked for it" "$WORK/learner.log" || fail "a late answer was refused"
! grep -q "worker 1 .* left:" "$WORK/learner.log" || fail "the slow worker was dropped"
kill -TERM "$learner"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the second learner did not exit"
wait "$learner"
rc=$?
[ "$rc" -eq 130 ] || fail "second learner exited $rc, expected 130 (stopped by the test)"
grep -E "did not answer|greedy eval at" "$WORK/learner.log" | head -n 3
echo "PASS: refusals, a worker leaving mid-evaluation, a worker answering too late"
end_test
