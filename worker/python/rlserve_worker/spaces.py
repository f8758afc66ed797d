"""Minimal Gymnasium-compatible spaces for envs written without gymnasium installed. Any
object with the same attributes works (gymnasium.spaces.Discrete / Box included): Discrete has
`n`; Box has `low`, `high` and `shape`."""
import numpy as np


class Discrete:
    def __init__(self, n):
        self.n = int(n)
        self.shape = ()


class Box:
    def __init__(self, low, high, shape=None, dtype=np.float32):
        if shape is not None:
            low = np.full(shape, low, dtype=np.float32) if np.isscalar(low) else low
            high = np.full(shape, high, dtype=np.float32) if np.isscalar(high) else high
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        self.shape = self.low.shape
        self.dtype = dtype


class MultiBinary:
    """n elements, each exactly 0 or 1 (gymnasium.spaces.MultiBinary works as well)."""

    def __init__(self, n):
        self.n = int(n)
        self.shape = (self.n,)
        self.dtype = np.int8


def is_binary(space):
    """A binary observation space: a MultiBinary, or a Box of bounds [0, 1] with an integer or
    bool dtype (a float Box in [0, 1] may hold any value between). An env may also say so with
    `binary = True` on its observation space."""
    if getattr(space, "binary", False) is True or type(space).__name__ == "MultiBinary":
        return True
    dt = getattr(space, "dtype", None)
    try:
        integral = dt is not None and (np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.bool_))
    except TypeError:
        return False
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    return bool(integral and low is not None and high is not None and
                np.all(np.asarray(low) == 0) and np.all(np.asarray(high) == 1))


class EnvSpace:
    """What a worker declares in its Hello, read from an env's spaces."""

    def __init__(self, env_id, observation_space, action_space):
        self.env_id = env_id
        shape = tuple(getattr(observation_space, "shape", ()) or ())
        if len(shape) not in (1, 3) or any(int(d) < 1 for d in shape):
            raise ValueError("observation_space must be a flat Box (shape (n,)) or an image Box "
                             "(shape (H, W, C)), got shape %r" % (shape,))
        # An image (H, W, C) travels flattened channels last, numpy's C order of the array,
        # and is declared in the Hello (obs_shape) so a run can use net = conv:...
        self.obs_shape = tuple(int(d) for d in shape) if len(shape) == 3 else None
        self.obs_dim = int(np.prod([int(d) for d in shape]))
        self.binary = is_binary(observation_space)
        if self.binary:  # every element exactly 0 or 1: bounds [0, 1], packed bits on the wire
            self.obs_low = np.zeros(1, dtype=np.float32)
            self.obs_high = np.ones(1, dtype=np.float32)
        else:
            self.obs_low = np.asarray(getattr(observation_space, "low", -np.inf), dtype=np.float32).reshape(-1)
            self.obs_high = np.asarray(getattr(observation_space, "high", np.inf), dtype=np.float32).reshape(-1)
        if hasattr(action_space, "n") and not hasattr(action_space, "low"):
            self.continuous = False
            self.n_actions = int(action_space.n)
            self.act_dim = 1
            self.low = self.high = None
        else:
            self.continuous = True
            self.low = np.asarray(action_space.low, dtype=np.float32).reshape(-1)
            self.high = np.asarray(action_space.high, dtype=np.float32).reshape(-1)
            self.act_dim = int(self.low.shape[0])
            self.n_actions = 0

    @property
    def n_out(self):
        """The Welcome's act_dim: number of actions, or action dims."""
        return self.act_dim if self.continuous else self.n_actions


def env_id_of(env, override=None):
    if override:
        return override
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return spec.id
    for name in ("env_id", "id"):
        v = getattr(env, name, None)
        if isinstance(v, str) and v:
            return v
    raise ValueError("the env declares no id: give it an `env_id` attribute (e.g. 'CartPole-v1') "
                     "or pass --env-id")
