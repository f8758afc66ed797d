"""How a run acts, one row per algorithm (server/algo): the network built from the run config
and the env's spaces, and exploration with this worker's epsilon or noise scale."""
import numpy as np

from .nn import Network, mlp, parse_hidden


def _anneal(start, final, done, steps):
    f = done / steps if steps > 0 else 1.0
    return start + (final - start) * min(max(f, 0.0), 1.0)


class Dqn:
    """Epsilon-greedy on the Q-network; epsilon anneals from eps_start to this worker's
    epsilon_final over eps_anneal_steps run steps (server/algo/dqn.c)."""
    discrete = True

    def __init__(self, cfg, space, rng):
        self.net = Network(mlp(space.obs_dim, parse_hidden(cfg["hidden"]), space.n_actions,
                               cfg["activation"], "identity"))
        self.n_actions = space.n_actions
        self.act_dim = 1
        self.weights_exact = True
        self.eps_start = float(cfg["eps_start"])
        self.anneal = float(cfg["eps_anneal_steps"])
        self.fixed = cfg.get("explore", "annealed") == "apex"  # Ape-X: eps_i as it is, no anneal
        self.rng = rng
        self.level = 0.0  # epsilon_final from the Welcome (or an Explore frame)
        self.now = 0.0

    def greedy(self, obs):
        return np.argmax(self.net.forward(obs), axis=1).astype(np.float32).reshape(-1, 1)

    def explore(self, obs, run_steps):
        eps = self.level if self.fixed else _anneal(self.eps_start, self.level, float(run_steps),
                                                     self.anneal)
        self.now = eps
        a = self.greedy(obs)[:, 0]
        k = a.shape[0]
        rand = self.rng.random(k) < eps
        a[rand] = self.rng.integers(0, self.n_actions, int(rand.sum()))
        return a.reshape(k, 1)


class Ddpg:
    """The actor (tanh, scaled to the bounds) plus Gaussian or Ornstein-Uhlenbeck noise of std
    noise_scale x half-width; uniform random actions for the run's first random_steps
    (server/algo/ddpg.c)."""
    discrete = False

    def __init__(self, cfg, space, rng):
        self.low = np.asarray(space.low, dtype=np.float32)
        self.high = np.asarray(space.high, dtype=np.float32)
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))):
            raise ValueError("the env has unbounded actions")
        self.scale = ((self.high.astype(np.float64) - self.low) / 2).astype(np.float32)
        self.bias = ((self.high.astype(np.float64) + self.low) / 2).astype(np.float32)
        self.act_dim = space.act_dim
        self.net = Network(mlp(space.obs_dim, parse_hidden(cfg["hidden"]), self.act_dim,
                               cfg["activation"], "tanh"))
        self.weights_exact = False
        self.random_steps = int(cfg["random_steps"])
        self.ou = cfg["noise_type"] == "ou"
        self.theta = float(cfg["ou_theta"])
        self.rng = rng
        self.level = 0.0  # noise_scale from the Welcome
        self.now = 0.0
        self.ou_state = None

    def greedy(self, obs):
        return self.bias + self.scale * self.net.forward(obs)

    def explore(self, obs, run_steps):
        k = obs.shape[0]
        self.now = self.level
        if run_steps < self.random_steps:
            return self.rng.uniform(self.low, self.high, (k, self.act_dim)).astype(np.float32)
        a = self.greedy(obs)
        sigma = self.level * self.scale
        if self.ou:
            if self.ou_state is None or self.ou_state.shape[0] != k:
                self.ou_state = np.zeros((k, self.act_dim), dtype=np.float32)
            dt = 0.01
            self.ou_state += (-self.theta * self.ou_state * dt
                              + sigma * np.sqrt(dt) * self.rng.standard_normal((k, self.act_dim))).astype(np.float32)
            e = self.ou_state
        else:
            e = sigma * self.rng.standard_normal((k, self.act_dim))
        return np.clip(a + e, self.low, self.high).astype(np.float32)


ALGOS = {"dqn": Dqn, "ddpg": Ddpg, "td3": Ddpg}
