#!/usr/bin/env bash
# GET /history of a live learner (server/status/history.c) against its metrics.jsonl, and the
# dashboard opened late in headless Chromium:
#  a. /history holds the same rows as metrics.jsonl, each with its line number; since=K gives
#     rows K.. only; a bad since is a 400;
#  b. a dashboard opened after 10 s and 5,000 env steps of training draws every metrics row
#     from the first one (what the page drew, read from its DOM with --dump-dom);
#  c. a learner with history_limit = 16 writing 10 rows a second keeps at most 16, the first
#     row among them, each the same as its line in metrics.jsonl, and says it downsampled.
# Chromium missing: the part is skipped (a failure under CI=true or as root). Every process is
# stopped by PID.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (deploy/install-deps.sh --test)"
learner_up --status 127.0.0.1:0 --set env_steps_budget=1000000000 --set solve_threshold=1e9 \
  --set eval_interval=2000 --set progress_interval_s=0.5
for i in 1 2; do
  "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w$i.log" 2>&1 &
  PIDS+=("$!")
done
base=http://127.0.0.1:$sport
metrics=$WORK/run/metrics.jsonl
# 10 s of the run and 5,000 env steps in its metrics rows (env steps, not only time: the page
# must be opened on a run that has trained).
trained() {
  python3 - "$metrics" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if rows and rows[-1]["t"] >= 10 and rows[-1]["env_steps"] >= 5000 else 1)
PY
}
wait_for 120 trained || fail "10 s and 5000 env steps not reached ($(tail -n 1 "$metrics"))"

# ---- a. /history against metrics.jsonl
curl -sf --max-time 5 -o "$WORK/h.json" "$base/history" || fail "GET /history failed"
curl -sf --max-time 5 -o "$WORK/h5.json" "$base/history?since=5" || fail "GET /history?since=5 failed"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/history?since=x1")
[ "$code" = 400 ] || fail "/history?since=x1 answered $code, expected 400"
python3 - "$WORK/h.json" "$WORK/h5.json" "$metrics" <<'PY' || fail "/history differs from metrics.jsonl"
import json, sys
h, h5 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
lines = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
errs = []
n = len(h["rows"])
if n < 20: errs.append("only %d rows" % n)
if h["seq"] != list(range(n)): errs.append("seq %r is not 0..%d" % (h["seq"][:5], n - 1))
if h["total"] != n or h["next"] != n or h["downsampled"]: errs.append("total %r next %r downsampled %r" % (h["total"], h["next"], h["downsampled"]))
if len(lines) < n: errs.append("metrics.jsonl has %d lines, /history %d rows" % (len(lines), n))
for i, r in enumerate(h["rows"][:len(lines)]):
    if r != lines[i]: errs.append("row %d: %r != line %r" % (i, r, lines[i])); break
if h5["seq"][:1] != [5] or h5["rows"] != lines[5:5 + len(h5["rows"])] or len(h5["rows"]) < n - 5:
    errs.append("since=5: seq %r, %d rows" % (h5["seq"][:3], len(h5["rows"])))
if errs: print("\n".join(errs)); sys.exit(1)
print("a. /history: %d rows equal to metrics.jsonl's lines; since=5 gives %d rows from line 5" % (n, len(h5["rows"])))
PY

# ---- b. the dashboard opened now draws the run from its first metrics row
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
  at_open=$(grep -c . "$metrics")
  timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chrome" --virtual-time-budget=3000 --window-size=1280,900 \
    --dump-dom "$base/" >"$WORK/dom.html" 2>"$WORK/chromium.log" &
  cr=$!
  PIDS+=("$cr")
  wait "$cr" || { tail -n 5 "$WORK/chromium.log"; fail "Chromium failed"; }
  python3 - "$WORK/dom.html" "$metrics" "$at_open" <<'PY' || fail "the late dashboard lacks the early rows"
import html, json, re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<pre id="drawn"[^>]*>(.*?)</pre>', dom, re.S)
assert m and m.group(1).strip(), "no drawn report in the page (did its script run?)"
d = json.loads(html.unescape(m.group(1)))
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
at_open = int(sys.argv[3])
first_train = next(r["env_steps"] for r in lines if r["train_return_mean100"] is not None)
errs = []
if not d["history"]: errs.append("the page did not use /history")
if d["sps"]["n"] < at_open: errs.append("steps/s chart has %d points, %d rows existed when the page opened" % (d["sps"]["n"], at_open))
if d["sps"]["x0"] != lines[0]["env_steps"]: errs.append("steps/s starts at %r, the first row at %r" % (d["sps"]["x0"], lines[0]["env_steps"]))
if d["train"]["x0"] != first_train: errs.append("train return starts at %r, its first row at %r" % (d["train"]["x0"], first_train))
if errs: print("\n".join(errs)); sys.exit(1)
print("b. dashboard opened at row %d (t %.1f s): steps/s %d points from env step %d, train return from %d" % (
    at_open, lines[at_open - 1]["t"], d["sps"]["n"], d["sps"]["x0"], d["train"]["x0"]))
PY
else
  skip_part "chromium: not installed (deploy/install-deps.sh --test installs chromium)"
fi

# ---- c. the bound: 16 rows kept of many
"$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:0 --port-file "$WORK/port2" \
  --status 127.0.0.1:0 --out "$WORK/run2" --set history_limit=16 --set progress_interval_s=0.1 \
  --set env_steps_budget=1000000000 >"$WORK/learner2.log" 2>&1 &
PIDS+=("$!")
wait_for 20 test -s "$WORK/run2/status.port" || fail "second learner: no status socket"
many() { [ "$(grep -c . "$WORK/run2/metrics.jsonl" 2>/dev/null)" -ge 80 ]; }
wait_for 60 many || fail "second learner: fewer than 80 metrics rows"
curl -sf --max-time 5 -o "$WORK/h2.json" "http://127.0.0.1:$(cat "$WORK/run2/status.port")/history" ||
  fail "second learner: GET /history failed"
python3 - "$WORK/h2.json" "$WORK/run2/metrics.jsonl" <<'PY' || fail "/history is not bounded as documented"
import json, sys
h = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
errs = []
seq, rows = h["seq"], h["rows"]
if len(rows) > 16 or h["kept"] != len(rows) or h["limit"] != 16: errs.append("kept %d rows (limit %r)" % (len(rows), h["limit"]))
if h["total"] < 80 or not h["downsampled"] or h["dropped"] + len(rows) != h["total"]:
    errs.append("total %r downsampled %r dropped %r" % (h["total"], h["downsampled"], h["dropped"]))
if seq[:1] != [0]: errs.append("the first row is not kept: seq %r" % seq[:3])
if any(b <= a for a, b in zip(seq, seq[1:])): errs.append("seq not increasing: %r" % seq)
if seq[-4:] != list(range(h["total"] - 4, h["total"])): errs.append("the newest rows are not all kept: %r" % seq)
for s, r in zip(seq, rows):
    if s >= len(lines) or r != lines[s]: errs.append("row seq %d differs from its line" % s); break
if errs: print("\n".join(errs)); sys.exit(1)
print("c. history_limit 16: %d of %d rows kept (stride %d), seq %s" % (len(rows), h["total"], h["stride"], seq))
PY
end_test
