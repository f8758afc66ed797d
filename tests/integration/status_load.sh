#!/usr/bin/env bash
# 1,000 /status requests in a row during training: all are answered and training goes on
# (updates keep rising while they run). With RLSERVE_BENCH=1 (ctest bench_status_load, label
# bench) it also asserts the speed claim: the throughput during the requests is within noise of
# the quiet spans before and after (a ratio measured in the same run; on a loaded machine it is
# noise, which is why it is a benchmark and not part of the default run).
. "$(dirname "$0")/lib.sh"
"$RLSERVE" learner --preset cartpole-dqn --set solve_threshold=1e9 --set eval_interval=0 \
  --set env_steps_budget=100000000 --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --status 127.0.0.1:0 --out "$WORK/run" >"$WORK/learner.log" 2>&1 &
PIDS+=("$!")
wait_for 20 test -s "$WORK/run/status.port" || fail "no status port"
wait_for 20 test -s "$WORK/port" || fail "no learner port"
for i in 1 2; do
  "$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" >"$WORK/w$i.log" 2>&1 &
  PIDS+=("$!")
done
python3 - "$(cat "$WORK/run/status.port")" "${RLSERVE_BENCH:-0}" <<'PY' || fail "status requests were not all answered, stopped training, or (bench) changed the throughput"
import json, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/status"
def updates():
    return json.load(urllib.request.urlopen(url, timeout=5))["learner"]["updates"]
deadline = time.time() + 60
while updates() < 2000:                      # learning has started
    if time.time() > deadline: sys.exit("training did not start")
    time.sleep(0.2)
def rate(span, hammer):
    u0, t0 = updates(), time.time()
    n = 0
    while (hammer and n < 1000) or (not hammer and time.time() - t0 < span):
        if hammer:
            json.load(urllib.request.urlopen(url, timeout=5)); n += 1
        else:
            time.sleep(0.05)
    return (updates() - u0) / (time.time() - t0), n, time.time() - t0
quiet, _, _ = rate(3, False)
busy, n, took = rate(3, True)
quiet2, _, _ = rate(3, False)
base = (quiet + quiet2) / 2
print(f"updates/s: quiet {quiet:.0f}, during {n} /status requests ({took:.1f} s) {busy:.0f}, quiet {quiet2:.0f}; ratio {busy / base:.2f}")
if n < 1000 or busy <= 0:
    sys.exit("not every request was answered, or no update happened while they ran")
# Two cores are shared by the trainer, two workers and this client: 0.7 is the noise floor.
if sys.argv[2] == "1" and busy < 0.7 * base:
    sys.exit("bench: the requests slowed training below 0.7 of the quiet rate")
PY
echo "PASS: 1000 status requests answered while training went on${RLSERVE_BENCH:+ (bench: within noise of the quiet rate)}"
