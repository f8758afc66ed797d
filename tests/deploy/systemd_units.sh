#!/usr/bin/env bash
# deploy/systemd without a running systemd (PID 1 here and in CI is not systemd):
#  1. `systemd-analyze verify --root=R` on both units, R a temporary root holding Debian's unit
#     files, the units and the binary at the ExecStart path: exit 0 and not one line of output
#     (an unknown key or a bad value is only a warning line there); a typo and a missing binary
#     must be caught (so the check can fail);
#  2. `systemd-analyze security --offline=yes` exposure at most 2.5 (threshold 25);
#  3. the hardening still lets it run: the units' own ExecStart lines (Environment= defaults,
#     %d the credentials folder, %S the state folder, ports mapped to 127.0.0.1) run as a real
#     learner and worker under strace until the worker joins, a checkpoint is written and
#     SIGTERM saves the last one; every system call they made is in the expansion of their
#     SystemCallFilter= groups, every socket family in RestrictAddressFamilies=, no mapping is
#     writable and executable (MemoryDenyWriteExecute=), and nothing is opened for writing
#     outside the StateDirectory= and /dev (ProtectSystem=strict).
. "$(dirname "$0")/../integration/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
units=$root/deploy/systemd
check="python3 $root/tests/deploy/check_manifests.py"
command -v systemd-analyze >/dev/null || skip_test "systemd-analyze not installed (package systemd)"
command -v strace >/dev/null || skip_test "strace not installed (package strace)"

# ---- 1. verify in a temporary root
R=$WORK/root
mkdir -p "$R/etc/systemd/system" "$R/usr/lib/systemd"
cp -r /usr/lib/systemd/system "$R/usr/lib/systemd/" || fail "no /usr/lib/systemd/system to copy"
exe=$($check unit "$root" rlserve-learner.service ExecStart | cut -d' ' -f1)
[ "$exe" = "$($check unit "$root" rlserve-worker@.service ExecStart | cut -d' ' -f1)" ] ||
  fail "the units start different binaries"
mkdir -p "$R$(dirname "$exe")"
cp "$RLSERVE" "$R$exe"
cp "$units"/*.service "$R/etc/systemd/system/"
verify() { timeout 60 systemd-analyze verify --root="$R" "$@" >"$WORK/verify.out" 2>&1; }
verify rlserve-learner.service rlserve-worker@1.service rlserve-worker@2.service
rc=$?
cat "$WORK/verify.out"
[ "$rc" -eq 0 ] || fail "systemd-analyze verify exited $rc"
[ ! -s "$WORK/verify.out" ] || fail "systemd-analyze verify printed warnings"
echo "systemd-analyze verify: both units clean"
# The same check must fail on a typo and on a missing binary.
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$units/rlserve-learner.service" >"$R/etc/systemd/system/typo.service"
verify typo.service
grep -q "Unknown key" "$WORK/verify.out" || fail "verify did not report a typo: $(cat "$WORK/verify.out")"
rm "$R/etc/systemd/system/typo.service"
mv "$R$exe" "$R$exe.away"
verify rlserve-learner.service && fail "verify passed without the binary"
mv "$R$exe.away" "$R$exe"

# ---- 2. exposure
for u in rlserve-learner.service rlserve-worker@1.service; do
  timeout 60 systemd-analyze security --offline=yes --threshold=25 --root="$R" "$u" >"$WORK/sec.out" 2>&1 ||
    fail "$u: exposure above 2.5: $(tail -n 3 "$WORK/sec.out")"
  echo "$u: $(grep 'Overall exposure' "$WORK/sec.out")"
done

# ---- 3. the units' command lines under strace
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lport=$(free_port)
sport=$(free_port)
head -c 32 /dev/urandom | base64 >"$WORK/token"
export RLSERVE_TOKEN_FILE=$WORK/token
mapfile -d '' -t largv < <($check cmdline "$root" systemd-learner "$WORK/learner" "7878=$lport" "8080=$sport")
mapfile -d '' -t wargv < <($check cmdline "$root" systemd-worker "$WORK/worker" "7878=$lport")
[ "${largv[1]:-}" = learner ] && [ "${wargv[1]:-}" = worker ] || fail "no command lines from the units"
state=$WORK/learner/state
echo "learner: rlserve ${largv[*]:1}"
echo "worker:  rlserve ${wargv[*]:1}"
traced() { # traced NAME ARGV...: runs rlserve ARGV under strace; sets tracer
  local name=$1; shift
  strace -f -qq -o "$WORK/$name.trace" "$RLSERVE" "$@" >"$WORK/$name.log" 2>&1 &
  tracer=$!
  PIDS+=("$tracer")
}
traced learner "${largv[@]:1}"
lstrace=$tracer
wait_for 60 test -s "$WORK/learner.trace" || fail "strace did not start the learner"
wait_for 60 grep -q "listening on" "$WORK/learner.log" || fail "the learner did not start"
traced worker "${wargv[@]:1}"
wstrace=$tracer
wait_for 60 grep -q "worker .* joined" "$WORK/learner.log" || fail "the worker did not join"
wait_for 120 test -s "$state/rlserve/run/checkpoint.ckpt" || fail "no checkpoint in the state folder"
curl -fsS --max-time 5 "http://127.0.0.1:$sport/healthz" >/dev/null || fail "no /healthz"
lpid=$(children_of "$lstrace" | head -n 1)
wpid=$(children_of "$wstrace" | head -n 1)
[ -n "$lpid" ] && [ -n "$wpid" ] || fail "cannot find the traced processes"
PIDS+=("$lpid" "$wpid")
kill -TERM "$lpid"
wait "$lstrace"
kill -TERM "$wpid"
wait "$wstrace"
grep -q "checkpoint" "$WORK/learner.log" || fail "no checkpoint message in the learner's log"
filter=$($check unit "$root" rlserve-learner.service SystemCallFilter)
families=$($check unit "$root" rlserve-learner.service RestrictAddressFamilies)
[ "$filter" = "$($check unit "$root" rlserve-worker@.service SystemCallFilter)" ] ||
  fail "the units filter differently; this test checks one filter"
systemd-analyze syscall-filter >"$WORK/groups.txt" || fail "systemd-analyze syscall-filter failed"
python3 - "$WORK/groups.txt" "$filter" "$families" "$state" "$WORK/learner.trace" "$WORK/worker.trace" <<'PY' ||
import re, sys
groups_file, filt, fams, state = sys.argv[1:5]
groups, cur = {}, None
for line in open(groups_file):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if not line.startswith(" "):
        cur = s
        groups[cur] = set()
    elif cur:
        groups[cur].add(s)
def expand(name, seen=()):
    if not name.startswith("@"):
        return {name}
    out = set()
    for m in groups.get(name, ()):
        if m not in seen:
            out |= expand(m, seen + (name,))
    return out
allowed = set()
for tok in filt.split():
    if tok.startswith("~"):
        sys.exit("the test knows allow lists only, not %s" % tok)
    allowed |= expand(tok)
bad = []
for trace in sys.argv[5:]:
    calls, fam, wx, writes = set(), set(), [], set()
    for line in open(trace):
        m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)\(", line)
        if m:
            calls.add(m.group(1))
        m = re.search(r"\bsocket\((AF_[A-Z0-9]+)", line)
        if m:
            fam.add(m.group(1))
        if re.search(r"\b(mmap|mprotect)\(.*PROT_(READ\|)?WRITE\|PROT_EXEC", line) or \
           re.search(r"\b(mmap|mprotect)\(.*PROT_EXEC\|.*PROT_WRITE", line):
            wx.append(line.strip())
        m = re.search(r'\bopenat\([^,]+, "([^"]+)", ([A-Z_|]+)', line)
        if m and re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(2)) and "= -1" not in line:
            writes.add(m.group(1))
    name = trace.rsplit("/", 1)[-1]
    print("%s: %d distinct system calls, socket families %s" % (name, len(calls), sorted(fam)))
    for c in sorted(calls - allowed):
        bad.append("%s: %s is not in SystemCallFilter=%s" % (name, c, filt))
    for f in sorted(fam - set(fams.split())):
        bad.append("%s: socket family %s is not in RestrictAddressFamilies=%s" % (name, f, fams))
    for l in wx[:3]:
        bad.append("%s: writable and executable mapping (MemoryDenyWriteExecute=): %s" % (name, l))
    for w in sorted(writes):
        if not (w.startswith(state + "/") or w.startswith("/dev/")):
            bad.append("%s: opened %s for writing, outside the state folder (ProtectSystem=strict)" % (name, w))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
  fail "the hardened units would stop what the learner or worker does"
echo "PASS: both units verify cleanly, exposure <= 2.5, and their command lines ran within the" \
  "units' system call, address family, W^X and write restrictions"
end_test
