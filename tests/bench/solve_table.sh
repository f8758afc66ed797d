#!/usr/bin/env bash
# Solve table: `rlserve run --preset P --seed S` (the preset's workers) for the given seeds;
# prints one markdown row per seed (solved, env steps and wall seconds to solve, updates,
# updates/s, env steps over the tuned Stable-Baselines3 zoo's budget) and asserts the README's
# claim for each seed: exit status 0, summary.json solved at the README's threshold (the greedy
# mean over the evaluation episodes at least that), within the README's budget, for that preset
# and seed.
# The thresholds and budgets are the README's, written here, not read from the preset: a
# preset that drifts from the README fails (its budget is also compared with the one rlserve
# run reports). Exit 0 when every seed passed, 1 when one failed (its run folder is kept), 2
# on a usage error.
# Usage: solve_table.sh PRESET [SEEDS...]   (default seeds 1 2 3; RLSERVE_BIN = the binary)
set -u
bin=${RLSERVE_BIN:-$(dirname "$0")/../../build/rlserve}
preset=${1:-cartpole-dqn}
shift || true
seeds=${*:-1 2 3}
# preset: threshold, env-step budget, SB3-zoo budget (README "Results").
case $preset in
  cartpole-dqn | cartpole-dqn-fast | cartpole-apex) threshold=475 budget=100000 ref=50000 ;;
  acrobot-dqn | acrobot-apex) threshold=-100 budget=100000 ref=100000 ;;
  mountaincar-dqn | mountaincar-apex) threshold=-110 budget=120000 ref=120000 ;;
  pendulum-ddpg | pendulum-td3 | pendulum-ddpg-zoo | pendulum-td3-zoo | pendulum-apex-td3)
    threshold=-200 budget=30000 ref=20000
    ;;
  mountaincarcontinuous-td3) threshold=90 budget=300000 ref=300000 ;;
  *)
    echo "solve_table.sh: no README claim for preset '$preset' (cartpole-dqn, cartpole-dqn-fast," \
      "cartpole-apex, acrobot-dqn, acrobot-apex, mountaincar-dqn, mountaincar-apex," \
      "pendulum-ddpg, pendulum-td3, pendulum-ddpg-zoo, pendulum-td3-zoo, pendulum-apex-td3," \
      "mountaincarcontinuous-td3)" >&2
    exit 2
    ;;
esac
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/rlserve-solve-XXXXXX)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "command: $bin run --preset $preset --seed S --out DIR   (S in: $seeds; the preset's workers)"
echo "claim:   every seed solved (greedy eval mean >= $threshold, confirmed on 100 fresh seeds) within $budget env steps"
echo
echo "| preset | seed | solved | env steps | wall s | updates | updates/s | eval / confirmation | steps / SB3-zoo $ref |"
echo "|---|---|---|---|---|---|---|---|---|"
fails=0
for s in $seeds; do
  "$bin" run --preset "$preset" --seed "$s" --out "$work/$s" >"$work/$s.log" 2>&1
  status=$?
  python3 - "$work/$s/summary.json" "$work/$s.log" "$preset" "$s" "$threshold" "$budget" \
    "$ref" "$status" <<'PY' || fails=$((fails + 1))
import json, re, sys
path, log, preset, seed = sys.argv[1:5]
threshold, budget, ref, status = float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
bad = []
try:
    d = json.load(open(path))
except (OSError, ValueError) as e:
    print(f"| {preset} | {seed} | no summary | | | | | | |")
    print(f"FAIL {preset} seed {seed}: no summary.json ({e}); rlserve run exit status {status}")
    sys.exit(1)
ups = d["updates"] / d["wall_seconds"] if d.get("wall_seconds", 0) > 0 else 0
print(f"| {preset} | {seed} | {'yes' if d.get('solved') else 'no'} | {d.get('env_steps')} | "
      f"{d.get('wall_seconds', 0):.1f} | {d.get('updates')} | {ups:.0f} | "
      f"{d.get('eval_mean', float('nan')):.1f} / {d.get('confirm_mean') if d.get('confirm_mean') is None else round(d['confirm_mean'], 1)} | "
      f"{d.get('env_steps', 0) / ref:.2f} |")
m = re.search(r"budget (\d+) env steps", open(log, errors="replace").read())
if status != 0:
    bad.append(f"rlserve run exit status {status}, want 0")
if d.get("solved") is not True:
    bad.append(f"solved {d.get('solved')}, want true (last eval mean {d.get('eval_mean')})")
if d.get("threshold") != threshold:
    bad.append(f"threshold {d.get('threshold')}, want the README's {threshold:g}")
if not isinstance(d.get("eval_mean"), (int, float)) or d["eval_mean"] < threshold:
    bad.append(f"eval_mean {d.get('eval_mean')}, want >= {threshold:g}")
if not isinstance(d.get("confirm_mean"), (int, float)) or d["confirm_mean"] < threshold:
    bad.append(f"confirm_mean {d.get('confirm_mean')}, want >= {threshold:g} (fresh seeds)")
if not isinstance(d.get("env_steps"), (int, float)) or d["env_steps"] > budget:
    bad.append(f"env_steps {d.get('env_steps')}, want <= the README's budget {budget}")
if not m or int(m.group(1)) != budget:
    bad.append(f"rlserve run reports budget {m.group(1) if m else '?'}, want the README's {budget}")
if d.get("preset") != preset or d.get("seed") != int(seed):
    bad.append(f"summary is for preset {d.get('preset')} seed {d.get('seed')}")
if d.get("interrupted"):
    bad.append("the run was interrupted")
for b in bad:
    print(f"FAIL {preset} seed {seed}: {b}")
sys.exit(1 if bad else 0)
PY
done
echo
if ((fails > 0)); then
  echo "solve_table.sh: $fails of the seeds ($seeds) failed the README's claim; runs kept in $work"
  exit 1
fi
echo "solve_table.sh: all seeds ($seeds) solved $preset within the README's claim"
rm -rf "$work"
exit 0
