#!/usr/bin/env bash
# checkpoint_replay: a learner running cartpole-apex (prioritized replay, 3-step returns) writes
# replay.ckpt in the background; it is killed with SIGKILL and resumed with --resume. The
# restored replay has the contents of the last replay checkpoint written (the BLAKE2b digest of
# rows and priorities logged on save and on restore, and the transition count), so the resumed
# run does not re-warm: its replay is full before any worker connects. A corrupted
# replay.ckpt is refused with a clear error.
. "$(dirname "$0")/lib.sh"
out=$WORK/run
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$WORK/learner.log
start_learner() {
  "$RLSERVE" learner "$@" --listen "127.0.0.1:$port" --status off >>"$log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
}
start_learner --preset cartpole-apex --set seed=2 --set checkpoint_interval_s=0.5 \
  --set checkpoint_replay=true --set eval_interval=0 --set learning_starts=2000 \
  --set progress_interval_s=0.5 --out "$out"
"$RLSERVE" worker --connect "127.0.0.1:$port" >"$WORK/w1.log" 2>&1 &
worker=$!
PIDS+=("$worker")
saved_n() { grep "replay checkpoint: " "$log" | tail -n 1 | sed 's/.*replay checkpoint: \([0-9]*\) transitions.*/\1/'; }
enough() { k=$(saved_n); [ -n "$k" ] && [ "$k" -ge 3000 ]; }
wait_for 120 enough || fail "no replay checkpoint of 3000 transitions"
# No more transitions: the trainer soon stops at the sampling rate and the checkpoints with it.
kill -TERM "$worker"
wait "$worker" 2>/dev/null
quiet() {
  a=$(grep -c "replay checkpoint: " "$log")
  sleep 2
  [ "$(grep -c "replay checkpoint: " "$log")" -eq "$a" ]
}
wait_for 60 quiet || fail "replay checkpoints did not stop after the worker left"
kill -KILL "$learner"
wait "$learner" 2>/dev/null
last=$(grep "replay checkpoint: " "$log" | tail -n 1)
digest=$(echo "$last" | sed 's/.*digest \([0-9a-f]*\):.*/\1/')
nsaved=$(saved_n) # not n: wait_for has a local n, and bash scoping is dynamic
echo "last replay checkpoint: $nsaved transitions, digest $digest"
[ -s "$out/replay.ckpt" ] || fail "no replay.ckpt"

# A damaged replay.ckpt is refused, naming the file.
cp "$out/replay.ckpt" "$WORK/replay.good"
printf 'garbage' | dd of="$out/replay.ckpt" bs=1 seek=300 conv=notrunc 2>/dev/null
"$RLSERVE" learner --resume "$out" --listen "127.0.0.1:$port" --status off >"$WORK/bad.log" 2>&1 &
bad=$!
PIDS+=("$bad")
wait_for 30 grep -q "cannot restore replay: .*replay.ckpt" "$WORK/bad.log" ||
  fail "corrupted replay.ckpt not refused: $(tail -n 3 "$WORK/bad.log")"
wait_for 30 bash -c "! kill -0 $bad 2>/dev/null" || fail "learner with a bad replay.ckpt still running"
wait "$bad" 2>/dev/null
rc=$?
[ "$rc" -ne 0 ] || fail "learner with a bad replay.ckpt exited 0"
cp "$WORK/replay.good" "$out/replay.ckpt"

# Resume: the same replay contents, and updates before any worker connects.
: >"$WORK/resumed.log"
"$RLSERVE" learner --resume "$out" --listen "127.0.0.1:$port" --status off \
  --set progress_interval_s=0.5 >"$WORK/resumed.log" 2>&1 &
learner=$!
PIDS+=("$learner")
wait_for 30 grep -q "restored replay: " "$WORK/resumed.log" || fail "replay not restored: $(tail -n 5 "$WORK/resumed.log")"
got=$(grep "restored replay: " "$WORK/resumed.log" | head -n 1)
echo "$got"
echo "$got" | grep -q "restored replay: $nsaved transitions .*digest $digest:" ||
  fail "restored replay differs from the last checkpoint ($nsaved transitions, digest $digest)"
# Before any worker connects the resumed learner's replay already holds them (its progress
# line "replay N/capacity"): no re-warm from empty.
full() { grep -q "replay $nsaved/" "$WORK/resumed.log"; }
wait_for 30 full || fail "resumed learner's progress shows no replay of $nsaved: $(grep -m1 'replay ' "$WORK/resumed.log")"
kill -TERM "$learner"
wait "$learner" 2>/dev/null
echo "PASS: replay of $nsaved transitions (digest $digest) restored after SIGKILL, replay_size $nsaved before any worker joined"
end_test
