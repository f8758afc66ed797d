#!/usr/bin/env bash
# A token-holding client's Stats frame claims env_steps = episodes = dropped = weights_version
# = 2^64-1. The learner refuses it; its counters stay sane (nothing near 2^64 on /status); the
# status socket still answers, an evaluation still runs, and SIGTERM stops the learner within
# a few seconds.
. "$(dirname "$0")/lib_sec.sh"
learner_up --token-file "$TOKEN" --set eval_interval=500 --set eval_episodes=2 \
  --set progress_interval_s=0.5 --status 127.0.0.1:0
"$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$TOKEN" >"$WORK/worker.log" 2>&1 &
PIDS+=("$!")
"$HOSTILE" stats 127.0.0.1 "$port" "$TOKEN" >"$WORK/hostile.out" 2>&1 &
hostile=$!
PIDS+=("$hostile")
# Once the frame is out, the hostile connection stays open 3 s: /status shows what came of it.
wait_for 10 grep -q "Stats sent" "$WORK/hostile.out" || fail "the hostile client did not get in"
sleep 0.5
status_get "$sport" /status >"$WORK/status.json" || fail "/status does not answer after the Stats frame"
python3 - "$WORK/status.json" <<'PY' || fail "insane counters on /status"
import json, sys
s = json.load(open(sys.argv[1]))
big = []
def walk(x, path):
    if isinstance(x, dict):
        for k, v in x.items(): walk(v, path + "." + k)
    elif isinstance(x, list):
        for i, v in enumerate(x): walk(v, "%s[%d]" % (path, i))
    elif isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) >= 2**53 and "config" not in path:
        big.append("%s = %g" % (path, x))
walk(s, "")
if big: print("counters near 2^64: " + ", ".join(big)); sys.exit(1)
print("status counters sane: env_steps %d, episodes %d" % (s["learner"]["env_steps"], s["learner"]["episodes"]))
PY
wait "$hostile"
cat "$WORK/hostile.out"
grep -q "learner said: 400 stats: .*above 2^53" "$WORK/hostile.out" || fail "the Stats frame was not refused"
m=$WORK/run/metrics.jsonl
has_steps() { [ "$(last_metric "$m" env_steps)" -ge "$1" ]; }
wait_for 60 has_steps 1500 || fail "training stalled after the Stats frame"
wait_for 30 grep -q "greedy eval at" "$WORK/learner.log" || fail "no evaluation ran"
status_get "$sport" /status >/dev/null || fail "/status stopped answering"
kill -TERM "$learner"
for _ in $(seq 50); do kill -0 "$learner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$learner" 2>/dev/null && fail "the learner did not stop within 5 s of SIGTERM"
echo "PASS: Stats claiming 2^64-1 refused; counters sane, /status answers, SIGTERM stops the learner"
