# Shared by the security tests: the integration helpers, a run token, and small readers of
# the learner's status socket and checkpoint files.
. "$(dirname "$0")/../integration/lib.sh"
HOSTILE=${RLSERVE_HOSTILE:-}
TOKEN=$WORK/token
printf 'security-test-token-%s\n' "$RANDOM$RANDOM$RANDOM" >"$TOKEN"
chmod 600 "$TOKEN"

# status_get PORT PATH: the body of GET PATH on the learner's status socket within 3 s, or
# nothing and status 1.
status_get() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=3).read().decode())
except Exception as e:
    print("status socket: %s" % e, file=sys.stderr); sys.exit(1)
PY
}

# ckpt_finite FILE: exit 0 when every float section (all but config, layout, counters, steps, rng,
# eval) of the checkpoint holds only finite values; prints what it found.
ckpt_finite() {
  python3 - "$1" <<'PY'
import math, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<I", b[12:16])[0]; off = 16; bad = 0; total = 0
for _ in range(n):
    name = b[off:off + 16].rstrip(b"\0").decode(); ln = struct.unpack("<Q", b[off + 16:off + 24])[0]
    data = b[off + 24:off + 24 + ln]; off += 24 + ln
    if name in ("config", "layout", "counters", "steps", "rng", "eval"): continue
    vals = struct.unpack("<%df" % (ln // 4), data); total += len(vals)
    nf = sum(1 for v in vals if not math.isfinite(v))
    if nf: print("%s: section %s has %d non-finite values" % (sys.argv[1], name, nf)); bad = 1
print("%s: %d floats checked" % (sys.argv[1], total))
sys.exit(bad)
PY
}
