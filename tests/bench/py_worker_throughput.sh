#!/usr/bin/env bash
# Python worker throughput beside the C worker's, measured the same way: one learner
# (cartpole-dqn, learning_starts beyond the run so the trainer never throttles credit, no
# evaluations), then one worker at a time with --envs 16; each worker's rate is the learner's
# ingested env steps (/status learner.env_steps) over WINDOW seconds after a warm-up. The C
# worker steps the C CartPole (about 40 ns a step), the Python worker tests/python/trivial_env.py
# (no dynamics); both run the preset's 4-256-256-2 forward per step of 16 envs. Asserts the
# Python worker reaches at least FLOOR (default 0.02) of the C worker's rate in this run.
# HIDDEN (default 256,256, the preset's) and CREDIT_WINDOW (default 256) change the run.
. "$(dirname "$0")/../integration/lib.sh"
PY=${RLSERVE_PYTHON:?}
WINDOW=${WINDOW:-15}
FLOOR=${FLOOR:-0.02}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
learner_up --status 127.0.0.1:0 --set learning_starts=1000000000000 --set eval_interval=0 \
  --set env_steps_budget=1000000000000 --set credit_window="${CREDIT_WINDOW:-256}" --set hidden="${HIDDEN:-256,256}"
steps() { curl -s "http://127.0.0.1:$sport/status" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['learner']['env_steps'])"; }
measure() { # NAME CMD...: starts the worker, warms up 3 s, reports steps/s over WINDOW
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  sleep 3
  local s0 t0 s1 t1
  s0=$(steps); t0=$(date +%s.%N)
  sleep "$WINDOW"
  s1=$(steps); t1=$(date +%s.%N)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  "$PY" -c "print('%.0f' % (($s1 - $s0) / ($t1 - $t0)))"
}
c_rate=$(measure cworker "$RLSERVE" worker --connect 127.0.0.1:"$port" --envs 16)
py_rate=$(measure pyworker "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --envs 16 --env trivial_env:Trivial)
echo "C worker (C CartPole, K=16): $c_rate env steps/s"
echo "Python worker (trivial env, K=16): $py_rate env steps/s"
"$PY" -c "import sys; r = $py_rate / $c_rate; print('ratio Python / C: %.3f (floor $FLOOR)' % r); sys.exit(0 if r >= $FLOOR else 1)" \
  || fail "Python worker below $FLOOR of the C worker's rate"
end_test
