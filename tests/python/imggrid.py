"""An image env for env = worker:ID runs with net = conv:...: a 5x5 grid observed as a (5, 5, 2)
binary image (channel 0 the agent, channel 1 the goal; a Box of dtype uint8 in [0, 1], so the
worker declares obs_shape 5x5x2 and sends packed bits). The agent and the goal start on distinct
random cells (from the reset seed); moves up/down/left/right (walls stop it), reward -1 per
step, terminated at the goal, truncated after 30 steps."""
import numpy as np

from rlserve_worker.spaces import Box, Discrete

MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


class ImgGrid:
    env_id = "ImgGrid-v0"
    size = 5
    max_steps = 30

    def __init__(self):
        self.observation_space = Box(0, 1, shape=(self.size, self.size, 2), dtype=np.uint8)
        self.action_space = Discrete(4)
        self.rng = np.random.default_rng()
        self.pos = self.goal = (0, 0)
        self.t = 0

    def _obs(self):
        o = np.zeros((self.size, self.size, 2), dtype=np.uint8)
        o[self.pos[0], self.pos[1], 0] = 1
        o[self.goal[0], self.goal[1], 1] = 1
        return o

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        n = self.size * self.size
        a, g = (int(v) for v in self.rng.choice(n, size=2, replace=False))
        self.pos, self.goal = divmod(a, self.size), divmod(g, self.size)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        dr, dc = MOVES[int(action)]
        self.pos = (min(max(self.pos[0] + dr, 0), self.size - 1),
                    min(max(self.pos[1] + dc, 0), self.size - 1))
        self.t += 1
        terminated = self.pos == self.goal
        truncated = not terminated and self.t >= self.max_steps
        return self._obs(), -1.0, terminated, truncated, {}
