"""Pendulum-v1 in pure Python (Gymnasium API), written from
shared/reference/gymnasium-classic-control.md, for the Python worker's continuous-action test."""
import math
import random

import numpy as np

from rlserve_worker.spaces import Box


class Pendulum:
    env_id = "Pendulum-v1"

    def __init__(self):
        self.observation_space = Box(np.array([-1, -1, -8], dtype=np.float32), np.array([1, 1, 8], dtype=np.float32))
        self.action_space = Box(np.array([-2.0], dtype=np.float32), np.array([2.0], dtype=np.float32))
        self.rng = random.Random()
        self.th = self.thd = 0.0
        self.t = 0

    def _obs(self):
        return np.array([math.cos(self.th), math.sin(self.th), self.thd], dtype=np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng.seed(seed)
        self.th = self.rng.uniform(-math.pi, math.pi)
        self.thd = self.rng.uniform(-1.0, 1.0)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        u = min(max(float(np.asarray(action).reshape(-1)[0]), -2.0), 2.0)
        norm = ((self.th + math.pi) % (2 * math.pi)) - math.pi
        cost = norm * norm + 0.1 * self.thd * self.thd + 0.001 * u * u
        self.thd = min(max(self.thd + (15.0 * math.sin(self.th) + 3.0 * u) * 0.05, -8.0), 8.0)
        self.th = self.th + self.thd * 0.05
        self.t += 1
        return self._obs(), -cost, False, self.t >= 200, {}
