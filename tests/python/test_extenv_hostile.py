"""Hostile EVAL_RESULT answers in an env = worker:ID run (security): fake workers on 127.0.0.1
declare the run's env, take their share of an evaluation and answer it wrongly. The C learner
refuses every bad answer with ERROR 400 naming the problem and closes only that connection; the
share goes to the next worker, at most REVAL_MAX_ASSIGN (4) times, after which that evaluation is
dropped (logged) and training goes on; a correct answer is then accepted and the evaluation
completes. The learner is stopped by its PID.
Usage: test_extenv_hostile.py (RLSERVE_BIN; PYTHONPATH with the build's python folder)."""
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

from rlserve_worker import frame, tbatch
from rlserve_worker.proto import pb

OBS, ACTS = 25, 4
failures = []


class Fake:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = frame.FrameReader(frame.MAX_PAYLOAD)
        h = pb.Hello(protocol_version=frame.VERSION, worker_name="fake", env_id="MyGrid-v0",
                     obs_dim=OBS, act_dim=ACTS, evaluates=True)
        h.obs_low.append(0.0)
        h.obs_high.append(1.0)
        self.send(frame.HELLO, h.SerializeToString())
        self.wid = self.wait_for(frame.WELCOME, 10).worker_id
        self.credit = 0

    def send(self, ftype, payload):
        self.sock.sendall(frame.encode(ftype, payload))

    def frames(self, timeout):
        """Yields (type, payload) until timeout seconds pass or the learner closes."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.sock], [], [], max(0.0, end - time.monotonic()))
            if not r:
                return
            data = self.sock.recv(1 << 16)
            if not data:
                yield None, None
                return
            self.reader.feed(data)
            while True:
                f = self.reader.next()
                if f is None:
                    break
                yield f[0], f[3]

    def wait_for(self, want, timeout):
        for t, p in self.frames(timeout):
            if t == frame.CREDIT:
                c = pb.Credit()
                c.ParseFromString(p)
                self.credit = getattr(self, "credit", 0) + c.transitions
            if t == want:
                m = {frame.WELCOME: pb.Welcome, frame.EVAL: pb.EvalRequest, frame.ERROR: pb.Error}[want]()
                m.ParseFromString(p)
                return m
            if t is None:
                return None
        return None

    def transitions(self, n):
        rng = np.random.default_rng(n)
        cells = rng.integers(0, OBS, n)
        obs = np.eye(OBS, dtype=np.float32)[cells]
        act = rng.integers(0, ACTS, (n, 1)).astype(np.float32)
        self.send(frame.TRANSITIONS, tbatch.encode(obs, act, -np.ones(n, np.float32), obs,
                                                   np.zeros(n, np.uint8), 0, self.wid))

    def close(self):
        self.sock.close()


def answer(rq, **change):
    r = pb.EvalResult(eval_id=rq.eval_id, seed_first=rq.seed_first)
    r.returns.extend([-4.0] * rq.count)
    r.lengths.extend([4] * rq.count)
    for k, v in change.items():
        if k in ("returns", "lengths"):
            getattr(r, k)[:] = v
        else:
            setattr(r, k, v)
    return r.SerializeToString()


def main():
    work = tempfile.mkdtemp(prefix="rlserve-hostile-")
    port_file = os.path.join(work, "port")
    log = open(os.path.join(work, "learner.log"), "w")
    learner = subprocess.Popen([os.environ["RLSERVE_BIN"], "learner", "--preset", "cartpole-dqn",
                                "--listen", "127.0.0.1:0", "--port-file", port_file, "--status", "off",
                                "--set", "env=worker:MyGrid-v0", "--set", "solve_threshold=0",
                                "--set", "eval_interval=64", "--set", "eval_episodes=4",
                                "--set", "learning_starts=10000", "--set", "hidden=16",
                                "--set", "eval_timeout_s=30"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        port = int(open(port_file).read())
        # An answer with no evaluation asked for.
        f = Fake(port)
        f.send(frame.EVAL_RESULT, answer(pb.EvalRequest(eval_id=7, seed_first=1000000, count=4)))
        check("unasked answer", f, "was not asked for it")
        cases = [("too few returns", dict(returns=[-4.0], lengths=[4]), "1 returns from seed"),
                 ("non-finite return", dict(returns=[float("nan")] * 4), "not finite"),
                 ("zero length", dict(lengths=[0, 4, 4, 4]), "lengths[0] is 0"),
                 ("other eval_id", dict(eval_id=999999), "was not asked for it"),
                 ("other seeds", dict(seed_first=5), "asked for 4 from seed"),
                 ("lengths missing", dict(lengths=[]), "4 returns but 0 lengths")]
        steps_sent = 0
        for name, change, want in cases:
            f = Fake(port)
            rq = f.wait_for(frame.EVAL, 2)
            if rq is None:  # the previous evaluation was dropped, or none is due yet: make one due
                f.transitions(64)
                steps_sent += 64
                rq = f.wait_for(frame.EVAL, 10)
            if rq is None:
                failures.append(name + ": no EVAL frame came")
                f.close()
                continue
            f.send(frame.EVAL_RESULT, answer(rq, **change))
            check(name, f, want)
        f = Fake(port)  # garbage instead of a protobuf message
        f.send(frame.EVAL_RESULT, b"\xff\xff\xff\xff")
        check("not protobuf", f, "eval result")
        # An honest worker: its answer completes an evaluation.
        f = Fake(port)
        rq = f.wait_for(frame.EVAL, 2)
        if rq is None:
            f.transitions(64)
            rq = f.wait_for(frame.EVAL, 10)
        if rq is None:
            failures.append("honest worker: no EVAL frame")
        else:
            f.send(frame.EVAL_RESULT, answer(rq))
            ok = False
            for _ in range(50):
                log.flush()
                if "greedy eval at" in open(os.path.join(work, "learner.log")).read():
                    ok = True
                    break
                time.sleep(0.1)
            print("honest answer: %s" % ("evaluation recorded" if ok else "NOT RECORDED"))
            if not ok:
                failures.append("honest answer not recorded")
        f.close()
        text = open(os.path.join(work, "learner.log")).read()
        if "none answered; this evaluation is dropped" not in text:
            failures.append("no bounded drop after %d assignments" % 4)
        if learner.poll() is not None:
            failures.append("the learner exited (%s)" % learner.returncode)
    finally:
        learner.terminate()  # by its PID
        try:
            learner.wait(timeout=15)
        except subprocess.TimeoutExpired:
            learner.kill()
            learner.wait()
        log.close()
    if failures:
        print("FAILED:", "; ".join(failures))
        print(open(os.path.join(work, "learner.log")).read()[-3000:])
        return 1
    print("PASS: every hostile eval answer refused; the learner kept running")
    shutil.rmtree(work, ignore_errors=True)  # kept when the test fails
    return 0


def check(name, f, want):
    e = f.wait_for(frame.ERROR, 10)
    closed = any(t is None for t, _ in f.frames(5))
    ok = e is not None and e.code == 400 and want in e.reason and closed
    print("%s: %s" % (name, ("refused: " + e.reason) if e is not None else "NO ERROR"))
    if not ok:
        failures.append(name)
    f.close()


if __name__ == "__main__":
    sys.exit(main())
