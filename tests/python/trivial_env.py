"""A trivial Gymnasium-API env with CartPole-v1's spaces (so a CartPole learner takes its
batches): a constant observation, reward 1, episodes of 200 steps. Its step costs next to
nothing, so a worker stepping it measures the worker itself (forward, batching, codec, I/O)."""
import numpy as np

from rlserve_worker.spaces import Box, Discrete


class Trivial:
    env_id = "CartPole-v1"

    def __init__(self):
        inf = float("inf")
        self.observation_space = Box(np.array([-4.8, -inf, -0.41887903, -inf], dtype=np.float32),
                                     np.array([4.8, inf, 0.41887903, inf], dtype=np.float32))
        self.action_space = Discrete(2)
        self.obs = np.array([0.01, -0.02, 0.03, -0.04], dtype=np.float32)
        self.t = 0

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.obs, {}

    def step(self, action):
        self.t += 1
        return self.obs, 1.0, False, self.t >= 200, {}
