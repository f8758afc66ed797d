#!/usr/bin/env bash
# Slow clients on a live learner's status socket: 64 connections trickling their request one
# byte at a time must not keep a real GET /status out (answered within 2 s, three times over
# 7 s), one address keeps at most 16 connections, and a client trickling a byte a second (never
# idle long enough for the 10 s idle timeout) is closed by the 5 s request deadline. Before the
# fix the 64 held every slot and the real requests were closed on accept for as long as they
# trickled.
. "$(dirname "$0")/lib.sh"
out=$WORK/learner
"$RLSERVE" learner --preset cartpole-dqn --set env_steps_budget=1000000000 \
  --set solve_threshold=1e9 --set eval_interval=0 --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --status 127.0.0.1:0 --out "$out" >"$WORK/learner.log" 2>&1 &
PIDS+=("$!")
wait_for 20 test -s "$out/status.port" || fail "learner did not write status.port"
sport=$(cat "$out/status.port")
timeout 60 python3 - "$sport" <<'PY' || fail "slow status clients (see above)"
import socket, sys, time

port = int(sys.argv[1])

def still_open(s):
    try:
        return s.recv(1, socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

def real_get():
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while len(data) < 1 << 20:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
    except OSError as e:
        return "error %s" % e, time.monotonic() - t0
    code = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "no response"
    return code, time.monotonic() - t0

errs = []
slow = []
for i in range(64):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"G")
    s.setblocking(False)  # still_open polls without waiting
    slow.append(s)
time.sleep(0.5)
kept = sum(still_open(s) for s in slow)
print("64 trickling clients: %d kept open by the server" % kept)
if kept > 16:
    errs.append("%d connections from one address kept open (cap 16)" % kept)
for r in range(3):
    code, dt = real_get()
    print("real GET /status behind the trickling clients: %s in %.2f s" % (code, dt))
    if code != "200" or dt > 2.0:
        errs.append("round %d: GET /status answered %s after %.2f s" % (r, code, dt))
    for s in slow:  # the next byte of each slow request
        try:
            s.send(b"E")
        except OSError:
            pass
    time.sleep(2.5)
for s in slow:
    s.close()

# A byte a second: never idle for 10 s, closed by the 5 s deadline.
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.setblocking(False)
t0, closed_at = time.monotonic(), None
for ch in b"GET /status HTTP/1.1\r\nX-Slow: aaaaaaaaaaa":
    try:
        s.send(bytes([ch]))
    except OSError:
        closed_at = time.monotonic() - t0
        break
    time.sleep(1.0)
    if not still_open(s):
        closed_at = time.monotonic() - t0
        break
s.close()
print("a client sending a byte a second was closed after %s s" % (
    "%.1f" % closed_at if closed_at is not None else "never (in 30)"))
if closed_at is None or not 4.0 <= closed_at <= 7.5:
    errs.append("byte-a-second client closed after %s s, want ~5 (the request deadline)" % closed_at)
if errs:
    print("\n".join(errs))
    sys.exit(1)
PY
kill -0 "${PIDS[0]}" 2>/dev/null || fail "the learner died"
echo "PASS: 64 trickling clients did not keep real requests out; per-address cap and deadline hold"
