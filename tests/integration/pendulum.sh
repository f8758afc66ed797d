#!/usr/bin/env bash
# DDPG/TD3 on the distributed path: a learner and 2 workers improve Pendulum-v1's greedy
# eval to >= -400, confirmed on fresh seeds, within a fixed env-step budget (fixed seeds; a
# small network so CI is quick), and `rlserve eval --seed` reproduces both the evaluation and
# its confirmation from the saved actor.
. "$(dirname "$0")/lib.sh"
for algo in td3 ddpg; do
  out=$WORK/$algo
  "$RLSERVE" run --preset pendulum-$algo --workers 2 --seed 1 --set hidden=64,64 \
    --set batch_size=128 --set samples_per_insert=128 --set random_steps=1000 \
    --set learning_starts=1000 --set solve_threshold=-400 --set env_steps_budget=30000 \
    --set eval_interval=1000 --out "$out" >"$WORK/$algo.log" 2>&1
  rc=$?
  tail -n 2 "$WORK/$algo.log"
  [ "$rc" -eq 0 ] || fail "$algo: rlserve run exited $rc (expected 0: eval >= -400)"
  [ "$(json_field "$out/summary.json" solved)" = True ] || fail "$algo: summary says not solved"
  for what in eval confirm; do
    mean=$(json_field "$out/summary.json" ${what}_mean)
    first=$(json_field "$out/summary.json" ${what}_seed_first)
    episodes=$(json_field "$out/summary.json" ${what}_episodes)
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= -400 else 1)" "$mean" ||
      fail "$algo: $what mean $mean < -400"
    "$RLSERVE" eval --checkpoint "$out/policy.ckpt" --token-file "$out/token" --seed "$first" --episodes "$episodes" --json >"$WORK/$algo.$what" ||
      fail "$algo: eval --seed $first failed"
    python3 - "$WORK/$algo.$what" "$mean" <<'PY' || fail "$algo: rlserve eval --seed $first differs from the run's $what"
import json, sys
e = json.load(open(sys.argv[1])); m = float(sys.argv[2])
sys.exit(0 if abs(e["mean"] - m) < 1e-6 else 1)
PY
  done
  grep -q "noise scale" "$out/learner.log" || fail "$algo: workers got no noise scale"
done
echo "PASS: td3 and ddpg reach -400 on Pendulum-v1, confirmed on fresh seeds"
