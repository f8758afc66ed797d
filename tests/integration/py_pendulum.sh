#!/usr/bin/env bash
# The continuous-action path of the Python worker: one Python worker stepping a pure-Python
# Pendulum (tests/python/pendulum_py.py) declares Box(-2, 2) actions (the learner checks the
# bounds), explores with the learner's Gaussian noise after the uniform warm-up, and trains the
# pendulum-ddpg preset to a confirmed -200 within its 30,000 env-step budget (fixed seed).
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
"$RLSERVE" learner --preset pendulum-ddpg --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --status off --set seed=1 --out "$WORK/run" >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
port=$(cat "$WORK/port")
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --env pendulum_py:Pendulum >"$WORK/pyworker.log" 2>&1 &
PIDS+=($!)
wait_for 1200 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
grep -E "confirmation" "$WORK/learner.log" | tail -n 1
[ "$rc" -eq 0 ] || fail "learner exited $rc (1: budget spent without a confirmed -200)"
grep -q "welcomed as worker" "$WORK/pyworker.log" || fail "the Python worker was not welcomed"
echo "PASS: a Python Pendulum worker trained DDPG to a confirmed -200 at $(json_field "$WORK/run/summary.json" env_steps) env steps"
end_test
