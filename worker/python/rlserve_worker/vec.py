"""K Gymnasium-API envs stepped together with automatic reset (like common env_vec): after a
step, next_obs holds what each step returned (the terminal observation for a finished episode)
and obs already holds the first observation of the next one."""
import numpy as np


class VecEnv:
    def __init__(self, envs, space, seed):
        self.envs = envs
        self.space = space
        self.k = len(envs)
        self.obs = np.zeros((self.k, space.obs_dim), dtype=np.float32)
        self.ret = np.zeros(self.k, dtype=np.float64)
        self.len = np.zeros(self.k, dtype=np.int64)
        for i, e in enumerate(envs):
            o, _ = e.reset(seed=int((seed + 7919 * i) % (1 << 32)))
            self.obs[i] = self._check(o, i)
        self._bounds(self.obs, "observation (reset)")

    def _check(self, o, i):
        o = np.asarray(o, dtype=np.float32).reshape(-1)
        if o.shape[0] != self.space.obs_dim:
            raise ValueError("env %d returned an observation of %d floats, its space says %d"
                             % (i, o.shape[0], self.space.obs_dim))
        return o

    def _bounds(self, rows, what):
        # The learner refuses a batch with such a value (and would again after a reconnect):
        # say here which env and element, once. One vectorized check per step.
        bad = ~np.isfinite(rows) | (rows < self.space.obs_low) | (rows > self.space.obs_high)
        if getattr(self.space, "binary", False):
            bad |= (rows != 0) & (rows != 1)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            lo = np.broadcast_to(self.space.obs_low, (self.space.obs_dim,))
            hi = np.broadcast_to(self.space.obs_high, (self.space.obs_dim,))
            raise ValueError("env %d returned %s element %d = %r, outside its %sobservation_space [%r, %r]"
                             % (i, what, j, float(rows[i, j]),
                                "binary (0 or 1) " if getattr(self.space, "binary", False) else "",
                                float(lo[j]), float(hi[j])))

    def step(self, actions):
        """actions: k x act_dim floats. Returns (next_obs, rew, term, trunc, finished) where
        finished lists (return, length) of the episodes that ended."""
        k = self.k
        next_obs = np.empty((k, self.space.obs_dim), dtype=np.float32)
        rew = np.empty(k, dtype=np.float32)
        term = np.zeros(k, dtype=bool)
        trunc = np.zeros(k, dtype=bool)
        finished = []
        for i, e in enumerate(self.envs):
            a = int(actions[i, 0]) if not self.space.continuous else np.asarray(actions[i], dtype=np.float32)
            o, r, te, tr, _ = e.step(a)
            next_obs[i] = self._check(o, i)
            rew[i] = r
            term[i], trunc[i] = bool(te), bool(tr)
            self.ret[i] += float(r)
            self.len[i] += 1
            if te or tr:
                finished.append((float(self.ret[i]), int(self.len[i])))
                self.ret[i] = 0.0
                self.len[i] = 0
                o, _ = e.reset()
                self.obs[i] = self._check(o, i)
            else:
                self.obs[i] = next_obs[i]
        self._bounds(next_obs, "observation")
        self._bounds(self.obs, "observation (reset)")
        if not np.all(np.isfinite(rew)):
            raise ValueError("env %d returned a non-finite reward" % int(np.argmin(np.isfinite(rew))))
        return next_obs, rew, term, trunc, finished
