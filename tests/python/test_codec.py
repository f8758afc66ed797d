"""Python <-> C codec round trips: frames the C codecs wrote (py_helper encode) decoded by
rlserve_worker, frames rlserve_worker wrote decoded by the C codecs (py_helper decode), the
handshake proofs and sealed frames both ways, and the numpy forward against common/nn.c.
Usage: test_codec.py PY_HELPER"""
import os
import struct
import subprocess
import sys
import tempfile

import msgpack
import numpy as np

from rlserve_worker import crypto, frame, spaces, tbatch
from rlserve_worker.spaces import EnvSpace
from rlserve_worker.worker import hello_payload
from rlserve_worker.nn import Network, build, mlp
from rlserve_worker.proto import pb

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)


def fill(n, dim):
    return np.array([[r + c / 8.0 - 1.5 for c in range(dim)] for r in range(n)], dtype=np.float32)


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def payload_of(buf, ftype):
    t, length = frame.decode_header(buf)
    expect(t == ftype, "frame type %d, expected %d" % (t, ftype))
    expect(length + frame.HEADER == len(buf), "frame length %d + 12 != %d" % (length, len(buf)))
    return buf[frame.HEADER:]


def fixed_keys():
    return bytes(range(32)), b"\x11" * 32, b"\x22" * 32


def c_to_python(helper, d):
    subprocess.run([helper, "encode", d], check=True)
    h = pb.Hello()
    h.ParseFromString(payload_of(read(d, "hello.frame"), frame.HELLO))
    expect((h.worker_name, h.host, h.pid, h.num_envs) == ("c-host:42", "c-host", 42, 16), "hello %s" % h)
    expect((h.env_id, h.obs_dim, h.act_dim, h.act_continuous, list(h.act_low), list(h.act_high)) ==
           ("Pendulum-v1", 3, 1, True, [-2.0], [2.0]), "hello env fields %s" % h)
    ev = pb.EvalRequest()
    ev.ParseFromString(payload_of(read(d, "eval.frame"), frame.EVAL))
    expect((ev.eval_id, ev.weights_version, ev.n_params, ev.seed_first, ev.count) == (42, 7, 5, 1000100, 25) and
           list(np.frombuffer(ev.online, dtype="<f4")) == [0.5, -1.0, 2.0, 0.0, 3.25], "eval request %s" % ev)
    w = pb.Welcome()
    w.ParseFromString(payload_of(read(d, "welcome.frame"), frame.WELCOME))
    expect(w.worker_id == 7 and w.worker_index == 1 and w.seed == 123456789012345 and
           w.epsilon_final == 0.01 and w.obs_dim == 4 and w.act_dim == 2 and w.env_id == "CartPole-v1",
           "welcome %s" % w)
    expect({c.key: c.value for c in w.config} == {"algo": "dqn", "hidden": "64,64"}, "welcome config")
    wt = pb.Weights()
    wt.ParseFromString(payload_of(read(d, "weights.frame"), frame.WEIGHTS))
    expect(wt.version == 9 and wt.env_steps == 5000 and wt.n_params == 10, "weights header %s" % wt.version)
    expect(np.array_equal(np.frombuffer(wt.online, "<f4"), fill(1, 10)[0]), "weights values")
    b = tbatch.decode(payload_of(read(d, "tbatch.frame"), frame.TRANSITIONS))
    want_next = fill(3, 4)
    want_next[:, 0] += 0.25
    expect(b["n"] == 3 and b["obs_dim"] == 4 and b["act_dim"] == 1 and b["wv"] == 1 << 40 and b["wid"] == 7,
           "tbatch header %s" % {k: b[k] for k in ("n", "obs_dim", "act_dim", "wv", "wid")})
    expect(np.array_equal(b["obs"], fill(3, 4)) and np.array_equal(b["next_obs"], want_next), "tbatch obs")
    expect(list(b["act"][:, 0]) == [0, 1, 0] and list(b["rew"]) == [1, 2, 3], "tbatch act/rew")
    expect(list(b["flags"]) == [0, tbatch.TERMINATED, tbatch.TRUNCATED], "tbatch flags %s" % b["flags"])
    e = pb.Error()
    e.ParseFromString(payload_of(read(d, "error.frame"), frame.ERROR))
    expect(e.code == 409 and e.reason == "env mismatch (env id)", "error %s" % e)
    key, nl, nw = fixed_keys()
    expect(crypto.verify(key, crypto.LEARNER_CONTEXT, nl, nw, read(d, "learner_proof.bin")),
           "the C learner's proof does not verify in Python")
    # env = worker:ID: the worker's own Hello (obs bounds, evaluates) and an EvalResult.
    grid = EnvSpace("MyGrid-v0", spaces.Box(0.0, 1.0, shape=(25,)), spaces.Discrete(4))
    with open(os.path.join(d, "py_hello_declared.frame"), "wb") as f:
        f.write(frame.encode(frame.HELLO, hello_payload(grid, 4)))
    er = pb.EvalResult(eval_id=42, seed_first=1000100, returns=[-4.0, -6.0, -2.5], lengths=[4, 6, 3])
    with open(os.path.join(d, "py_evalres.frame"), "wb") as f:
        f.write(frame.encode(frame.EVAL_RESULT, er.SerializeToString()))
    seal = crypto.Seal(key, nl, nw)
    for i in range(2):
        sealed = read(d, "sealed%d.frame" % i)
        t, length = frame.decode_header(sealed)
        plain = seal.rx.open(sealed[:frame.HEADER], sealed[frame.HEADER:])
        c = pb.Credit()
        c.ParseFromString(plain)
        expect(t == frame.CREDIT and c.transitions == 256 and length == len(plain) + crypto.TAG,
               "sealed credit %d" % i)
    try:
        seal.rx.open(read(d, "sealed0.frame")[:frame.HEADER], read(d, "sealed0.frame")[frame.HEADER:])
        expect(False, "a replayed sealed frame opened in Python")
    except ValueError:
        pass
    # The reader: pieces of one byte, and a header that lies about its length.
    r = frame.FrameReader(limit=100)
    whole = read(d, "error.frame")
    got = None
    for i in range(len(whole)):
        r.feed(whole[i:i + 1])
        got = r.next() or got
    expect(got is not None and got[0] == frame.ERROR, "reader reassembles a frame fed bytewise")
    r = frame.FrameReader(limit=100)
    r.feed(frame.header(frame.WEIGHTS, 101))
    try:
        r.next()
        expect(False, "a frame over the limit was accepted")
    except frame.FrameError as ex:
        expect("exceeds limit 100" in str(ex), "limit message: %s" % ex)


def python_to_c(helper, d):
    key, nl, nw = fixed_keys()
    mac = crypto.prove(key, crypto.WORKER_CONTEXT, nl, nw)
    h = pb.Hello(protocol_version=frame.VERSION, worker_name="py:4242", host="py", pid=4242, num_envs=16,
                 auth=mac, nonce=nw, env_id="MountainCarContinuous-v0", obs_dim=2, act_dim=1,
                 act_continuous=True, act_low=[-1.0], act_high=[1.0])
    with open(os.path.join(d, "py_hello.frame"), "wb") as f:
        f.write(frame.encode(frame.HELLO, h.SerializeToString()))
    nxt = fill(3, 4)
    nxt[:, 0] += 0.25
    tb = tbatch.encode(fill(3, 4), np.array([[0], [1], [0]]), np.array([1, 2, 3]), nxt,
                       np.array([0, tbatch.TERMINATED, tbatch.TRUNCATED]), 1 << 40, 7)
    whole = frame.encode(frame.TRANSITIONS, tb)
    with open(os.path.join(d, "py_tbatch.frame"), "wb") as f:
        f.write(whole)
    st = pb.Stats(env_steps=1000, episodes=2, episode_returns=[10.0, 21.5], episode_lengths=[10, 22],
                  steps_per_sec=5.5, dropped=0, weights_version=9, epsilon=0.25)
    with open(os.path.join(d, "py_stats.frame"), "wb") as f:
        f.write(frame.encode(frame.STATS, st.SerializeToString()))
    # env = worker:ID: the worker's own Hello (obs bounds, evaluates) and an EvalResult.
    grid = EnvSpace("MyGrid-v0", spaces.Box(0.0, 1.0, shape=(25,)), spaces.Discrete(4))
    with open(os.path.join(d, "py_hello_declared.frame"), "wb") as f:
        f.write(frame.encode(frame.HELLO, hello_payload(grid, 4)))
    er = pb.EvalResult(eval_id=42, seed_first=1000100, returns=[-4.0, -6.0, -2.5], lengths=[4, 6, 3])
    with open(os.path.join(d, "py_evalres.frame"), "wb") as f:
        f.write(frame.encode(frame.EVAL_RESULT, er.SerializeToString()))
    seal = crypto.Seal(key, nl, nw)
    for i in range(2):
        with open(os.path.join(d, "py_sealed%d.frame" % i), "wb") as f:
            f.write(seal.tx.seal(whole))
    rc = subprocess.run([helper, "decode", d]).returncode
    expect(rc == 0, "py_helper decode exited %d" % rc)


def forward_matches_c(helper, d):
    subprocess.run([helper, "nn", d], check=True)
    net = Network(mlp(5, [7, 3], 4, "relu", "tanh"))
    net.load(np.frombuffer(read(d, "nn_params.bin"), "<f4"))
    x = np.frombuffer(read(d, "nn_x.bin"), "<f4").reshape(6, 5)
    y = np.frombuffer(read(d, "nn_y.bin"), "<f4").reshape(6, 4)
    err = float(np.max(np.abs(net.forward(x) - y)))
    print("numpy forward vs nn.c: max abs difference %.3g over 6 x 4 outputs" % err)
    expect(err < 1e-5, "numpy forward differs from nn.c by %g" % err)


def conv_forward_matches_c(helper, d):
    """conv / flatten / dueling rows of nn.py against nn.c, nets as `net` lines build them."""
    subprocess.run([helper, "nnconv", d], check=True)
    for k in range(4):
        h, w, c, n_out, duel, act, out_act, net, n_params = read(d, "nnconv%d.txt" % k).decode().split()
        h, w, c, n_out, n_params = int(h), int(w), int(c), int(n_out), int(n_params)
        model = Network(build(h * w * c, (h, w, c), net, n_out, act, out_act, duel == "1"))
        expect(model.n_params == n_params,
               "%s: numpy layout has %d parameters, nn.c %d" % (net, model.n_params, n_params))
        model.load(np.frombuffer(read(d, "nnconv%d_params.bin" % k), "<f4"))
        x = np.frombuffer(read(d, "nnconv%d_x.bin" % k), "<f4").reshape(5, h * w * c)
        y = np.frombuffer(read(d, "nnconv%d_y.bin" % k), "<f4").reshape(5, n_out)
        got = model.forward(x)
        err = float(np.max(np.abs(got - y))) if got.shape == y.shape else float("inf")
        print("numpy forward vs nn.c, in %dx%dx%d %s%s -> %d: max abs difference %.3g"
              % (h, w, c, net, " dueling" if duel == "1" else "", n_out, err))
        expect(err < 1e-4, "numpy conv forward differs from nn.c by %g (%s)" % (err, net))


def bits_both_ways(helper, d):
    """tbatch "obs_enc" = "bits": C's batch decoded in Python, Python's decoded in C."""
    subprocess.run([helper, "bits", d], check=True)
    b = tbatch.decode(payload_of(read(d, "c_bits.frame"), frame.TRANSITIONS))
    want_o = np.frombuffer(read(d, "c_bits_obs.bin"), "<f4").reshape(4, 13)
    want_n = np.frombuffer(read(d, "c_bits_next.bin"), "<f4").reshape(4, 13)
    expect(np.array_equal(b["obs"], want_o) and np.array_equal(b["next_obs"], want_n),
           "C's bits batch unpacked differently in Python")
    expect(list(b["act"][:, 0]) == [0, 5, 2, 3], "bits batch act %s" % b["act"])
    rng = np.random.default_rng(4)
    obs = rng.integers(0, 2, (4, 13)).astype("<f4")
    nxt = rng.integers(0, 2, (4, 13)).astype("<f4")
    tb = tbatch.encode(obs, np.array([[1], [0], [4], [5]]), np.array([0, 1, 0, 0]), nxt,
                       np.array([0, 0, tbatch.TERMINATED, 0]), 3, 2, bits=True)
    with open(os.path.join(d, "py_bits.frame"), "wb") as f:
        f.write(frame.encode(frame.TRANSITIONS, tb))
    obs.tofile(os.path.join(d, "py_bits_obs.bin"))
    nxt.tofile(os.path.join(d, "py_bits_next.bin"))
    rc = subprocess.run([helper, "bitscheck", d]).returncode
    expect(rc == 0, "py_helper bitscheck exited %d" % rc)
    bad = False
    try:
        tbatch.encode(obs * 0.5, np.zeros((4, 1)), np.zeros(4), nxt, np.zeros(4), 3, 2, bits=True)
    except ValueError as e:
        bad = "not 0 or 1" in str(e)
    expect(bad, "a 0.5 was packed as a bit")
    m = msgpack.unpackb(tb, raw=False)
    m["obs"] = bytes([m["obs"][0], m["obs"][1] | 0x80]) + m["obs"][2:]
    try:
        tbatch.decode(msgpack.packb(m, use_bin_type=True))
        expect(False, "nonzero padding bits decoded")
    except tbatch.BatchError as e:
        expect("padding" in str(e), "padding refusal: %s" % e)


def main():
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        c_to_python(helper, d)
        python_to_c(helper, d)
        forward_matches_c(helper, d)
        conv_forward_matches_c(helper, d)
        bits_both_ways(helper, d)
    if failures:
        print("FAILED: %d check(s)" % len(failures))
        return 1
    print("PASS: frames, batches, proofs and sealed frames round-trip Python <-> C (bits too); MLP and conv forwards match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
