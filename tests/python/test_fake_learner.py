"""A Python worker with a token acts on nothing a peer sends before that peer proved the token
(proto/README.md): against fake learners on 127.0.0.1 it must exit 3 with a message and never
step. Fakes: (1) a WELCOME without a challenge, (2) a challenge then a wrong PROOF, (3) a
challenge then a WELCOME instead of the proof; and (4) a frame header over the pre-auth limit
drops the connection instead of buffering it (the worker keeps retrying; it is stopped by PID).
Usage: test_fake_learner.py (PYTHONPATH with the build's python folder and tests/python)."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from rlserve_worker import frame
from rlserve_worker.proto import pb

failures = []


def fake(behaviour, listener, seen):
    conn, _ = listener.accept()
    conn.settimeout(10)
    try:
        if behaviour == "welcome_first":
            conn.sendall(frame.encode(frame.WELCOME, pb.Welcome(worker_id=1, obs_dim=4, act_dim=2).SerializeToString()))
        else:
            conn.sendall(frame.encode(frame.CHALLENGE, pb.Challenge(nonce=os.urandom(32)).SerializeToString()))
            seen.append(conn.recv(4096))  # the Hello with the worker's proof
            if behaviour == "bad_proof":
                conn.sendall(frame.encode(frame.PROOF, pb.Proof(proof=b"\0" * 32).SerializeToString()))
            elif behaviour == "welcome_instead_of_proof":
                conn.sendall(frame.encode(frame.WELCOME, pb.Welcome(worker_id=1).SerializeToString()))
            elif behaviour == "oversized":
                conn.sendall(frame.header(frame.PROOF, 1 << 20))
        time.sleep(3)
    except OSError:
        pass
    finally:
        conn.close()


def run_case(behaviour, token, want_rc, want_text):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    seen = []
    t = threading.Thread(target=fake, args=(behaviour, ls, seen), daemon=True)
    t.start()
    p = subprocess.Popen([sys.executable, "-m", "rlserve_worker", "--connect", "127.0.0.1:%d" % port,
                          "--token-file", token, "--env", "cartpole_py:CartPole"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=15)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.terminate()  # stopped by its own PID
        out, _ = p.communicate(timeout=10)
        rc = None
    ls.close()
    ok = rc == want_rc and want_text in out and "first weights" not in out
    print("%s: exit %s, %s" % (behaviour, rc, "ok" if ok else "UNEXPECTED"))
    for line in out.splitlines():
        if want_text in line:
            print("   ", line.split("] ", 1)[-1])
            break
    if not ok:
        failures.append(behaviour)
        print(out)


def main():
    with tempfile.TemporaryDirectory() as d:
        token = os.path.join(d, "T")
        with open(token, "w") as f:
            f.write("a-test-token-of-some-length\n")
        run_case("welcome_first", token, 3, "it sent WELCOME without a challenge")
        run_case("bad_proof", token, 3, "its proof of the token does not verify")
        run_case("welcome_instead_of_proof", token, 3, "it sent WELCOME before proving the token")
        run_case("oversized", token, None, "exceeds limit 4096")
    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    print("PASS: the Python worker refuses learners that do not prove the token")
    return 0


if __name__ == "__main__":
    sys.exit(main())
