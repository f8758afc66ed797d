"""The Python worker's n-step builder and actor priorities against the C worker's code: a
hand-made step sequence around episode ends (terminations and truncations before, at and after
n steps, several envs) through rlserve_worker.nstep and through common/nstep.c (py_helper
nstep), compared byte for byte both ways (C checks Python's bytes, Python checks C's); and the
initial priorities Python computes (policy.Dqn / policy.Ddpg .priorities) against the C algo rows'
(py_helper prio) on the same random buffers and rows, within 1e-5.
Usage: test_nstep_prio.py PY_HELPER"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

from rlserve_worker import tbatch
from rlserve_worker.nstep import Batch, NStep
from rlserve_worker.policy import ALGOS
from rlserve_worker.spaces import Box, Discrete, EnvSpace

failures = []
T, R = tbatch.TERMINATED, tbatch.TRUNCATED


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)


def sequence(k, steps, od, ad, seed):
    """Step records (obs, act, rew, next_obs, flags) per step and env, with episode ends placed
    by hand: env 0 terminates after 2 steps and after 3, env 1 truncates after 4 and after 1,
    env 2 terminates after 1 step then runs long; later ends from a fixed pattern."""
    rng = np.random.default_rng(seed)
    ends = {0: {1: T, 4: T, 9: R, 10: T}, 1: {3: R, 4: R, 8: T, 11: R}, 2: {0: T, 12: R}}
    recs = []
    for s in range(steps):
        row = []
        for i in range(k):
            fl = ends.get(i % 3, {}).get(s, 0)
            row.append((rng.normal(size=od).astype(np.float32), rng.integers(0, 4, ad).astype(np.float32),
                        np.float32(rng.normal()), rng.normal(size=od).astype(np.float32), fl))
        recs.append(row)
    return recs


def write_in(path, k, n, od, ad, gamma, recs):
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", k, n, od, ad, len(recs)) + struct.pack("<d", gamma))
        for row in recs:
            for o, a, r, nx, fl in row:
                f.write(o.tobytes() + a.tobytes() + struct.pack("<f", r) + nx.tobytes() + bytes([fl]))


def python_rows(k, n, od, ad, gamma, recs):
    ns = NStep(k, n, od, ad, gamma)
    out = Batch(len(recs) * k + 1, od, ad)
    for row in recs:
        if n == 1:  # the vectorized one-step path
            ns.push_all(np.stack([x[0] for x in row]), np.stack([x[1] for x in row]),
                        np.array([x[2] for x in row], dtype=np.float32), np.stack([x[3] for x in row]),
                        np.array([x[4] for x in row], dtype=np.uint8), out)
        else:
            for i, (o, a, r, nx, fl) in enumerate(row):
                ns.push(i, o, a, r, nx, fl, out)
    b = struct.pack("<i", out.n)
    for r in range(out.n):
        b += (out.obs[r].tobytes() + out.act[r].tobytes() + out.rew[r:r + 1].tobytes() +
              out.next_obs[r].tobytes() + out.disc[r:r + 1].tobytes() + bytes([int(out.flags[r])]))
    return b, out


def nstep_both_ways(helper, d):
    for k, n, gamma in ((3, 3, 0.99), (4, 1, 0.99), (3, 5, 0.9), (2, 2, 0.5)):
        od, ad = 3, 1
        recs = sequence(k, 14, od, ad, seed=k * 10 + n)
        write_in(os.path.join(d, "nstep_in.bin"), k, n, od, ad, gamma, recs)
        py, out = python_rows(k, n, od, ad, gamma, recs)
        with open(os.path.join(d, "nstep_py.bin"), "wb") as f:
            f.write(py)
        subprocess.run([helper, "nstep", d], check=True)
        with open(os.path.join(d, "nstep_c.bin"), "rb") as f:
            c = f.read()
        expect(py == c, "k %d n %d: Python's n-step rows differ from nstep.c's (%d vs %d bytes)"
               % (k, n, len(py), len(c)))
        rc = subprocess.run([helper, "nstepcheck", d]).returncode
        expect(rc == 0, "k %d n %d: py_helper nstepcheck exited %d" % (k, n, rc))
        # What the rows must hold, by hand: env 2 terminates on its first step, so its first
        # row is that step alone, terminated, with disc gamma^1.
        first2 = [r for r in range(out.n) if k > 2 and np.array_equal(out.obs[r], recs[0][2][0])]
        expect(k < 3 or len(first2) == 1 and out.flags[first2[0]] == T and
               out.disc[first2[0]] == np.float32(gamma) and out.rew[first2[0]] == recs[0][2][2],
               "k %d n %d: env 2's one-step terminated episode" % (k, n))
        print("nstep k %d n %d gamma %g: %d rows equal both ways" % (k, n, gamma, out.n))


def parse_cfg(text):
    cfg = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if "=" in line:
            key, _, value = line.partition("=")
            cfg[key.strip()] = value.strip()
    return cfg


def priorities_match_c(helper, d, preset, *over):
    subprocess.run([helper, "prio", d, preset] + list(over), check=True)
    rd = lambda name: open(os.path.join(d, name), "rb").read()
    cfg = parse_cfg(rd("prio_cfg.txt").decode())
    online = np.frombuffer(rd("prio_online.bin"), "<f4")
    target = np.frombuffer(rd("prio_target.bin"), "<f4")
    rows = rd("prio_rows.bin")
    n, od, ad, na = struct.unpack_from("<4i", rows, 0)
    off = 16

    def take(count, dt="<f4", size=4):
        nonlocal off
        a = np.frombuffer(rows, dt, count, off)
        off += count * size
        return a

    obs, act, rew = take(n * od).reshape(n, od), take(n * ad).reshape(n, ad), take(n)
    nxt, disc, flags = take(n * od).reshape(n, od), take(n), take(n, np.uint8, 1)
    want = np.frombuffer(rd("prio_c.bin"), "<f4")
    if na > 0:
        space = EnvSpace("x", Box(-np.inf, np.inf, shape=(od,)), Discrete(na))
    else:  # the presets' continuous env is Pendulum-v1: torque in [-2, 2]
        space = EnvSpace("x", Box(-np.inf, np.inf, shape=(od,)), Box(-2.0, 2.0, shape=(ad,)))
    algo = ALGOS[cfg["algo"]](cfg, space, np.random.default_rng(0))
    algo.net.load(online)
    got = algo.priorities(online, target, obs, act, rew, nxt, flags, disc)
    err = float(np.max(np.abs(got - want)))
    expect(got.shape == want.shape and err <= 1e-5,
           "%s %s: priorities differ from C by %.3g (max over %d rows)" % (preset, " ".join(over), err, n))
    expect(float(np.max(want)) > 0, "%s: C priorities all zero" % preset)
    print("priorities %s %s (%s): %d rows, max |Python - C| = %.3g, mean priority %.4g"
          % (preset, " ".join(over), cfg["algo"], n, err, float(want.mean())))


def main():
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        nstep_both_ways(helper, d)
        priorities_match_c(helper, d, "cartpole-apex")
        priorities_match_c(helper, d, "cartpole-apex", "double_dqn=false")
        priorities_match_c(helper, d, "cartpole-apex", "dueling=true")
        priorities_match_c(helper, d, "cartpole-apex", "net=fc:32,fc:16")
        priorities_match_c(helper, d, "pendulum-apex-td3")
        priorities_match_c(helper, d, "pendulum-apex-td3", "algo=ddpg")
    if failures:
        print("FAILED: %d check(s)" % len(failures))
        return 1
    print("PASS: n-step rows equal common/nstep.c both ways; actor priorities match the C rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
