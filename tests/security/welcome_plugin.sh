#!/usr/bin/env bash
# A fake learner's Welcome names a library (env_plugin = a path) that writes a marker file
# when it is loaded. The worker must not load it: the marker never appears, and the worker,
# which cannot run that env without its own --env-plugin, refuses and stops.
. "$(dirname "$0")/lib_sec.sh"
marker=$WORK/marker
"$HOSTILE" fake-learner "$WORK/port" Corridor-v0 "$RLSERVE_MARKER_PLUGIN" >"$WORK/fake.log" 2>&1 &
fake=$!
PIDS+=("$fake")
wait_for 20 test -s "$WORK/port" || fail "the fake learner did not start"
RLSERVE_MARKER=$marker timeout 20 "$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" \
  >"$WORK/worker.log" 2>&1
rc=$?
wait "$fake"
cat "$WORK/fake.log"
[ -e "$marker" ] && fail "the worker loaded the library the learner's Welcome named ($RLSERVE_MARKER_PLUGIN)"
[ "$rc" -ne 124 ] || fail "the worker did not stop after refusing the run"
grep -q "Corridor-v0" "$WORK/fake.log" || fail "the worker did not say why it refused: $(cat "$WORK/fake.log")"
echo "PASS: a Welcome naming a library path loaded nothing; the worker refused (exit $rc)"
