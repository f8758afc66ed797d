"""rlserve_worker.evaluate.play on Pendulum (tests/python/pendulum_py.py) with a 3-64-64-1 tanh
actor of random weights: an evaluation played whole (20 episodes from seed 1000) and played as
the learner splits it into shares across workers (7 + 13, and 20 shares of 1) gives the same
returns bit for bit, so the mean a run reports is the one `python3 -m rlserve_worker.evaluate`
replays on its seeds (README, "Envs in Python"). Also prints whether numpy's batched forward
on this machine gives a row other bits in a batch of another size (the reason play() forwards
one row at a time; the it_py_extenv_export flake of 2026-12-02: 2.7e-9 relative).
Usage: test_eval_shares.py"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pendulum_py import Pendulum  # noqa: E402

from rlserve_worker import evaluate, nn  # noqa: E402
from rlserve_worker.spaces import EnvSpace  # noqa: E402

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)


rng = np.random.default_rng(5)
net = nn.Network(nn.mlp(3, [64, 64], 1, "relu", "tanh"))
net.load(rng.uniform(-0.5, 0.5, net.n_params).astype(np.float32))


def greedy(obs):
    return 2.0 * net.forward(obs)


space = EnvSpace("Pendulum-v1", Pendulum().observation_space, Pendulum().action_space)
envs = [Pendulum() for _ in range(evaluate.CHUNK)]
SEED, N = 1000, 20
whole, lens = evaluate.play(envs, space, greedy, SEED, N)
expect(lens.tolist() == [200] * N, "episode lengths %s" % lens.tolist())
for shares in ([7, 13], [1] * N, [N - 3, 3]):
    got, at = [], SEED
    for k in shares:
        r, _ = evaluate.play(envs, space, greedy, at, k)
        got.extend(r.tolist())
        at += k
    expect(got == whole.tolist(),
           "shares %s: returns differ from one evaluator's (max %g)"
           % (shares, float(np.max(np.abs(np.array(got) - whole)))))
print("play: %d episodes whole and in shares of 7 + 13, 1 x 20, 17 + 3: the same returns (mean %.6f)"
      % (N, float(whole.mean())))

# What the one-row forwards avoid: the same rows in batches of other sizes.
x = rng.uniform(-1, 1, (N, 3)).astype(np.float32)
full = greedy(x)
worst = max(float(np.max(np.abs(np.concatenate([greedy(x[i:i + k]) for i in range(0, N, k)]) - full)))
            for k in (1, 3, 5, 7, 10))
print("numpy batched forward here: rows in batches of 1, 3, 5, 7, 10 differ from the batch of %d "
      "by up to %g" % (N, worst))

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("PASS")
