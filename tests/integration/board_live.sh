#!/usr/bin/env bash
# `rlserve board` over three run folders (server/cli/board.c, server/status/board.html):
#  a. GET /runs: the three runs by name, preset and seed, the config key that differs (lr), the
#     finished runs' summary.json, the live one without; bad /history queries are refused;
#  b. headless Chromium: the summary table's text (solved, env steps, wall s, confirmed eval),
#     the legend, and in a screenshot three distinct line colours inside every chart (where the
#     charts are comes from the page itself: its #layout report, read with --dump-dom); the x
#     axis by wall time and the smoothing (set from the address) change the charts' ranges;
#  c. the live run is followed: rows appended to its metrics.jsonl (a half-written line only
#     once complete) and its summary.json appear in /history and /runs.
# The folders are written by this script with separated curves, so every line is visible.
# Chromium missing: parts b are skipped (a failure under CI=true or as root). Every process is
# stopped by PID.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (deploy/install-deps.sh --test)"
runs=$WORK/runs
python3 - "$runs" <<'PY'
import json, math, os, sys
root = sys.argv[1]
spec = [("alpha", 1, "0.001", 40), ("beta", 2, "0.001", 40), ("gamma", 3, "0.0005", 20)]
for k, (name, seed, lr, n) in enumerate(spec):
    d = os.path.join(root, name); os.makedirs(d)
    with open(os.path.join(d, "run.conf"), "w") as f:
        f.write("# written by board_live.sh\nalgo = dqn\nenv = CartPole-v1\npreset = cartpole-dqn\n"
                "seed = %d\nlr = %s\nbatch_size = 64\n" % (seed, lr))
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for i in range(n):
            ev = 4 * (i // 4)
            f.write(json.dumps({"t": 0.5 * i * (1 + 0.2 * k), "env_steps": 500 * i,
                                "env_steps_per_s": 1000 + 400 * k + 30 * math.sin(i),
                                "loss": (k + 1) * 4.0 / (1 + 0.2 * i),
                                "train_return_mean100": 10 + 70 * k + 5 * i,
                                "eval_mean": 20 + 70 * k + 6 * ev, "eval_env_steps": 500 * ev,
                                "confirm_mean": None, "workers": 2}, separators=(",", ":")) + "\n")
summ = {"alpha": {"solved": True, "env_steps": 19500, "wall_seconds": 12.34, "confirm_mean": 498.7,
                  "eval_mean": 500.0, "preset": "cartpole-dqn", "seed": 1},
        "beta": {"solved": False, "env_steps": 20000, "wall_seconds": 15.0, "confirm_mean": None,
                 "eval_mean": 210.4, "preset": "cartpole-dqn", "seed": 2}}
for name, s in summ.items():
    json.dump(s, open(os.path.join(root, name, "summary.json"), "w"))
PY
# Bad arguments: a clear message and exit 2, nothing served.
"$RLSERVE" board "$WORK/no-such-folder" >"$WORK/bad1.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "no-such-folder" "$WORK/bad1.log" || { cat "$WORK/bad1.log"; fail "missing folder: exit $rc"; }
"$RLSERVE" board "$runs" --listen 127.0.0.1:99999 >"$WORK/bad2.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "99999" "$WORK/bad2.log" || { cat "$WORK/bad2.log"; fail "bad --listen: exit $rc"; }
"$RLSERVE" board >"$WORK/bad3.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q "run folders" "$WORK/bad3.log" || { cat "$WORK/bad3.log"; fail "no folder: exit $rc"; }
"$RLSERVE" board "$runs" --listen 127.0.0.1:0 --port-file "$WORK/bport" >"$WORK/board.log" 2>&1 &
board=$!
PIDS+=("$board")
wait_for 20 test -s "$WORK/bport" || fail "board did not write its port"
base=http://127.0.0.1:$(cat "$WORK/bport")

# ---- a. /runs and /history
curl -sf --max-time 5 -o "$WORK/runs.json" "$base/runs" || fail "GET /runs failed"
python3 - "$WORK/runs.json" <<'PY' || fail "/runs content"
import json, sys
j = json.load(open(sys.argv[1]))
r = j["runs"]
errs = []
if [x["name"] for x in r] != ["alpha", "beta", "gamma"]: errs.append("names %r" % [x["name"] for x in r])
if j["differ"] != ["lr"]: errs.append("differ %r, expected ['lr']" % j["differ"])
if [x["seed"] for x in r] != ["1", "2", "3"] or any(x["preset"] != "cartpole-dqn" for x in r): errs.append("seeds/presets %r" % [(x["seed"], x["preset"]) for x in r])
if [x["config"] for x in r] != [{"lr": "0.001"}, {"lr": "0.001"}, {"lr": "0.0005"}]: errs.append("config %r" % [x["config"] for x in r])
if r[0]["summary"]["env_steps"] != 19500 or r[2]["summary"] is not None: errs.append("summaries %r" % [x["summary"] for x in r])
if [x["rows"] for x in r] != [40, 40, 20]: errs.append("rows %r" % [x["rows"] for x in r])
if errs: print("\n".join(errs)); sys.exit(1)
print("a. /runs: %s, differ %s" % (", ".join("%s seed %s rows %d" % (x["name"], x["seed"], x["rows"]) for x in r), j["differ"]))
PY
for q in "history" "history?run=x" "history?run=1&since=-2"; do
  code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/$q")
  [ "$code" = 400 ] || fail "/$q answered $code, expected 400"
done
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/history?run=3")
[ "$code" = 404 ] || fail "/history?run=3 answered $code, expected 404"

# ---- b. the page in Chromium: table text, legend, three line colours in every chart
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
  for mode in dump screenshot; do
    if [ $mode = dump ]; then what=(--dump-dom); else what=(--screenshot="$WORK/board.png"); fi
    timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$WORK/chrome-$mode" --virtual-time-budget=3000 --window-size=1400,1000 \
      --hide-scrollbars "${what[@]}" "$base/" >"$WORK/$mode.out" 2>"$WORK/chromium-$mode.log" &
    cr=$!
    PIDS+=("$cr")
    wait "$cr" || { tail -n 5 "$WORK/chromium-$mode.log"; fail "Chromium ($mode) failed"; }
  done
  [ -s "$WORK/board.png" ] || fail "Chromium wrote no screenshot"
  python3 - "$WORK/dump.out" "$WORK/layout.json" <<'PY' || fail "the board page's text"
import html, json, re, sys
dom = open(sys.argv[1]).read()
text = lambda s: re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", s))).strip()
m = re.search(r'<pre id="layout"[^>]*>(.*?)</pre>', dom, re.S)
assert m and m.group(1).strip(), "no layout report in the page (did its script run?)"
layout = json.loads(html.unescape(m.group(1)))
json.dump(layout, open(sys.argv[2], "w"))
body = re.search(r'<table id="summary".*?<tbody>(.*?)</tbody>', dom, re.S)
rows = [[text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)] for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)] if body else []
want = [["alpha", "cartpole-dqn", "1", "lr=0.001", "finished", "yes", "19.5k", "12.3", "498.7", "500.0", "40"],
        ["beta", "cartpole-dqn", "2", "lr=0.001", "finished", "no", "20.0k", "15.0", "–", "210.4", "40"],
        ["gamma", "cartpole-dqn", "3", "lr=0.0005", "live", "–", "–", "–", "–", "–", "20"]]
errs = []
if rows != want: errs.append("summary table rows:\n  %r\nexpected\n  %r" % (rows, want))
legend = text(re.search(r'<div id="legend">(.*?)</div>', dom, re.S).group(1))
for s in ("alpha · cartpole-dqn · seed 1 · lr=0.001", "gamma · cartpole-dqn · seed 3 · lr=0.0005"):
    if s not in legend: errs.append("legend %r lacks %r" % (legend, s))
keys = [c["key"] for c in layout["charts"]]
if keys != ["train_return_mean100", "eval_mean", "loss", "env_steps_per_s"]: errs.append("charts %r" % keys)
if any(c["lines"] != 3 for c in layout["charts"]): errs.append("lines per chart %r" % [c["lines"] for c in layout["charts"]])
if errs: print("\n".join(errs)); sys.exit(1)
print("b. summary table %d rows as expected; charts %s, 3 lines each" % (len(rows), keys))
PY
  python3 "$(dirname "$0")/png_colours.py" "$WORK/board.png" "$WORK/layout.json" \
    "#1f77b4,#d62728,#2ca02c" 3 30 || fail "a chart of the board screenshot lacks a run's line colour"
  # The x axis by wall time and smoothing, set from the address (?x=wall&smooth=0.9).
  timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chrome-wall" --virtual-time-budget=3000 --window-size=1400,1000 \
    --dump-dom "$base/?x=wall&smooth=0.9" >"$WORK/wall.out" 2>"$WORK/chromium-wall.log" &
  cr=$!
  PIDS+=("$cr")
  wait "$cr" || { tail -n 5 "$WORK/chromium-wall.log"; fail "Chromium (wall) failed"; }
  python3 - "$WORK/wall.out" "$WORK/layout.json" <<'PY' || fail "x by wall time / smoothing"
import html, json, re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<pre id="layout"[^>]*>(.*?)</pre>', dom, re.S)
wall, steps = json.loads(html.unescape(m.group(1))), json.load(open(sys.argv[2]))
tw = next(c for c in wall["charts"] if c["key"] == "train_return_mean100")
ts = next(c for c in steps["charts"] if c["key"] == "train_return_mean100")
errs = []
if wall["xaxis"] != "wall" or wall["smooth"] != 0.9: errs.append("controls %r %r" % (wall["xaxis"], wall["smooth"]))
# Wall time: alpha's last row is at t 19.5 s, beta's at 0.5*39*1.2 = 23.4 s; by env steps 19,500.
if abs(tw["xrange"][1] - 23.4) > 1e-6 or ts["xrange"][1] != 19500: errs.append("x ranges: wall %r, steps %r" % (tw["xrange"], ts["xrange"]))
# Smoothing lags a rising line: the top of the chart falls below the raw maximum (beta: 275).
if ts["yrange"][1] != 275 or not tw["yrange"][1] < 260: errs.append("y ranges: smoothed %r, raw %r" % (tw["yrange"], ts["yrange"]))
if errs: print("\n".join(errs)); sys.exit(1)
print("b. ?x=wall&smooth=0.9: train chart x %.1f-%.1f s, top %.1f (raw 275)" % (tw["xrange"][0], tw["xrange"][1], tw["yrange"][1]))
PY
else
  skip_part "chromium: not installed (deploy/install-deps.sh --test installs chromium)"
fi

# ---- c. the live run grows and finishes
python3 - "$runs/gamma/metrics.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "a") as f:
    for i in range(20, 30):
        f.write(json.dumps({"t": 0.7 * i, "env_steps": 500 * i, "env_steps_per_s": 1800.0,
                            "loss": 3.0 / (1 + 0.2 * i), "train_return_mean100": 150 + 5 * i}) + "\n")
    f.write('{"t": 99, "env_steps": 15000, "lo')  # a line still being written
PY
grown() {
  curl -sf --max-time 5 -o "$WORK/hg.json" "$base/history?run=2&since=18" &&
    python3 -c "import json,sys; h=json.load(open(sys.argv[1])); sys.exit(0 if h['total']==30 else 1)" "$WORK/hg.json"
}
wait_for 15 grown || fail "the board did not follow gamma's new rows ($(head -c 200 "$WORK/hg.json"))"
python3 - "$WORK/hg.json" <<'PY' || fail "gamma's rows since 18"
import json, sys
h = json.load(open(sys.argv[1]))
envs = [r["env_steps"] for r in h["rows"]]
if h["seq"] != list(range(18, 30)) or envs != [500 * i for i in range(18, 30)]:
    print("seq %r env_steps %r" % (h["seq"], envs)); sys.exit(1)
print("c. gamma followed: rows 18..29 (the half-written line not yet read)")
PY
printf 'ss": 0.1}\n' >>"$runs/gamma/metrics.jsonl"
echo '{"solved": true, "env_steps": 15000, "wall_seconds": 21.0, "confirm_mean": 480.5}' >"$runs/gamma/summary.json"
finished() {
  curl -sf --max-time 5 -o "$WORK/runs2.json" "$base/runs" &&
    python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runs'][2]; sys.exit(0 if r['summary'] and r['rows']==31 else 1)" "$WORK/runs2.json"
}
wait_for 15 finished || fail "the board did not see gamma finish ($(head -c 300 "$WORK/runs2.json"))"
echo "c. gamma finished: 31 rows and its summary.json in /runs"
kill -TERM "$board"
for _ in $(seq 50); do kill -0 "$board" 2>/dev/null || break; sleep 0.1; done
kill -0 "$board" 2>/dev/null && fail "the board did not stop on SIGTERM"
wait "$board"
rc=$?
[ "$rc" = 0 ] || fail "the board exited $rc on SIGTERM"
end_test
