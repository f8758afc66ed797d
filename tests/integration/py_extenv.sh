#!/usr/bin/env bash
# A brand-new env the learner has no code for (tests/python/mygrid.py, a 5x5 grid with a known
# optimal return of -100/24 = -4.17 on average) trains with `env = worker:MyGrid-v0`: the learner
# takes the spaces from the first Python worker's Hello, two Python workers collect transitions
# and play the greedy evaluations and the confirmation on the learner's seeds, and the run ends
# solved at the threshold -5 (fixed seed, env-step budget 40000, with a token: sealed frames).
. "$(dirname "$0")/lib.sh"
PY=${RLSERVE_PYTHON:?}
head -c 32 /dev/urandom | base64 >"$WORK/T"
chmod 600 "$WORK/T"
learner_up --token-file "$WORK/T" --status off --set env=worker:MyGrid-v0 --set solve_threshold=-5 \
  --set env_steps_budget=40000 --set eval_episodes=50 --set confirm_episodes=50 \
  --set hidden=64,64 --set eps_anneal_steps=5000 --set seed=1
grep -q "waiting for the first worker to declare" "$WORK/learner.log" || fail "no waiting line"
for i in 1 2; do
  "$PY" -m rlserve_worker --connect 127.0.0.1:"$port" --token-file "$WORK/T" \
    --env mygrid:MyGrid >"$WORK/pyworker$i.log" 2>&1 &
  PIDS+=($!)
done
wait_for 600 test -s "$WORK/run/summary.json" || fail "the run did not end"
wait_for 30 bash -c "! kill -0 $learner 2>/dev/null" || fail "the learner did not exit"
wait "$learner"
rc=$?
grep -E "declared by|greedy eval|confirmation" "$WORK/learner.log" | tail -n 4
[ "$rc" -eq 0 ] || fail "learner exited $rc (1: budget spent without a confirmed -5)"
S="$WORK/run/summary.json"
[ "$(json_field "$S" solved)" = True ] || fail "summary.json: not solved"
python3 - "$S" <<'PY' || fail "summary.json figures"
import json, sys
s = json.load(open(sys.argv[1]))
# A return is at most minus the distance to the goal: no mean can be above -1 (one step).
assert -5 <= s["eval_mean"] <= -1 and -5 <= s["confirm_mean"] <= -1, s
assert s["eval_episodes"] == 50 and s["confirm_episodes"] == 50, s
assert s["confirm_seed_first"] >= s["eval_seed_first"] + 50, s  # fresh seeds
assert s["env"] == "worker:MyGrid-v0", s
PY
grep -q "env MyGrid-v0 declared by the first worker: obs 25 in \[0, 1\]..., actions 4" \
  "$WORK/learner.log" || fail "the declared spaces are not logged"
# The shares go to the evaluating workers connected when an evaluation starts; a run this short
# may finish before the second worker is through its handshake, so each worker's count is
# reported and only the sum is required (tests/integration/py_extenv_faults.sh checks the split
# and the reassignment between two workers).
shares=0
for i in 1 2; do
  n=$(grep -c "evaluation share #[0-9]* answered" "$WORK/pyworker$i.log" || true)
  echo "Python worker $i answered $n evaluation shares"
  shares=$((shares + n))
done
[ "$shares" -ge 2 ] || fail "the workers answered $shares evaluation shares (an evaluation and its confirmation need at least 2)"
echo "solved at $(json_field "$S" env_steps) env steps: eval $(json_field "$S" eval_mean)," \
  "confirm $(json_field "$S" confirm_mean) (optimal -4.17 on average)"
echo "PASS: a worker-side env trained to a confirmed threshold, evaluated by the workers"
end_test
