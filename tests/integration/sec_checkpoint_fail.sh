#!/usr/bin/env bash
# A checkpoint write that fails must not pass silently: `rlserve run` prints the failure,
# summary.json carries it ("checkpoint_error") and the exit status is 2. Two ways to fail:
#  a. an unwritable checkpoint path: a directory where the checkpoint's temporary file goes;
#  b. (root) a run folder on a 512 KiB tmpfs mounted here: the 1 MB checkpoint does not fit
#     (ENOSPC) while the logs, policy.ckpt and summary.json do. Unmounted on exit.
# Before the fix the run exited 1 (budget spent) with nothing in the summary.
. "$(dirname "$0")/lib.sh"
MNT=""
ck_cleanup() {
  [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
  cleanup
}
trap ck_cleanup EXIT

# expect_failed NAME DIR WANT: a short run into DIR reports a checkpoint error matching WANT.
expect_failed() {
  local name=$1 dir=$2 want=$3 rc
  timeout 120 "$RLSERVE" run --preset cartpole-dqn --workers 1 --out "$dir" \
    --set env_steps_budget=3000 --set eval_episodes=5 >"$WORK/$name.out" 2>"$WORK/$name.err"
  rc=$?
  cat "$WORK/$name.out" "$WORK/$name.err"
  [ "$rc" -eq 2 ] || fail "$name: run exited $rc, expected 2 (a checkpoint write failed)"
  grep -q "rlserve run: checkpoint failed: .*$want" "$WORK/$name.err" ||
    fail "$name: run printed no 'checkpoint failed: ...$want'"
  [ -s "$dir/summary.json" ] || fail "$name: no summary.json"
  python3 - "$dir/summary.json" "$want" <<'PY' || fail "$name: summary.json checkpoint_error"
import json, re, sys
e = json.load(open(sys.argv[1])).get("checkpoint_error")
print("summary.json checkpoint_error: %r" % e)
sys.exit(0 if isinstance(e, str) and re.search(sys.argv[2], e) else 1)
PY
}

# a. The checkpoint's temporary file cannot be created.
mkdir -p "$WORK/a/checkpoint.ckpt.tmp"
expect_failed unwritable "$WORK/a" "cannot create .*checkpoint.ckpt.tmp: Is a directory"

# b. A full disk.
if [ "$(id -u)" -ne 0 ]; then
  skip_part "tmpfs: mounting needs root"
else
  MNT=$WORK/small
  mkdir -p "$MNT"
  mount -t tmpfs -o size=512k rlserve-test "$MNT" || fail "cannot mount a tmpfs on $MNT"
  expect_failed full "$MNT/run" "No space left on device"
  umount "$MNT" || fail "cannot unmount $MNT"
  MNT=""
fi
echo "PASS: failed checkpoint writes reported on run's output, in summary.json, exit 2"
end_test
