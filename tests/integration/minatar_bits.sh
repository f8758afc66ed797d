#!/usr/bin/env bash
# MinAtar observations travel as packed bits: a DQN run on MinAtar/Breakout-v1 (conv net)
# through a learner and one C worker, separate processes on 127.0.0.1. Once the learner has
# ingested 1500 transitions its /status must count under 300 bytes received per transition
# (packed bits: 2 x 50 bytes of observations + 9; float32 rows would be 3,209); the learner is
# then stopped (SIGINT), its replay checkpoint of the bits replay must restore on --resume with
# the digest it was saved with. It checks the encoding end to end, not learning.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (deploy/install-deps.sh --test)"
learner_up --set env=MinAtar/Breakout-v1 --set net=conv:16x3x3,fc:128 --set seed=3 \
  --set env_steps_budget=1000000 --set learning_starts=500 --set samples_per_insert=1 \
  --set batch_size=32 --set eval_interval=0 --set solve_threshold=1e9 \
  --set checkpoint_replay=true --set progress_interval_s=0.5 --status 127.0.0.1:0
"$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w.log" 2>&1 &
PIDS+=("$!")
# bytes_in / env_steps of the learner while it runs (status JSON, learner fields).
ratio() {
  curl -sf --max-time 5 "http://127.0.0.1:$sport/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
def find(o, k):
    if isinstance(o, dict):
        if k in o and not isinstance(o[k], (dict, list)): return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None: return r
    return None
b, n = find(s, "bytes_in"), find(s, "env_steps")
print("%d %d" % (b or 0, n or 0))' 2>/dev/null
}
seen=""
have_steps() {
  local r
  r=$(ratio) || return 1
  set -- $r
  [ "${2:-0}" -ge 1500 ] && seen="$1 $2"
}
# each try (curl + python) takes ~0.3 s: 60 x 10 tries
wait_for 60 have_steps || fail "the learner did not report 1500 env steps in 600 tries"
set -- $seen
per=$(( $1 / $2 ))
[ "$per" -lt 300 ] || fail "learner received $1 bytes for $2 transitions ($per per transition): not packed bits"
kill -INT "$learner"
learner_done() { ! pid_running "$learner"; }
wait_for 60 learner_done || fail "the learner did not stop within 60 s of SIGINT"
wait "$learner"
line=$(grep "replay checkpoint: [0-9]* transitions" "$WORK/learner.log" | tail -n 1)
[ -n "$line" ] || fail "no replay checkpoint: $(grep -i replay "$WORK/learner.log")"
n=$(echo "$line" | sed -n 's/.*replay checkpoint: \([0-9]*\) transitions.*/\1/p')
saved=$(echo "$line" | sed -n 's/.*digest \([0-9a-f]*\).*/\1/p')
timeout 60 "$RLSERVE" learner --resume "$WORK/run" --set "env_steps_budget=$n" \
  --listen 127.0.0.1:0 --status off >"$WORK/resume.log" 2>&1
grep -q "restored replay: $n transitions (inserted $n), digest $saved" "$WORK/resume.log" ||
  fail "resume did not restore the bits replay ($n, digest $saved): $(grep -i replay "$WORK/resume.log")"
echo "PASS: MinAtar/Breakout-v1 through learner + 1 worker: $per bytes received per transition" \
  "($1 for $2); bits replay checkpoint of $n transitions restored with digest $saved"
