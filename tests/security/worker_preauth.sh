#!/usr/bin/env bash
# A fake learner that, before proving the token, announces a 60 MiB Welcome and trickles its
# bytes: a worker with a token refuses the frame from its header alone (the pre-auth cap,
# FRAME_PREAUTH_MAX), drops the connection within seconds, and never buffers the payload.
. "$(dirname "$0")/../integration/lib.sh"
head -c 32 /dev/urandom | base64 >"$WORK/token"
python3 - "$WORK/port" "$WORK/fake.log" <<'PY' &
import socket, struct, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
open(sys.argv[1], "w").write("%d\n" % srv.getsockname()[1])
srv.settimeout(20)
c, _ = srv.accept()
log = open(sys.argv[2], "w")
# magic 'RLSV' (0x56534c52 little-endian), length 60 MiB, type 2 (Welcome), version 2
c.sendall(struct.pack("<IIHH", 0x56534C52, 60 << 20, 2, 2))
sent, t0 = 0, time.time()
try:
    while time.time() - t0 < 15:
        c.sendall(b"\0" * 65536); sent += 65536; time.sleep(0.05)
    log.write("still open after 15 s, %d bytes sent\n" % sent)
except OSError as e:
    log.write("closed by the worker after %.1f s, %d bytes sent (%s)\n" % (time.time() - t0, sent, e))
PY
fake=$!
PIDS+=("$fake")
wait_for 10 test -s "$WORK/port" || fail "fake learner did not start"
timeout 20 "$RLSERVE" worker --connect "127.0.0.1:$(cat "$WORK/port")" \
  --token-file "$WORK/token" >"$WORK/worker.log" 2>&1 &
worker=$!
PIDS+=("$worker")
wait "$fake"
cat "$WORK/fake.log"
grep -q "closed by the worker" "$WORK/fake.log" || fail "the worker kept reading a 60 MiB frame before the proof"
grep -q "frame length over the limit" "$WORK/worker.log" ||
  fail "the worker did not name the pre-auth limit: $(tail -3 "$WORK/worker.log")"
echo "PASS: a worker with a token refuses an oversized frame before the learner proved itself"
