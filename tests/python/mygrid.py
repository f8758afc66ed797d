"""A brand-new env, unlike every built-in one, for the env = worker:ID tests: a 5x5 grid, the
agent starts on a random cell (from the reset seed) other than the goal in the corner (4, 4),
moves up/down/left/right (walls stop it), reward -1 per step, terminated at the goal, truncated
after 50 steps. Observation: one-hot of the cell (25 floats in [0, 1]). The optimal return of an
episode is minus the Manhattan distance to the goal: -100/24 = -4.17 on average over starts.

MyGridWide (a 6x6 grid) declares other spaces; MyGridSlowEval starts evaluation episodes (reset
seeds from 1000000, the learner's eval_seed) slowly, so a test can stop a worker in the middle."""
import time

import numpy as np

from rlserve_worker.spaces import Box, Discrete

MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


class MyGrid:
    env_id = "MyGrid-v0"
    size = 5
    max_steps = 50

    def __init__(self):
        n = self.size * self.size
        self.observation_space = Box(0.0, 1.0, shape=(n,))
        self.action_space = Discrete(4)
        self.rng = np.random.default_rng()
        self.pos = (0, 0)
        self.t = 0

    def _obs(self):
        o = np.zeros(self.size * self.size, dtype=np.float32)
        o[self.pos[0] * self.size + self.pos[1]] = 1.0
        return o

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        n = self.size * self.size
        cell = int(self.rng.integers(0, n - 1))  # every cell but the goal, the last one
        self.pos = (cell // self.size, cell % self.size)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        dr, dc = MOVES[int(action)]
        r = min(max(self.pos[0] + dr, 0), self.size - 1)
        c = min(max(self.pos[1] + dc, 0), self.size - 1)
        self.pos = (r, c)
        self.t += 1
        terminated = self.pos == (self.size - 1, self.size - 1)
        truncated = not terminated and self.t >= self.max_steps
        return self._obs(), -1.0, terminated, truncated, {}


class MyGridWide(MyGrid):
    size = 6


class MyGridSlowEval(MyGrid):
    def reset(self, seed=None, options=None):
        # The learner's eval_seed (1000000) onwards; the worker's own training seeds are 32-bit
        # hashes that land here once in ~40000 runs.
        if seed is not None and 1000000 <= seed < 1100000:
            time.sleep(0.5)  # an evaluation share of n episodes takes at least n / 2 s
        return super().reset(seed=seed, options=options)


class MyGridBits(MyGrid):
    """The same grid declaring a binary observation space (each element exactly 0 or 1): the
    worker sends packed bits, the learner keeps them as bits in replay."""
    env_id = "MyGridBits-v0"

    def __init__(self):
        super().__init__()
        from rlserve_worker.spaces import MultiBinary
        self.observation_space = MultiBinary(self.size * self.size)
