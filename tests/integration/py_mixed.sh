#!/usr/bin/env bash
# The learner checks a Python worker exactly like a C one: a Python worker whose env is not the
# run's (another id, other spaces) is refused with ERROR 409 naming the mismatch and exits 3, as
# does one with the wrong token or none; then a mixed fleet of one C worker (`rlserve worker`)
# and one Python worker trains CartPole to a confirmed 475 (fixed seed, env-step budget), both
# sending transitions.
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
head -c 32 /dev/urandom | base64 >"$WORK/T"
head -c 32 /dev/urandom | base64 >"$WORK/other"
chmod 600 "$WORK/T" "$WORK/other"
cat >"$WORK/wrongenvs.py" <<'PY'
from cartpole_py import CartPole
from rlserve_worker.spaces import Discrete

class Renamed(CartPole):
    env_id = "Acrobot-v1"

class Broken(CartPole):
    def step(self, action):
        obs, r, term, trunc, info = super().step(action)
        obs[1] = float("nan")
        return obs, r, term, trunc, info

class ThreeActions(CartPole):
    def __init__(self):
        super().__init__()
        self.action_space = Discrete(3)
PY
learner_up --token-file "$WORK/T" --status off --set seed=2 --set env_steps_budget=100000
refused() { # NAME ARGS...: the Python worker must exit 3 within 30 s
  local name=$1; shift
  PYTHONPATH="$WORK:${PYTHONPATH:-}" timeout 30 "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" \
    "$@" >"$WORK/$name.log" 2>&1
  local rc=$?
  [ "$rc" -eq 3 ] || fail "$name: Python worker exited $rc, expected 3"
  echo "$name: refused: $(grep -m1 -E 'learner says|refusing' "$WORK/$name.log" | sed 's/.*\] //')"
}
refused wrong_id --token-file "$WORK/T" --env wrongenvs:Renamed
grep -q "learner says: env mismatch (env id)" "$WORK/wrong_id.log" || fail "no env id message"
refused wrong_actions --token-file "$WORK/T" --env wrongenvs:ThreeActions
grep -q "env mismatch (number of actions)" "$WORK/wrong_actions.log" || fail "no actions message"
refused wrong_token --token-file "$WORK/other" --env cartpole_py:CartPole
grep -q "wrong token" "$WORK/wrong_token.log" || fail "no wrong-token message"
refused no_token --env cartpole_py:CartPole
# A user env that returns NaN: the worker stops with the reason (exit 2) instead of sending it.
PYTHONPATH="$WORK:${PYTHONPATH:-}" timeout 60 "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" \
  --token-file "$WORK/T" --env wrongenvs:Broken >"$WORK/broken.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "env returning NaN: Python worker exited $rc, expected 2"
grep -q "observation element 1 = nan, outside its observation_space" "$WORK/broken.log" \
  || fail "no message naming the NaN: $(tail -n 2 "$WORK/broken.log")"
echo "broken env: $(grep -m1 'the env failed' "$WORK/broken.log" | sed 's/.*\] //')"
grep -q "requires a token" "$WORK/no_token.log" || fail "no missing-token message"

"$RLSERVE" worker --connect 127.0.0.1:"$port" --token-file "$WORK/T" >"$WORK/cworker.log" 2>&1 &
PIDS+=($!)
"$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --token-file "$WORK/T" \
  --env cartpole_py:CartPole >"$WORK/pyworker.log" 2>&1 &
PIDS+=($!)
wait_for 900 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
[ "$rc" -eq 0 ] || fail "learner exited $rc (1: budget spent without a confirmed 475)"
grep -q "welcomed as worker" "$WORK/pyworker.log" || fail "the Python worker was not welcomed"
grep -q "welcomed as worker" "$WORK/cworker.log" || fail "the C worker was not welcomed"
sent=$(grep -o "left: [^;]*; [0-9]* transitions" "$WORK/learner.log" | grep -o "[0-9]* transitions" | grep -vc "^0 ")
[ "$sent" -ge 2 ] || fail "expected transitions from both workers, saw $sent"
grep "left:" "$WORK/learner.log" | sed 's/.*INFO  //'
echo "PASS: mismatches refused (409, 401); a C + Python fleet solved CartPole at $(json_field "$WORK/run/summary.json" env_steps) env steps"
end_test
