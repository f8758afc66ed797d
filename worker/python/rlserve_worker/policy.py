"""How a run acts, one row per algorithm (server/algo): the network built from the run config
and the env's spaces, and exploration with this worker's epsilon or noise scale."""
import numpy as np

from .nn import Network, build, mlp, parse_hidden
from .tbatch import TERMINATED


def _true(v):
    return str(v).strip().lower() in ("true", "1", "yes", "on")


def layout(cfg, n_in, n_out, out_act, dueling=False, in_shape=None):
    """The layer specs common/policy.c's policy_net_layout makes from a run config: `net` when
    set, else the MLP of `hidden` (with a dueling head: the same trunk as fc layers); in_shape
    (H, W, C) for an image observation (conv layers), else None."""
    act = "tanh" if cfg.get("activation") == "tanh" else "relu"
    net = cfg.get("net", "")
    hidden = parse_hidden(cfg.get("hidden", ""))
    if not net and not dueling:
        return mlp(n_in, hidden, n_out, act, out_act)
    if not net:
        net = ",".join("fc:%d" % h for h in hidden)
    return build(n_in, in_shape, net, n_out, act, out_act, dueling)


def _dqn_targets(net, double, online, target, rew, next_obs, flags, disc):
    """r + disc * (1 - terminated) * Q_target(s', a*) with a* from the online (double DQN) or
    the target network, in float32 as server/algo/dqn.c computes it."""
    qn = net.forward(next_obs, online if double else target)
    astar = np.argmax(qn, axis=1)  # the first of equal maxima, as nn_argmax
    qt = net.forward(next_obs, target)
    keep = np.where(flags & TERMINATED, np.float32(0), np.float32(1)).astype(np.float32)
    sel = qt[np.arange(qt.shape[0]), astar].astype(np.float32)
    return (rew.astype(np.float32) + (disc.astype(np.float32) * keep) * sel).astype(np.float32)


def _anneal(start, final, done, steps):
    f = done / steps if steps > 0 else 1.0
    return start + (final - start) * min(max(f, 0.0), 1.0)


class Dqn:
    """Epsilon-greedy on the Q-network; epsilon anneals from eps_start to this worker's
    epsilon_final over eps_anneal_steps run steps (server/algo/dqn.c)."""
    discrete = True

    def __init__(self, cfg, space, rng):
        self.net = Network(layout(cfg, space.obs_dim, space.n_actions, "identity",
                                  _true(cfg.get("dueling", "false")),
                                  getattr(space, "obs_shape", None)))
        self.double = _true(cfg.get("double_dqn", "true"))
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

    def priorities(self, online, target, obs, act, rew, next_obs, flags, disc):
        """Ape-X initial priorities |Q_online(s, a) - y| (server/algo/dqn.c dqn_priorities);
        online and target: the published buffers (the network's layout)."""
        y = _dqn_targets(self.net, self.double, online, target, rew, next_obs, flags, disc)
        q = self.net.forward(obs, online)
        a = act.reshape(-1).astype(np.int64)
        return np.abs(q[np.arange(q.shape[0]), a] - y).astype(np.float32)


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
        self.net = Network(layout(cfg, space.obs_dim, self.act_dim, "tanh"))
        # The published buffer: actor | critic 1 | (critic 2, td3); a critic reads [s, a].
        self.critic = Network(layout(cfg, space.obs_dim + self.act_dim, 1, "identity"))
        self.twin = cfg.get("algo") == "td3"
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

    def priorities(self, online, target, obs, act, rew, next_obs, flags, disc):
        """Ape-X DPG initial priorities (server/algo/ddpg.c ddpg_priorities): |Q1(s, a) - y|,
        y = r + disc * (1 - terminated) * min_k Q'_k(s', mu'(s')) without target smoothing."""
        na, nc = self.net.n_params, self.critic.n_params
        if online.shape[0] < na + nc * (2 if self.twin else 1) or target.shape[0] < online.shape[0]:
            raise ValueError("priorities: the published buffers hold no critics")
        u = self.net.forward(next_obs, target[:na])
        sa = np.concatenate([next_obs, self.bias + self.scale * u], axis=1).astype(np.float32)
        boot = self.critic.forward(sa, target[na:na + nc])[:, 0]
        if self.twin:
            boot = np.minimum(boot, self.critic.forward(sa, target[na + nc:na + 2 * nc])[:, 0])
        keep = np.where(flags & TERMINATED, np.float32(0), np.float32(1)).astype(np.float32)
        y = (rew.astype(np.float32) + (disc.astype(np.float32) * keep) * boot).astype(np.float32)
        q = self.critic.forward(np.concatenate([obs, act], axis=1), online[na:na + nc])[:, 0]
        return np.abs(q - y).astype(np.float32)


ALGOS = {"dqn": Dqn, "ddpg": Ddpg, "td3": Ddpg}
