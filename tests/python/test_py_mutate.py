"""A bounded, seeded mutation test of the Python worker's decoders (no wall-clock bound: a fixed
number of cases from a fixed seed). Valid frames, sealed frames, Welcome / Weights / Explore /
EvalRequest / Credit / Error messages and transition batches (f32, bits, disc, prio) are
truncated, bit-flipped, given oversized lengths and counts, and type-confused (a field's wire
type changed, a message sent as another type, a batch key holding another msgpack type), then
fed to the worker's own decoders: frame.FrameReader, crypto's sealed-frame open, the Worker's
frame handlers, tbatch.decode. Each case must be accepted as valid or refused with the worker's
own error (FrameError, the seal's ValueError, Dropped / Fatal, BatchError); any other
exception, a MemoryError under the address-space limit set here, or an accepted value outside
its documented range fails the test.
Usage: test_py_mutate.py [CASES_PER_KIND]"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import logging  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

import msgpack  # noqa: E402
import numpy as np  # noqa: E402

from rlserve_worker import crypto, frame, tbatch  # noqa: E402
from rlserve_worker.proto import pb  # noqa: E402
from rlserve_worker.spaces import Box, Discrete  # noqa: E402
from rlserve_worker.worker import Dropped, Fatal, Worker  # noqa: E402

SEED = 20261201
MEM_LIMIT = 3 << 30  # bytes of address space: an unbounded allocation hits it as MemoryError
failures = []
counts = {}


class OneStep:
    """CartPole's spaces; every episode ends after one step, so an accepted EvalRequest of up
    to 100000 episodes plays in bounded time."""
    env_id = "CartPole-v1"

    def __init__(self):
        inf = float("inf")
        self.observation_space = Box(np.array([-4.8, -inf, -0.42, -inf], dtype=np.float32),
                                     np.array([4.8, inf, 0.42, inf], dtype=np.float32))
        self.action_space = Discrete(2)

    def reset(self, seed=None, options=None):
        return np.zeros(4, dtype=np.float32), {}

    def step(self, a):
        return np.zeros(4, dtype=np.float32), 1.0, True, False, {}


class QuietSock:
    """The worker's socket: sends are discarded; select never finds it readable."""

    def __init__(self, end):
        self.end = end

    def sendall(self, b):
        pass

    def fileno(self):
        return self.end.fileno()

    def close(self):
        pass


def record(kind, ok, what):
    counts.setdefault(kind, [0, 0])
    counts[kind][0 if ok == "accepted" else 1] += 1
    if ok not in ("accepted", "refused"):
        failures.append("%s: %s" % (kind, what))
        if len(failures) <= 10:
            print("FAIL %s: %s" % (kind, what))


def mutate(rng, b, allow_grow=True):
    """One mutation of bytes b: truncate, flip bits, overwrite, insert junk, duplicate, or
    inflate a varint/length byte."""
    b = bytearray(b)
    op = rng.randrange(7)
    if op == 0 and b:
        return bytes(b[:rng.randrange(len(b))])
    if op == 1 and b:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 2 and b:
        i = rng.randrange(len(b))
        b[i] = rng.choice([0x00, 0xff, 0x7f, 0x80, 0xc1, 0xdb, 0xc6, 0xcf])
    elif op == 3 and allow_grow:
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif op == 4 and allow_grow and b:
        i = rng.randrange(len(b))
        b[i:i] = b[i:i + rng.randint(1, 64)]
    elif op == 5 and b:  # an oversized length: 0xff bytes where a varint or size sits
        i = rng.randrange(len(b))
        b[i:i + 1] = b"\xff\xff\xff\xff\x0f" if rng.random() < 0.5 else b"\xff\xff\xff\xff"
    elif b:  # type confusion of a protobuf tag: change its wire type
        i = rng.randrange(len(b))
        b[i] = (b[i] & ~7) | rng.choice([0, 1, 2, 5, 3, 4])
    return bytes(b)


# -- frames ------------------------------------------------------------------------------------
def frames_case(rng):
    parts = b"".join(frame.encode(rng.choice(list(frame.NAMES)), bytes(rng.randrange(256) for _ in range(rng.randrange(64))))
                     for _ in range(rng.randint(1, 4)))
    data = mutate(rng, parts)
    limit = rng.choice([frame.PREAUTH_MAX, frame.MAX_PAYLOAD])
    r = frame.FrameReader(limit)
    try:
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 40)
            r.feed(data[pos:pos + step])
            pos += step
            while True:
                f = r.next()
                if f is None:
                    break
                ftype, length, hdr, payload = f
                if ftype not in frame.NAMES or length > limit or len(payload) != length:
                    return record("frame", "bad", "accepted type %d length %d" % (ftype, length))
        record("frame", "accepted", "")
    except frame.FrameError:
        record("frame", "refused", "")
    except Exception as e:
        record("frame", "bad", "%s: %s" % (type(e).__name__, e))


def sealed_case(rng, seal_pair):
    tx, rx = seal_pair
    f = tx.seal(frame.encode(frame.WEIGHTS, bytes(rng.randrange(256) for _ in range(rng.randrange(80)))))
    data = mutate(rng, f, allow_grow=False) if rng.random() < 0.9 else f
    if len(data) < frame.HEADER:
        return record("sealed", "refused", "")
    try:
        rx.open(data[:frame.HEADER], data[frame.HEADER:])
        record("sealed", "accepted" if data == f else "bad", "an altered sealed frame opened")
    except ValueError:
        record("sealed", "refused", "")
    except Exception as e:
        record("sealed", "bad", "%s: %s" % (type(e).__name__, e))


# -- messages through the worker's handlers -------------------------------------------------------
CFG = {"algo": "dqn", "env": "CartPole-v1", "hidden": "8", "activation": "relu", "envs_per_worker": "3",
       "send_batch": "32", "outbox_bytes": "65536", "stats_interval_s": "1", "idle_timeout_s": "10",
       "eps_start": "1", "eps_anneal_steps": "1000", "explore": "annealed", "n_step": "3", "gamma": "0.99",
       "actor_priorities": "true", "double_dqn": "true", "dueling": "false", "net": ""}
N_PARAMS = 4 * 8 + 8 + 8 * 2 + 2


def welcome_bytes(cfg=CFG):
    w = pb.Welcome(worker_id=3, worker_index=0, seed=5, epsilon_final=0.1, noise_scale=0.0, obs_dim=4,
                   act_dim=2, env_id="CartPole-v1")
    for k, v in cfg.items():
        w.config.add(key=k, value=v)
    return w.SerializeToString()


def weights_bytes(rng):
    on = np.asarray([rng.uniform(-1, 1) for _ in range(N_PARAMS)], dtype="<f4")
    return pb.Weights(version=7, env_steps=100, n_params=N_PARAMS, online=on.tobytes(),
                      target_net=on[::-1].copy().tobytes()).SerializeToString()


def messages(rng):
    return {
        frame.WELCOME: welcome_bytes(),
        frame.WEIGHTS: weights_bytes(rng),
        frame.EXPLORE: pb.Explore(worker_index=1, actors=3, epsilon=0.2, noise_scale=0.0).SerializeToString(),
        frame.EVAL: pb.EvalRequest(eval_id=1, weights_version=7, seed_first=11, count=3, n_params=N_PARAMS,
                                   online=np.zeros(N_PARAMS, "<f4").tobytes()).SerializeToString(),
        frame.CREDIT: pb.Credit(transitions=64).SerializeToString(),
        frame.ERROR: pb.Error(code=500, reason="x").SerializeToString(),
        frame.HEARTBEAT: b"",
    }


def fresh_worker(end, welcomed):
    w = Worker(OneStep, "127.0.0.1:9", envs=None)
    w.sock = QuietSock(end)
    w.tx = w.rx = None
    w.welcomed = False
    w.hello_sent = w.proven = False
    w.credit = 0
    if welcomed:
        w._handle(frame.WELCOME, welcome_bytes())
        w._handle(frame.WEIGHTS, weights_bytes(random.Random(1)))
    return w


def handler_case(rng, end):
    msgs = messages(rng)
    ftype = rng.choice(list(msgs))
    p = msgs[ftype]
    if rng.random() < 0.15:  # a message of one type sent as another
        ftype = rng.choice([t for t in msgs if t != ftype])
    elif rng.random() < 0.9:
        p = mutate(rng, p)
    if ftype == frame.WELCOME and rng.random() < 0.3:  # a valid message with hostile values
        cfg = dict(CFG)
        key = rng.choice(list(cfg))
        cfg[key] = rng.choice(["-1", "0", "1e12", "99999999999", "nan", "inf", "", "abc", "1,2,x",
                               "conv:2x2x2", "fc:0", "\x00", "1" * 300])
        p = welcome_bytes(cfg)
    kind = "msg:" + frame.type_name(ftype)
    w = fresh_worker(end, welcomed=ftype != frame.WELCOME or rng.random() < 0.3)
    try:
        w._handle(ftype, p)
    except (Dropped, Fatal):
        return record(kind, "refused", "")
    except MemoryError:
        return record(kind, "bad", "MemoryError: an unbounded allocation")
    except Exception as e:
        return record(kind, "bad", "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=3)))
    if ftype == frame.WELCOME and w.welcomed:
        ok = 1 <= w.k <= 4096 and 1 <= w.send_batch <= 65536 and 1 <= w.n_step <= 64
        return record(kind, "accepted" if ok else "bad", "accepted k %d send_batch %d n_step %d"
                      % (w.k, w.send_batch, w.n_step))
    record(kind, "accepted", "")


# -- transition batches -----------------------------------------------------------------------------
def batch_bytes(rng):
    n, od = rng.randint(1, 6), rng.choice([4, 13])
    bits = od == 13 and rng.random() < 0.5
    obs = (np.asarray([[rng.randrange(2) for _ in range(od)] for _ in range(n)], dtype=np.float32) if bits
           else np.asarray([[rng.uniform(-2, 2) for _ in range(od)] for _ in range(n)], dtype=np.float32))
    disc = np.full(n, 0.97, dtype=np.float32) if rng.random() < 0.5 else None
    prio = np.full(n, 0.5, dtype=np.float32) if rng.random() < 0.5 else None
    return tbatch.encode(obs, np.zeros((n, 1)), np.ones(n), obs[::-1], np.zeros(n, np.uint8), 3, 1,
                         bits=bits, disc=disc, prio=prio)


CONFUSE = [None, True, -1, 2 ** 63, 2 ** 40, 1.5, "x", b"\x00" * 3, [], [1, 2], {}, {"a": 1}]


def batch_case(rng):
    p = batch_bytes(rng)
    r = rng.random()
    if r < 0.4:
        m = msgpack.unpackb(p, raw=False)
        key = rng.choice(list(m) + ["n", "obs_dim", "obs", "flags", "disc", "prio", "obs_enc"])
        m[key] = rng.choice(CONFUSE)
        p = msgpack.packb(m, use_bin_type=True)
    elif r < 0.5:  # an oversized count with the small bins
        m = msgpack.unpackb(p, raw=False)
        m[rng.choice(["n", "obs_dim", "act_dim"])] = rng.choice([2 ** 31, 2 ** 40, 2 ** 64 - 1])
        p = msgpack.packb(m, use_bin_type=True)
    elif r < 0.55:  # deep nesting
        p = b"\x91" * rng.randint(100, 5000) + b"\xc0"
    else:
        p = mutate(rng, p)
    try:
        out = tbatch.decode(p)
    except tbatch.BatchError:
        return record("tbatch", "refused", "")
    except MemoryError:
        return record("tbatch", "bad", "MemoryError: an unbounded allocation")
    except Exception as e:
        return record("tbatch", "bad", "%s: %s" % (type(e).__name__, e))
    n, od, ad = out["n"], out["obs_dim"], out["act_dim"]
    ok = (out["obs"].shape == (n, od) and out["next_obs"].shape == (n, od) and out["act"].shape == (n, ad)
          and out["rew"].shape == (n,) and out["flags"].shape == (n,) and np.all(np.isfinite(out["obs"])))
    record("tbatch", "accepted" if ok else "bad", "accepted shapes %s" % {k: getattr(v, "shape", v) for k, v in out.items()})


def main():
    per_kind = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    logging.getLogger("rlserve_worker").setLevel(logging.CRITICAL)  # refusals are logged there
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    rng = random.Random(SEED)
    a, b = socket.socketpair()
    key = bytes(range(32))
    nl, nw = b"\x11" * 32, b"\x22" * 32
    for i in range(per_kind):
        frames_case(rng)
        # a fresh pair per case (worker seals, learner opens): the counters start together
        sealed_case(rng, (crypto.Seal(key, nl, nw).tx, crypto.Seal(key, nl, nw, as_learner=True).rx))
        handler_case(rng, a)
        handler_case(rng, a)
        batch_case(rng)
        batch_case(rng)
    a.close()
    b.close()
    for k in sorted(counts):
        print("%-18s %4d accepted, %4d refused cleanly" % (k, counts[k][0], counts[k][1]))
    if failures:
        print("FAILED: %d case(s) (seed %d)" % (len(failures), SEED))
        return 1
    print("PASS: %d mutated inputs (seed %d), each accepted as valid or refused with the worker's own error"
          % (sum(a + r for a, r in counts.values()), SEED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
