#!/usr/bin/env bash
# Sealed frames on a learner with a token: a worker without the token is refused (exit 3); a
# hostile worker that has the token and does the handshake sees the Welcome sealed and gets one
# sealed batch of 64 accepted; a replayed, a reordered, an altered and an unsealed frame each
# close that connection with a logged reason and nothing from them reaches replay (exactly 64);
# then a real worker with the token trains through the sealed link.
. "$(dirname "$0")/../integration/lib.sh"
hostile=${RLSERVE_SECHOSTILE:?}
head -c 32 /dev/urandom | base64 >"$WORK/token"
learner_up --set eval_interval=0 --set progress_interval_s=0.2 --token-file "$WORK/token" \
  --status off
timeout 30 "$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/none.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "worker without a token exited $rc, expected 3"
grep -q "requires a token" "$WORK/none.log" || fail "no clear message without a token"
"$hostile" sealed-worker 127.0.0.1 "$port" "$WORK/token" good || fail "the sealed batch was refused"
got_64() { [ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -eq 64 ]; }
wait_for 10 got_64 || fail "replay holds $(last_metric "$WORK/run/metrics.jsonl" env_steps), expected 64"
for c in replay reorder alter plain; do
  "$hostile" sealed-worker 127.0.0.1 "$port" "$WORK/token" "$c" || fail "$c: connection not closed"
done
n=$(grep -c "sealed .* refused: sealed frame does not verify" "$WORK/learner.log")
[ "$n" -ge 4 ] || fail "$n of 4 attacks logged with a reason"
sleep 0.5
[ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -eq 64 ] || fail "an attack reached replay"
kill -0 "$learner" 2>/dev/null || fail "the learner died"
"$RLSERVE" worker --connect "127.0.0.1:$port" --token-file "$WORK/token" >"$WORK/good.log" 2>&1 &
PIDS+=("$!")
has_steps() { [ "$(last_metric "$WORK/run/metrics.jsonl" env_steps)" -ge 3000 ]; }
wait_for 60 has_steps || fail "the worker with the token did not train over the sealed link"
! grep -q "refused" "$WORK/good.log" || fail "the real worker saw a refused frame"
echo "PASS: sealed frames: replayed, reordered, altered and unsealed frames close the connection"
