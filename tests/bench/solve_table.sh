#!/usr/bin/env bash
# Solve table: `rlserve run --preset P --workers 2 --seed S` for the given seeds; prints one
# markdown row per seed (solved, env steps and wall seconds to solve, updates, updates/s) and
# the ratio of env steps to a reference budget (the tuned Stable-Baselines3 zoo: CartPole-v1
# DQN 50,000 steps). Usage: solve_table.sh [PRESET] [SEEDS...]   (RLSERVE_BIN = the binary)
set -u
bin=${RLSERVE_BIN:-$(dirname "$0")/../../build/rlserve}
preset=${1:-cartpole-dqn}
shift || true
seeds=${*:-1 2 3}
ref=50000
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/rlserve-solve-XXXXXX)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "command: $bin run --preset $preset --workers 2 --seed S --out DIR   (S in: $seeds)"
echo
echo "| preset | seed | solved | env steps | wall s | updates | updates/s | steps / SB3-zoo $ref |"
echo "|---|---|---|---|---|---|---|---|"
fails=0
for s in $seeds; do
  "$bin" run --preset "$preset" --workers 2 --seed "$s" --out "$work/$s" >"$work/$s.log" 2>&1
  python3 - "$work/$s/summary.json" "$preset" "$s" "$ref" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
ups = d["updates"] / d["wall_seconds"] if d["wall_seconds"] > 0 else 0
print(f"| {sys.argv[2]} | {sys.argv[3]} | {'yes' if d['solved'] else 'no'} | {d['env_steps']} | "
      f"{d['wall_seconds']:.1f} | {d['updates']} | {ups:.0f} | {d['env_steps'] / float(sys.argv[4]):.2f} |")
sys.exit(0 if d["solved"] else 1)
PY
done
rm -rf "$work"
exit $((fails > 0))
