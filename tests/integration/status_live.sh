#!/usr/bin/env bash
# The status socket of a live learner with 2 workers, checked by real clients:
#  a. GET /status: the documented fields, both workers stepping;
#  b. GET /metrics through `promtool check metrics`;
#  c. a real Prometheus server scraping /metrics, queried for rlserve_env_steps_total;
#  d. a headless Chromium screenshot of the dashboard: its charts have line pixels;
#  e. malformed and oversized requests answer 400 / 431 and training goes on;
#  f. `rlserve status` as a table, as JSON, and against a port where nothing listens.
# Prometheus, promtool and Chromium: when one is missing the test ends as skipped (exit 77), or
# fails under CI=true or as root (lib.sh skip_part); it never passes with a part left out.
# (deploy/install-deps.sh --test installs them). Every process is stopped by PID.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (deploy/install-deps.sh --test)"
out=$WORK/learner
# solve_threshold out of reach: the run must not end while the clients look at it.
"$RLSERVE" learner --preset cartpole-dqn --set env_steps_budget=1000000000 \
  --set solve_threshold=1e9 --set eval_interval=2000 --set progress_interval_s=0.5 \
  --listen 127.0.0.1:0 --port-file "$WORK/port" --status 127.0.0.1:0 --out "$out" \
  >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not write its port"
wait_for 20 test -s "$out/status.port" || fail "learner did not write status.port"
port=$(cat "$WORK/port")
sport=$(cat "$out/status.port")
base=http://127.0.0.1:$sport
for i in 1 2; do
  "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w$i.log" 2>&1 &
  PIDS+=("$!")
done

# GET PATH into FILE; fails on an HTTP error or when the learner does not answer in 5 s.
get() { curl -sf --max-time 5 -o "$2" "$base$1"; }
# env_steps as /status reports it (0 when it does not answer).
status_steps() {
  get /status "$WORK/steps.json" 2>/dev/null || { echo 0; return; }
  python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['learner']['env_steps'] or 0))" \
    "$WORK/steps.json" 2>/dev/null || echo 0
}
steps_above() { [ "$(status_steps)" -gt "$1" ]; }
# Every worker row has stepped too (the rows fill at the workers' first stats message).
both_stepping() {
  get /status "$WORK/w.json" 2>/dev/null && python3 - "$WORK/w.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["workers"]
sys.exit(0 if len(w) == 2 and all((r.get("env_steps") or 0) > 0 for r in w) else 1)
PY
}
wait_for 60 steps_above 5000 || fail "5000 env steps not reached (status says $(status_steps))"
wait_for 20 both_stepping || fail "/status does not show 2 workers stepping"

# ---- a. /status fields
get /status "$WORK/status.json" || fail "GET /status failed"
python3 - "$WORK/status.json" <<'PY' || fail "/status content"
import json, sys
s = json.load(open(sys.argv[1]))
run, l, ws = s["run"], s["learner"], s["workers"]
errs = []
if run.get("algo") != "dqn": errs.append("run.algo = %r" % run.get("algo"))
if run.get("env") != "CartPole-v1": errs.append("run.env = %r" % run.get("env"))
for k in ("updates", "env_steps", "weights_version"):
    if not isinstance(l.get(k), (int, float)) or l[k] <= 0: errs.append("learner.%s = %r" % (k, l.get(k)))
if not isinstance(l.get("replay_size"), (int, float)) or l["replay_size"] <= 0:
    errs.append("learner.replay_size = %r" % l.get("replay_size"))
if len(ws) != 2: errs.append("%d worker rows, expected 2" % len(ws))
for w in ws:
    if not (w.get("env_steps") or 0) > 0: errs.append("worker %r env_steps = %r" % (w.get("id"), w.get("env_steps")))
if errs:
    print("\n".join(errs)); sys.exit(1)
print("a. /status: %s on %s, %d env steps, %d updates, replay %d, weights v%d, workers %s" % (
    run["algo"], run["env"], l["env_steps"], l["updates"], l["replay_size"], l["weights_version"],
    [w["env_steps"] for w in ws]))
PY

# ---- b. /metrics through promtool
get /metrics "$WORK/metrics.txt" || fail "GET /metrics failed"
grep -q '^rlserve_env_steps_total [0-9]' "$WORK/metrics.txt" || fail "/metrics lacks rlserve_env_steps_total"
if command -v promtool >/dev/null; then
  promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
    { cat "$WORK/promtool.out"; fail "promtool check metrics rejected /metrics"; }
  echo "b. promtool check metrics: exit 0 ($(grep -c '^# TYPE' "$WORK/metrics.txt") families)"
else
  skip_part "promtool: not installed (deploy/install-deps.sh --test installs prometheus)"
fi

# ---- c. a real Prometheus scraping the learner
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
if command -v prometheus >/dev/null; then
  pport=$(free_port)
  mkdir -p "$WORK/prom"
  cat >"$WORK/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rlserve
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$sport']
EOF
  prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
    --web.listen-address="127.0.0.1:$pport" >"$WORK/prometheus.log" 2>&1 &
  prom=$!
  PIDS+=("$prom")
  query() {
    curl -sf --max-time 3 "http://127.0.0.1:$pport/api/v1/query?query=rlserve_env_steps_total" \
      -o "$WORK/prom/q.json" 2>/dev/null &&
      python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['data']['result']; sys.exit(0 if r else 1)" \
        "$WORK/prom/q.json" 2>/dev/null
  }
  t0=$SECONDS
  wait_for 30 query || { kill -0 "$prom" 2>/dev/null || echo "prometheus exited"; fail "Prometheus has no rlserve_env_steps_total after 30 s"; }
  val=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['data']['result'][0]['value'][1])" "$WORK/prom/q.json")
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$val" ||
    fail "Prometheus reads rlserve_env_steps_total = $val"
  echo "c. Prometheus (127.0.0.1:$pport) scraped rlserve_env_steps_total = $val after $((SECONDS - t0)) s"
  kill -TERM "$prom"
  for _ in $(seq 100); do kill -0 "$prom" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$prom" 2>/dev/null && fail "Prometheus did not stop on SIGTERM within 10 s"
  wait "$prom" 2>/dev/null
else
  skip_part "prometheus: not installed (deploy/install-deps.sh --test installs prometheus)"
fi

# ---- d. the dashboard in headless Chromium: the charts are drawn
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
  # --virtual-time-budget runs the page's 2 s poll timer on a virtual clock, so its 4 polls
  # would happen within a few real milliseconds, all see the same env_steps, and the page
  # keeps one point per distinct env_steps: single dots, no lines. Virtual time waits for
  # pending fetches, so a relay that holds each /status answer for 1 s of real time lets
  # training advance between polls, as it does for a person watching the page. The relay
  # passes everything else (the page itself) through unchanged.
  cat >"$WORK/relay.py" <<'PY'
import http.server, os, socketserver, sys, time, urllib.request
upstream, delay, portfile = sys.argv[1], float(sys.argv[2]), sys.argv[3]
class Relay(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/status"): time.sleep(delay)
        try:
            with urllib.request.urlopen(upstream + self.path, timeout=5) as r:
                body, code, ctype = r.read(), r.status, r.headers.get("Content-Type")
        except Exception as e:
            body, code, ctype = str(e).encode(), 502, "text/plain"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args): print(fmt % args, file=sys.stderr, flush=True)
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = Server(("127.0.0.1", 0), Relay)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
PY
  python3 "$WORK/relay.py" "$base" 1.0 "$WORK/relay.port" 2>"$WORK/relay.log" &
  relay=$!
  PIDS+=("$relay")
  wait_for 10 test -s "$WORK/relay.port" || fail "the delaying relay did not start"
  # timeout(1) runs Chromium in its own process group and ends the whole group if it hangs.
  timeout -k 5 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chrome" --virtual-time-budget=8000 --window-size=1280,900 \
    --screenshot="$WORK/dash.png" "http://127.0.0.1:$(cat "$WORK/relay.port")/" \
    >"$WORK/chromium.log" 2>&1 &
  cr=$!
  PIDS+=("$cr")
  wait "$cr"
  rc=$?
  kill -TERM "$relay"
  wait "$relay" 2>/dev/null
  [ -s "$WORK/dash.png" ] || { tail -n 5 "$WORK/chromium.log"; fail "Chromium wrote no screenshot (exit $rc)"; }
  echo "d. Chromium exit $rc, $(grep -c 'GET /status' "$WORK/relay.log") polls of /status"
  # Decodes the PNG (8-bit RGB or RGBA, no PIL needed) and counts the pixels of each chart's
  # line colour (dashboard.html: draw() colours). Everything else on the page is grey
  # (background #fafafa, panels #fff, grid #eee, text #555-#888, the state pill
  # #cfe8cf is nearly grey), so a saturated pixel is a line pixel; it is given to the series
  # whose colour is nearest. A line across a ~400 px wide chart is hundreds of pixels.
  python3 - "$WORK/dash.png" "$(dirname "$0")" <<'PY' || fail "dashboard screenshot shows no charts"
import sys
sys.path.insert(0, sys.argv[2])
from png_colours import decode  # the PNG decoder the board test uses too
w, h, bpp, rows = decode(sys.argv[1])
series = {"train #1f77b4": (0x1f, 0x77, 0xb4), "eval #2ca02c": (0x2c, 0xa0, 0x2c),
          "loss #d62728": (0xd6, 0x27, 0x28), "env steps/s #9467bd": (0x94, 0x67, 0xbd),
          "updates/s #ff7f0e": (0xff, 0x7f, 0x0e)}
count = dict.fromkeys(series, 0)
box = [w, h, -1, -1]
for y, line in enumerate(rows):
    for x in range(w):
        r, g, b = line[x * bpp:x * bpp + 3]
        if max(r, g, b) - min(r, g, b) < 60: continue
        k = min(series, key=lambda s: sum((u - v) ** 2 for u, v in zip(series[s], (r, g, b))))
        count[k] += 1
        box = [min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)]
print("d. dashboard screenshot %dx%d: line pixels %s; coloured region x %d-%d, y %d-%d" % (
    w, h, ", ".join("%s %d" % kv for kv in count.items()), *[box[0], box[2], box[1], box[3]]))
# Each continuously sampled series draws a line; evaluations may be a single point (4x4).
low = [k for k in count if count[k] < (10 if k.startswith("eval") else 150)]
if low:
    print("too few line pixels for: " + ", ".join(low)); sys.exit(1)
# The lines sit in the chart grid, below the header and the numbers panel.
if box[1] < 100:
    print("coloured pixels start at y %d, above the charts" % box[1]); sys.exit(1)
PY
else
  skip_part "chromium: not installed (deploy/install-deps.sh --test installs chromium)"
fi

# ---- e. malformed and oversized requests; training goes on
before=$(status_steps)
python3 - "$sport" <<'PY' || fail "bad requests were not refused as expected"
import socket, sys
port = int(sys.argv[1])
def ask(payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(4096)
            if not d: break
            got += d
    except (ConnectionResetError, BrokenPipeError) as e:
        got = b"<%s>" % type(e).__name__.encode()
    finally:
        s.close()
    return got.split(b"\r\n", 1)[0].decode("latin-1")
cases = [
    ("garbage line", b"GARBAGE\r\n\r\n", " 400 "),
    ("binary bytes", bytes(range(256)) + b"\r\n\r\n", " 400 "),
    ("bad version", b"GET /status HTTP/9x\r\n\r\n", " 400 "),
    ("9000-byte header", b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", " 431 "),
    ("100 KB of headers", b"GET / HTTP/1.1\r\n" + b"X-H: 0123456789\r\n" * 6000 + b"\r\n", " 431 "),
]
bad = 0
for name, payload, want in cases:
    line = ask(payload)
    ok = want in line + " "
    print("e. %-18s -> %s%s" % (name, line, "" if ok else "   (expected%s)" % want))
    bad += not ok
line = ask(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print("e. %-18s -> %s" % ("good request after", line))
sys.exit(1 if bad or " 200 " not in line + " " else 0)
PY
kill -0 "$learner" 2>/dev/null || fail "learner died after bad requests"
wait_for 30 steps_above $((before + 2000)) || fail "training stalled after bad requests (env steps $before -> $(status_steps))"
echo "e. env steps $before -> $(status_steps) after the bad requests"

# ---- f. rlserve status
"$RLSERVE" status "127.0.0.1:$sport" >"$WORK/status.txt" 2>&1 || { cat "$WORK/status.txt"; fail "rlserve status failed"; }
grep -q "CartPole-v1" "$WORK/status.txt" || fail "rlserve status: no env in the table"
rows=$(grep -c " 127\.0\.0\.1:[0-9]" "$WORK/status.txt")
[ "$rows" -eq 2 ] || { cat "$WORK/status.txt"; fail "rlserve status shows $rows worker rows, expected 2"; }
"$RLSERVE" status "127.0.0.1:$sport" --json >"$WORK/status-cmd.json" || fail "rlserve status --json failed"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['workers'])==2" \
  "$WORK/status-cmd.json" || fail "rlserve status --json is not the status JSON with 2 workers"
"$RLSERVE" status 127.0.0.1:9 >"$WORK/status-none.txt" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "rlserve status on a closed port exited $rc (expected 1)"
grep -q "nothing listens" "$WORK/status-none.txt" || { cat "$WORK/status-none.txt"; fail "rlserve status on a closed port does not say 'nothing listens'"; }
echo "f. rlserve status: table with 2 workers, --json valid, closed port: $(cat "$WORK/status-none.txt")"
kill -0 "$learner" 2>/dev/null || fail "learner is gone at the end"
echo "PASS: status socket live (/status, /metrics, Prometheus, dashboard, bad requests, rlserve status)"
end_test
