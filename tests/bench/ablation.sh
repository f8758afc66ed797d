#!/usr/bin/env bash
# Ape-X ablation (label bench): env steps and wall seconds to a confirmed greedy solve
# (summary.json "solved": the evaluation met the threshold and so did its confirmation on
# fresh seeds), median and range over seeds, for any subset of the grid
#   env (cartpole acrobot mountaincar) x replay (uniform prioritized) x n_step (1 3)
#   x dueling (0 1) x workers (1 2 4).
# Each cell is `rlserve run --preset ENV-apex --workers N --seed S --set replay=R --set n_step=K
# [--set actor_priorities=false when uniform] [--set dueling=D]`: the Ape-X preset with one
# ingredient changed at a time (exploration stays Ape-X's fixed per-actor epsilons). A cell
# whose dueling = 1 needs the `dueling` config key; a build without it says so and leaves the
# cell out (it is listed as not run, never as measured).
# Choose the subset with environment variables (defaults: the CartPole PER x n-step x dueling
# block):
#   ENVS="cartpole" REPLAYS="uniform prioritized" NSTEPS="1 3" DUELING="0 1" WORKERS="2"
#   SEEDS="1 2 3 4 5"; RLSERVE_BIN = the binary; OUT = where the runs go (default a temp dir).
# Prints the CPU model, the load before and after, one markdown row per cell, and (BASELINE=1,
# the default) a row for the ENV-dqn preset (one-step, uniform, annealed spread) on the same
# seeds. Asserts, within this run, that each run ended with a summary (exit 0 solved or 1 not
# solved; 2 = error fails) and that the Ape-X cell (prioritized, n = 3, dueling 0) needs fewer
# median env steps than the ENV-dqn baseline (the README's claim: cartpole-apex vs
# cartpole-dqn). No claim is made between the ablation cells themselves: on CartPole they were
# within each other's range (README).
set -u
bin=${RLSERVE_BIN:-$(dirname "$0")/../../build/rlserve}
ENVS=${ENVS:-cartpole}
REPLAYS=${REPLAYS:-uniform prioritized}
NSTEPS=${NSTEPS:-1 3}
DUELING=${DUELING:-0 1}
WORKERS=${WORKERS:-2}
SEEDS=${SEEDS:-1 2 3 4 5}
out=${OUT:-$(mktemp -d /tmp/rlserve-ablation-XXXXXX)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "grid: envs [$ENVS] replay [$REPLAYS] n_step [$NSTEPS] dueling [$DUELING] workers [$WORKERS] seeds [$SEEDS]"
have_dueling=0
"$bin" run --help 2>&1 | grep -q '^  dueling ' && have_dueling=1
echo
echo "| env | replay | n | dueling | N | solved | env steps median [min, max] | wall s median [min, max] |"
echo "|---|---|---|---|---|---|---|---|"
fails=0
declare -A med
for e in $ENVS; do
  for N in $WORKERS; do
    for r in $REPLAYS; do
      for k in $NSTEPS; do
        for d in $DUELING; do
          cell="$e-$r-n$k-d$d-w$N"
          if [ "$d" = 1 ] && [ "$have_dueling" = 0 ]; then
            echo "| $e | $r | $k | $d | $N | not run: this build has no dueling key | | |"
            continue
          fi
          extra=(--set "replay=$r" --set "n_step=$k")
          [ "$r" = uniform ] && extra+=(--set actor_priorities=false)
          [ "$have_dueling" = 1 ] && extra+=(--set "dueling=$d")
          for s in $SEEDS; do
            dir=$out/$cell-s$s
            rm -rf "$dir"
            "$bin" run --preset "$e-apex" --workers "$N" --seed "$s" "${extra[@]}" --out "$dir" \
              >"$dir.log" 2>&1
            rc=$?
            if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
              echo "FAIL $cell seed $s: rlserve run exit status $rc (see $dir.log)" >&2
              fails=$((fails + 1))
            fi
          done
          row=$(python3 - "$out" "$cell" $SEEDS <<'PY'
import json, statistics, sys
out, cell, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
steps, walls, solved = [], [], 0
for s in seeds:
    try:
        d = json.load(open(f"{out}/{cell}-s{s}/summary.json"))
    except (OSError, ValueError):
        continue
    if d.get("solved"):
        solved += 1
        steps.append(d["env_steps"])
        walls.append(d["wall_seconds"])
def fmt(v, f):
    return f"{f(statistics.median(v))} [{f(min(v))}, {f(max(v))}]" if v else "-"
med = statistics.median(steps) if len(steps) == len(seeds) else -1
print(f"{solved}/{len(seeds)}|{fmt(steps, lambda x: int(x))}|{fmt(walls, lambda x: round(x, 1))}|{med}")
PY
)
          IFS='|' read -r sv st wl m <<<"$row"
          med[$cell]=$m
          echo "| $e | $r | $k | $d | $N | $sv | $st | $wl |"
        done
      done
    done
    # The baseline: the one-step uniform DQN preset with the annealed spread (ENV-dqn), same
    # seeds and N, in this run; the Ape-X preset's cell must need fewer median env steps.
    if [ "${BASELINE:-1}" = 1 ]; then
      for s in $SEEDS; do
        dir=$out/$e-dqn-w$N-s$s
        rm -rf "$dir"
        "$bin" run --preset "$e-dqn" --workers "$N" --seed "$s" --out "$dir" >"$dir.log" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
          echo "FAIL $e-dqn seed $s: rlserve run exit status $rc (see $dir.log)" >&2
          fails=$((fails + 1))
        fi
      done
      row=$(python3 - "$out" "$e-dqn-w$N" $SEEDS <<'PY'
import json, statistics, sys
out, cell, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
steps = []
for s in seeds:
    try:
        d = json.load(open(f"{out}/{cell}-s{s}/summary.json"))
    except (OSError, ValueError):
        continue
    if d.get("solved"):
        steps.append(d["env_steps"])
m = statistics.median(steps) if len(steps) == len(seeds) else -1
r = f"{int(m)} [{min(steps)}, {max(steps)}]" if steps else "-"
print(f"{len(steps)}/{len(seeds)}|{r}|{m}")
PY
)
      IFS='|' read -r sv st b <<<"$row"
      echo "| $e-dqn (baseline: uniform, n 1, annealed spread) | | | | $N | $sv | $st | |"
      a=${med[$e-prioritized-n3-d0-w$N]:-}
      if [ -n "$a" ]; then
        if [ "${a%.*}" = -1 ] || ! python3 -c "import sys; sys.exit(0 if $b > 0 and $a < $b else 1)"; then
          echo "FAIL $e N=$N: $e-apex cell (prioritized, n 3) median $a env steps, not below $e-dqn's $b (-1: a seed did not solve)" >&2
          fails=$((fails + 1))
        fi
      fi
    fi
  done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work: wall times are indicative only)"
echo "runs: $out"
[ "$fails" -eq 0 ]
