"""CartPole-v1 in pure Python (Gymnasium API), written from
shared/reference/gymnasium-classic-control.md, for the Python worker's tests."""
import math
import random

import numpy as np

from rlserve_worker.spaces import Box, Discrete

THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4


class CartPole:
    env_id = "CartPole-v1"

    def __init__(self):
        inf = float("inf")
        self.observation_space = Box(np.array([-4.8, -inf, -0.41887903, -inf], dtype=np.float32),
                                     np.array([4.8, inf, 0.41887903, inf], dtype=np.float32))
        self.action_space = Discrete(2)
        self.rng = random.Random()
        self.state = (0.0, 0.0, 0.0, 0.0)
        self.t = 0

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng.seed(seed)
        self.state = tuple(self.rng.uniform(-0.05, 0.05) for _ in range(4))
        self.t = 0
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        x, x_dot, th, th_dot = self.state
        force = 10.0 if int(action) == 1 else -10.0
        c, s = math.cos(th), math.sin(th)
        temp = (force + 0.05 * th_dot * th_dot * s) / 1.1
        th_acc = (9.8 * s - c * temp) / (0.5 * (4.0 / 3.0 - 0.1 * c * c / 1.1))
        x_acc = temp - 0.05 * th_acc * c / 1.1
        x, x_dot = x + 0.02 * x_dot, x_dot + 0.02 * x_acc
        th, th_dot = th + 0.02 * th_dot, th_dot + 0.02 * th_acc
        self.state = (x, x_dot, th, th_dot)
        self.t += 1
        terminated = x < -X_LIMIT or x > X_LIMIT or th < -THETA_LIMIT or th > THETA_LIMIT
        truncated = not terminated and self.t >= 500
        return np.array(self.state, dtype=np.float32), 1.0, terminated, truncated, {}
