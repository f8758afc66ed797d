# Helpers for the integration tests: every process started is recorded and stopped by PID
# on exit; every wait is bounded.
set -u
RLSERVE=${RLSERVE_BIN:?RLSERVE_BIN must point at the rlserve binary}
export OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/rlserve-it-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Skips: a part of a test that cannot run here (a missing component, no root). ctest reports
# the test as skipped (exit 77 = SKIP_RETURN_CODE, tests/CMakeLists.txt), never as passed; under
# CI=true or as root every component must be there, so a skip is a failure.
SKIPPED=()
skip_fatal() { [ "${CI:-}" = true ] || [ "$(id -u)" -eq 0 ]; }
# skip_part WHAT: this part cannot run; the test goes on and ends as skipped (end_test).
skip_part() {
  if skip_fatal; then fail "cannot skip under CI=true or as root: $*"; fi
  echo "SKIP $*"
  SKIPPED+=("$*")
}
# skip_test WHAT: the whole test cannot run here.
skip_test() {
  skip_part "$@"
  exit 77
}
# end_test: exit 77 when a part was skipped, else 0 (call last).
end_test() {
  if [ ${#SKIPPED[@]} -gt 0 ]; then
    echo "SKIPPED ${#SKIPPED[@]} part(s): ${SKIPPED[*]}"
    exit 77
  fi
  exit 0
}

fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log "$WORK"/*/*.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
  done
  exit 1
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
  local limit=$1; shift
  local n=$((limit * 10))
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# ckpt_env_steps FILE: the env steps a checkpoint holds (the first counter of its "counters"
# section; common/checkpoint.h's layout: 16-byte header, then name[16] | length u64 | data).
ckpt_env_steps() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off = 16
while off < len(b) - 32:
    name = b[off:off + 16].rstrip(b"\0").decode(); n = struct.unpack("<Q", b[off + 16:off + 24])[0]
    if name == "counters":
        print(struct.unpack("<Q", b[off + 24:off + 32])[0]); break
    off += 24 + n
PY
}

# RLSERVE_LEARNER_ARGS: words added to the learner command lines of learner_up and of the tests
# that take it (ctest runs some hostile-client tests again with --set ingest_threads=2).
# learner_up ARGS...: a CartPole DQN learner on 127.0.0.1:0 with run folder $WORK/run and log
# $WORK/learner.log, plus ARGS; waits for its port. Sets learner (its PID, also in PIDS) and
# port, and sport when ARGS ask for a status socket.
learner_up() {
  # shellcheck disable=SC2086 # RLSERVE_LEARNER_ARGS is a list of words
  "$RLSERVE" learner --preset cartpole-dqn --listen 127.0.0.1:0 --port-file "$WORK/port" \
    --out "$WORK/run" "$@" ${RLSERVE_LEARNER_ARGS:-} >"$WORK/learner.log" 2>&1 &
  learner=$!
  PIDS+=("$learner")
  wait_for 20 test -s "$WORK/port" || fail "learner did not start"
  port=$(cat "$WORK/port")
  case " $* " in
    *" --status off "*) ;;
    *" --status "*)
      wait_for 20 test -s "$WORK/run/status.port" || fail "no status socket"
      sport=$(cat "$WORK/run/status.port")
      ;;
  esac
}

# The last value of a numeric field in a metrics.jsonl file (0 if none yet).
last_metric() {
  local file=$1 key=$2
  [ -s "$file" ] || { echo 0; return; }
  tail -n 1 "$file" | sed -n "s/.*\"$key\":\([0-9.e+-]*\).*/\1/p" | cut -d. -f1
}

json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# children_of PID: the PIDs whose parent is PID (from /proc; nothing is matched by name).
children_of() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f2)" = "$1" ] && echo "${d#/proc/}"
  done
  return 0
}
# pid_running PID: PID exists and is not a zombie (an exited child nobody reaped yet).
pid_running() {
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ]
}
# child_with_arg PID ARG: the first child of PID whose second argument is ARG
# (`rlserve learner ...`: ARG learner).
child_with_arg() {
  local c
  for c in $(children_of "$1"); do
    [ "$(tr '\0' '\n' <"/proc/$c/cmdline" 2>/dev/null | sed -n 2p)" = "$2" ] && { echo "$c"; return 0; }
  done
  return 1
}
