#!/usr/bin/env bash
# `rlserve study` with learner presets (server/cli/study.c): seeds run as `rlserve run` (a
# learner and its workers) one after another (cartpole-dqn) and two side by side
# (pendulum-td3, --jobs 2), on small env-step budgets. Checks the run folders, curve.csv (101
# env-step points; the last point's evaluation mean and 95% interval recomputed here from the
# runs' metrics.jsonl), curve.svg (a band and a line), table.md and study.json against the
# runs' summary.json, and that bad arguments are refused. Every process is stopped by PID.
. "$(dirname "$0")/lib.sh"
check_study() { # DIR PRESET RUNS
  python3 - "$@" <<'PY'
import csv, json, math, os, re, sys
out, preset, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
errs = []
summ, last_eval = [], []
for s in range(1, runs + 1):
    d = os.path.join(out, "run-%d" % s)
    for f in ("metrics.jsonl", "summary.json", "run.conf", "learner.log", "worker-0.log"):
        if not os.path.isfile(os.path.join(d, f)): errs.append("%s lacks %s" % (d, f))
    summ.append(json.load(open(os.path.join(d, "summary.json"))))
    if summ[-1]["seed"] != s or summ[-1]["preset"] != preset: errs.append("run-%d summary seed %r preset %r" % (s, summ[-1]["seed"], summ[-1]["preset"]))
    rows = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
    evs = [r["eval_mean"] for r in rows if r.get("eval_mean") is not None]
    last_eval.append(evs[-1] if evs else None)
rows = list(csv.DictReader(open(os.path.join(out, "curve.csv"))))
head = "env_steps,runs_live,train_return_mean,train_return_ci_low,train_return_ci_high,eval_mean,eval_ci_low,eval_ci_high"
if open(os.path.join(out, "curve.csv")).readline().strip() != head: errs.append("curve.csv header")
if len(rows) != 101: errs.append("curve.csv has %d points" % len(rows))
# The last point: every run counts with its latest evaluation.
v = [x for x in last_eval if x is not None]
if len(v) == runs and len(rows) == 101:
    m = sum(v) / len(v)
    half = 1.96 * math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v))
    got = rows[-1]
    for k, want in (("eval_mean", m), ("eval_ci_low", m - half), ("eval_ci_high", m + half)):
        if abs(float(got[k]) - want) > 1e-3 * max(1, abs(want)): errs.append("last %s %s, recomputed %.6g" % (k, got[k], want))
else:
    errs.append("runs without an evaluation: %r" % last_eval)
svg = open(os.path.join(out, "curve.svg")).read()
if not re.search(r'<polygon [^>]*points="(\d[^"]*){10,}', svg) or "<polyline" not in svg: errs.append("curve.svg lacks its band or line")
table = open(os.path.join(out, "table.md")).read()
solved = sum(1 for s in summ if s["solved"])
if "| %s | %d (1-%d) | %d/%d |" % (preset, runs, runs, solved, runs) not in table: errs.append("table.md summary row:\n" + table)
for i, s in enumerate(summ):
    row = "| %d | %s | %.0f | %.1f |" % (i + 1, "yes" if s["solved"] else "no", s["env_steps"], s["wall_seconds"])
    if row not in table: errs.append("table.md lacks %r" % row)
st = json.load(open(os.path.join(out, "study.json")))
if st["runs"] != runs or st["solved"] != solved or st["preset"] != preset: errs.append("study.json %r" % st)
if errs: print("\n".join(errs)); sys.exit(1)
print("%s: %d runs, %d solved, last eval %.1f +- %.1f, curve.csv/svg, table.md consistent" % (preset, runs, solved, float(rows[-1]["eval_mean"]), float(rows[-1]["eval_ci_high"]) - float(rows[-1]["eval_mean"])))
PY
}

"$RLSERVE" study --preset cartpole-dqn --runs 2 --out "$WORK/dqn" --set env_steps_budget=3000 \
  --set eval_interval=1000 --set progress_interval_s=0.3 >"$WORK/dqn.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait "$pid"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$WORK/dqn.log"; fail "study cartpole-dqn exited $rc"; }
grep -q "1 at a time" "$WORK/dqn.log" || grep -q "2 at a time" "$WORK/dqn.log" || fail "study did not say how many at a time"
check_study "$WORK/dqn" cartpole-dqn 2 || fail "cartpole-dqn study outputs"

"$RLSERVE" study --preset pendulum-td3 --runs 2 --jobs 2 --out "$WORK/td3" \
  --set env_steps_budget=1200 --set eval_interval=600 --set eval_episodes=5 \
  --set progress_interval_s=0.3 >"$WORK/td3.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait "$pid"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$WORK/td3.log"; fail "study pendulum-td3 exited $rc"; }
grep -q "2 at a time" "$WORK/td3.log" || fail "pendulum-td3 study did not run 2 at a time"
check_study "$WORK/td3" pendulum-td3 2 || fail "pendulum-td3 study outputs"

"$RLSERVE" study --preset no-such-preset --runs 2 --out "$WORK/bad" >"$WORK/bad.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "no-such-preset" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "unknown preset: exit $rc"; }
"$RLSERVE" study --preset cartpole-dqn --runs 0 >"$WORK/bad0.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "runs R" "$WORK/bad0.log" || { cat "$WORK/bad0.log"; fail "--runs 0: exit $rc"; }
echo "bad arguments refused (exit 2 with a message)"
end_test
