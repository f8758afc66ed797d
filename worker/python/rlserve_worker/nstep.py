"""n-step transitions built on the worker, per env, from one-step ones: common/nstep.c, step
for step. For the step from s_t the emitted row is (s_t, a_t, R, s_{t+m}, flags, gamma^m) with
R = sum_{k<m} gamma^k r_{t+k} (in float64, then float32, as the C code sums) and m = n, or
fewer when the episode ends first: terminated at t+m-1 emits every queued step with its
partial return and flags TERMINATED (the learner ignores the discount); truncated emits them
with flags TRUNCATED, bootstrapping gamma^m from the truncated step's own next observation.
With n = 1 the rows are exactly the one-step ones (disc = float32(gamma))."""
import numpy as np

from .tbatch import TERMINATED, TRUNCATED


class Batch:
    """The rows being filled: preallocated arrays of cap rows, n of them used."""

    def __init__(self, cap, obs_dim, act_dim):
        self.cap = cap
        self.obs = np.zeros((cap, obs_dim), dtype=np.float32)
        self.act = np.zeros((cap, act_dim), dtype=np.float32)
        self.rew = np.zeros(cap, dtype=np.float32)
        self.next_obs = np.zeros((cap, obs_dim), dtype=np.float32)
        self.disc = np.zeros(cap, dtype=np.float32)
        self.flags = np.zeros(cap, dtype=np.uint8)
        self.n = 0

    def rows(self):
        """(obs, act, rew, next_obs, flags, disc) of the n rows (copies)."""
        n = self.n
        return (self.obs[:n].copy(), self.act[:n].copy(), self.rew[:n].copy(),
                self.next_obs[:n].copy(), self.flags[:n].copy(), self.disc[:n].copy())


class NStep:
    def __init__(self, k, n, obs_dim, act_dim, gamma):
        if k < 1 or n < 1 or obs_dim < 1 or act_dim < 1:
            raise ValueError("nstep: k %d, n %d, obs_dim %d, act_dim %d: each must be >= 1"
                             % (k, n, obs_dim, act_dim))
        self.k, self.n, self.gamma = k, n, float(gamma)
        self.obs = np.zeros((k, n, obs_dim), dtype=np.float32)
        self.act = np.zeros((k, n, act_dim), dtype=np.float32)
        self.rew = np.zeros((k, n), dtype=np.float32)
        self.head = [0] * k
        self.len = [0] * k

    def clear(self):
        self.len = [0] * self.k

    def _emit_oldest(self, i, next_obs, flags, out):
        n, m, h = self.n, self.len[i], self.head[i]
        R, g = 0.0, 1.0
        for l in range(m):
            R += g * float(self.rew[i, (h + l) % n])
            g *= self.gamma
        r = out.n
        out.obs[r] = self.obs[i, h]
        out.act[r] = self.act[i, h]
        out.next_obs[r] = next_obs
        out.rew[r] = R
        out.disc[r] = g
        out.flags[r] = flags
        out.n = r + 1
        self.head[i] = (h + 1) % n
        self.len[i] = m - 1

    def push(self, i, obs, act, rew, next_obs, flags, out):
        """One step of env i (s_t, a_t, r_t, s_{t+1} and its flags) into out (a Batch with room
        for n more rows); returns how many rows it appended."""
        n = self.n
        slot = (self.head[i] + self.len[i]) % n
        self.obs[i, slot] = obs
        self.act[i, slot] = act
        self.rew[i, slot] = rew
        self.len[i] += 1
        before = out.n
        if flags & (TERMINATED | TRUNCATED):
            while self.len[i] > 0:
                self._emit_oldest(i, next_obs, flags, out)
            self.head[i] = 0
        elif self.len[i] == n:
            self._emit_oldest(i, next_obs, 0, out)
        return out.n - before

    def push_all(self, obs, act, rew, next_obs, flags, out):
        """One step of every env (k rows each); n = 1 is the one-step copy, vectorized."""
        if self.n == 1:
            k, r = self.k, out.n
            out.obs[r:r + k] = obs
            out.act[r:r + k] = act
            out.rew[r:r + k] = rew
            out.next_obs[r:r + k] = next_obs
            out.flags[r:r + k] = flags
            out.disc[r:r + k] = self.gamma
            out.n = r + k
            return k
        return sum(self.push(i, obs[i], act[i], rew[i], next_obs[i], int(flags[i]), out)
                   for i in range(self.k))
