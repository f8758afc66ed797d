#!/usr/bin/env bash
# MinAtar returns table (README "MinAtar"): `rlserve run --preset minatar-GAME-dqn --workers 2
# --seed 1` trained to each frame mark in turn (default 0.5M, 1M, 2M), one run resumed from its
# own checkpoint at every mark with its replay (checkpoint_replay = true), solve_threshold
# raised so that a solve does not end it. At each mark: the greedy evaluation of the
# checkpointed network on 100 fresh seeds (`rlserve eval`, seeds disjoint from the run's own
# evaluations), the run's 30-episode greedy evaluation at the mark, the mean return of the
# last 100 training episodes (epsilon 0.1), cumulative wall seconds and the leg's frames/s.
# Prints the machine, the command and one markdown row per mark; asserts the README's claim
# for the game at the last mark (below): the confirmed mean at least the claim.
# Usage: minatar_table.sh GAME [MARKS...]   (GAME: asterix breakout freeway seaquest
#        spaceinvaders; RLSERVE_BIN = the binary; RLSERVE_TABLE_DIR = the run folder to use and
#        keep, else a temporary one removed on success). Exit 0 when the claim holds, 1 when not
#        or a run failed, 2 on a usage error.
set -u
bin=${RLSERVE_BIN:-$(dirname "$0")/../../build/rlserve}
game=${1:-}
shift || true
marks=${*:-500000 1000000 2000000}
# The claim at the last mark, confirmed greedy mean over 100 fresh seeds: Breakout and Freeway
# the issue's (10 and 50 within 2M frames); the others about half the README's 2M figures
# (Asterix 20.9, Seaquest 34.7, Space Invaders 73.2; README "MinAtar", 2026-12-01 runs), a
# margin for one seed's run-to-run variation.
case $game in
  breakout) claim=10 ;;
  freeway) claim=50 ;;
  asterix) claim=10 ;;
  seaquest) claim=15 ;;
  spaceinvaders) claim=35 ;;
  *)
    echo "minatar_table.sh: unknown game '$game' (asterix breakout freeway seaquest spaceinvaders)" >&2
    exit 2
    ;;
esac
for m in $marks; do
  case $m in '' | *[!0-9]*)
    echo "minatar_table.sh: mark '$m' is not a frame count" >&2
    exit 2
    ;;
  esac
done
export OPENBLAS_NUM_THREADS=1
dir=${RLSERVE_TABLE_DIR:-$(mktemp -d /tmp/rlserve-minatar-XXXXXX)/run}
preset=minatar-$game-dqn
set_common=(--set solve_threshold=1000000000 --set checkpoint_replay=true)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "command: $bin run --preset $preset --workers 2 --seed 1 --out $dir --set env_steps_budget=M ${set_common[*]}"
echo "         then for each next mark: $bin run --resume $dir --set env_steps_budget=M; at each mark"
echo "         $bin eval --checkpoint $dir/checkpoint.ckpt --token-file $dir/token --episodes 100 --json"
echo "marks:   $marks; claim: confirmed greedy mean >= $claim at the last mark"
echo
echo "| game | frames | confirmed greedy (100 fresh seeds) | greedy eval at the mark (30) | training mean(100) | wall s | frames/s (leg) |"
echo "|---|---|---|---|---|---|---|"
wall=0
prev=0
last=""
for m in $marks; do
  if [ "$prev" = 0 ]; then
    "$bin" run --preset "$preset" --workers 2 --seed 1 --out "$dir" \
      --set env_steps_budget="$m" "${set_common[@]}" > "$dir.leg-$m.log" 2>&1
  else
    "$bin" run --resume "$dir" --set env_steps_budget="$m" "${set_common[@]}" \
      > "$dir.leg-$m.log" 2>&1
  fi
  rc=$?
  # A budget-only run ends "not solved" (exit 1) at its budget: that is the expected end.
  row=$(/usr/bin/python3 - "$dir" "$m" "$rc" <<'EOF'
import json, re, sys
d, mark, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    s = json.load(open(d + '/summary.json'))
except (OSError, ValueError) as e:
    print('ERR no summary.json: %s' % e); sys.exit(0)
if rc not in (0, 1) or s.get('interrupted') or s.get('env_steps', 0) < mark:
    print('ERR exit %d, %s env steps of %d' % (rc, s.get('env_steps'), mark)); sys.exit(0)
rows = [json.loads(l) for l in open(d + '/metrics.jsonl') if l.strip()]
ev = None
for l in open(d + '/learner.log'):
    m = re.search(r'greedy eval at (\d+) env steps: ([-\d.]+) \+- ([\d.]+)', l)
    if m and int(m.group(1)) >= mark and ev is None: ev = float(m.group(2))
print('OK %s %s %.1f %.1f' % (ev, rows[-1]['train_return_mean100'], s['wall_seconds'],
                             mark / max(s['wall_seconds'], 1e-9)))
EOF
)
  case $row in OK*) ;; *)
    echo "minatar_table.sh: the run to $m frames failed ($row); see $dir.leg-$m.log" >&2
    exit 1
    ;;
  esac
  read -r _ ev train leg_wall _ <<< "$row"
  leg_fps=$(awk -v a="$m" -v b="$prev" -v w="$leg_wall" 'BEGIN { printf "%.0f", (a - b) / w }')
  wall=$(awk -v a="$wall" -v b="$leg_wall" 'BEGIN { printf "%.0f", a + b }')
  cp "$dir/checkpoint.ckpt" "$dir.at-$m.ckpt"
  conf=$("$bin" eval --checkpoint "$dir.at-$m.ckpt" --token-file "$dir/token" --episodes 100 \
    --json 2> "$dir.eval-$m.err" | /usr/bin/python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["mean"])')
  if [ -z "$conf" ]; then
    echo "minatar_table.sh: rlserve eval at $m frames failed: $(cat "$dir.eval-$m.err")" >&2
    exit 1
  fi
  echo "| $game | $m | $conf | $ev | $train | $wall | $leg_fps |"
  prev=$m
  last=$conf
done
echo
if awk -v c="$last" -v t="$claim" 'BEGIN { exit !(c >= t) }'; then
  echo "check ok    $game: confirmed greedy mean $last at $prev frames >= $claim"
  [ -n "${RLSERVE_TABLE_DIR:-}" ] || rm -rf "$(dirname "$dir")"
  exit 0
fi
echo "check FAIL  $game: confirmed greedy mean $last at $prev frames < $claim (run folder $dir kept)"
exit 1
