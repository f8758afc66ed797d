#!/usr/bin/env bash
# A run with a token authenticates its checkpoints (keyed BLAKE2b with a key derived from the
# token). Its policy.ckpt evaluates with --token-file and is refused without it (the message
# says to give the token); a forged policy.ckpt or checkpoint.ckpt with a recomputed plain
# checksum is refused by eval --token-file and by learner --resume --token-file.
. "$(dirname "$0")/lib_sec.sh"
resign=$(dirname "$0")/resign.py
out=$WORK/run
"$RLSERVE" learner --preset cartpole-dqn --token-file "$TOKEN" --set env_steps_budget=3000 \
  --set eval_interval=1000 --set eval_episodes=3 --set solve_threshold=1e9 --listen 127.0.0.1:0 \
  --port-file "$WORK/port" --status off --out "$out" >"$WORK/learner.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 20 test -s "$WORK/port" || fail "learner did not start"
"$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" --token-file "$TOKEN" >"$WORK/worker.log" 2>&1 &
PIDS+=("$!")
wait "$learner"
[ -s "$out/policy.ckpt" ] || fail "the run wrote no policy.ckpt"
"$RLSERVE" eval --checkpoint "$out/policy.ckpt" --episodes 2 --token-file "$TOKEN" >"$WORK/eval.log" 2>&1 ||
  fail "eval --token-file of the run's own policy.ckpt failed: $(cat "$WORK/eval.log")"
if "$RLSERVE" eval --checkpoint "$out/policy.ckpt" --episodes 2 >"$WORK/notoken.log" 2>&1; then
  fail "an authenticated policy.ckpt was read without the token"
fi
grep -q -- "--token-file" "$WORK/notoken.log" || fail "without the token: $(cat "$WORK/notoken.log")"
python3 "$resign" "$out/policy.ckpt" "$WORK/forged.ckpt" --zero-online
if "$RLSERVE" eval --checkpoint "$WORK/forged.ckpt" --episodes 2 --token-file "$TOKEN" >"$WORK/forged.log" 2>&1; then
  fail "a forged policy.ckpt with a plain checksum was accepted in a token run"
fi
grep -q "not authenticated" "$WORK/forged.log" || fail "forged policy: $(cat "$WORK/forged.log")"
python3 "$resign" "$out/checkpoint.ckpt" "$out/checkpoint.ckpt" --zero-online
python3 "$resign" "$out/checkpoint.prev.ckpt" "$out/checkpoint.prev.ckpt" --zero-online
"$RLSERVE" learner --resume "$out" --token-file "$TOKEN" --listen 127.0.0.1:0 --status off \
  >"$WORK/resume.log" 2>&1 &
learner=$!
PIDS+=("$learner")
for _ in $(seq 100); do kill -0 "$learner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$learner" 2>/dev/null && fail "learner --resume started from forged checkpoints"
wait "$learner"
rc=$?
[ "$rc" -eq 2 ] || fail "learner --resume from forged checkpoints exited $rc, expected 2"
grep -q "not authenticated" "$WORK/resume.log" || fail "resume: $(cat "$WORK/resume.log")"
echo "PASS: keyed checkpoints: read with the token, refused without it; plain-checksum forgeries refused"
