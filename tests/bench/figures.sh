#!/usr/bin/env bash
# Regenerates the README's learning-curve figures with `rlserve study` (mean and 95% interval
# over runs): tests/bench/figures/PRESET.svg. Usage: tests/bench/figures.sh [RLSERVE_BIN]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${RLSERVE_BIN:-$here/../../build/rlserve}}
work=$(mktemp -d /tmp/rlserve-figures-XXXXXX)
trap 'rm -rf "$work"' EXIT
for spec in corridor-reinforce:100 corridor-reinforce-baseline:100 mountaincar-sarsa-tiles:100 \
            randomwalk-mc-aggregation:30 randomwalk-td0-aggregation:30; do
  preset=${spec%%:*}
  runs=${spec##*:}
  "$bin" study --preset "$preset" --runs "$runs" --out "$work/$preset" | tail -n 2
  cp "$work/$preset/curve.svg" "$here/figures/$preset.svg"
done
