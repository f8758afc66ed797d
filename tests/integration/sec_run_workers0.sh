#!/usr/bin/env bash
# `rlserve run --workers 0` with an actor-learner preset (cartpole-dqn) would wait forever for
# transitions nobody sends: it must be refused (exit 2, a message) before anything starts.
# Before the fix it ran until killed.
. "$(dirname "$0")/lib.sh"
timeout 20 "$RLSERVE" run --preset cartpole-dqn --workers 0 --out "$WORK/run" >"$WORK/out.log" 2>&1
rc=$?
cat "$WORK/out.log"
[ "$rc" -eq 2 ] || fail "run --workers 0 exited $rc, expected 2 (124: it ran until the timeout)"
grep -q "rlserve run: workers = 0: algo dqn" "$WORK/out.log" || fail "no message naming workers = 0"
[ ! -e "$WORK/run" ] || fail "the run folder was created before the refusal"
echo "PASS: run --workers 0 with cartpole-dqn refused with exit 2"
