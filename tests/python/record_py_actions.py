"""Records N observations from greedy episodes of a checkpoint's policy on a Python env, with
the actions the Python worker's own numpy forward chooses for them (rlserve_worker.evaluate's
checkpoint policy: the network the worker builds from the run config), in check_export.py's
ACTIONS.bin format: int32 n, obs_dim, act_dim, then n x obs_dim observations and n x act_dim
actions (float32). Episode i resets with seed SEED + i.
Usage: record_py_actions.py CKPT TOKEN|- MODULE:FACTORY N SEED OUT"""
import struct
import sys

import numpy as np

from rlserve_worker.__main__ import load_factory
from rlserve_worker.evaluate import _checkpoint_policy
from rlserve_worker.spaces import EnvSpace, env_id_of


def main():
    path, token, factory, n, seed, out = sys.argv[1:7]
    n, seed = int(n), int(seed)
    env = load_factory(factory)()
    space = EnvSpace(env_id_of(env), env.observation_space, env.action_space)
    greedy, _ = _checkpoint_policy(path, None if token == "-" else token, space)
    obs = np.zeros((n, space.obs_dim), dtype=np.float32)
    act = np.zeros((n, space.act_dim), dtype=np.float32)
    ep = 0
    o, _ = env.reset(seed=seed)
    for i in range(n):
        obs[i] = np.asarray(o, dtype=np.float32).reshape(-1)
        act[i] = greedy(obs[i:i + 1])[0]
        a = int(act[i, 0]) if not space.continuous else act[i]
        o, _, te, tr, _ = env.step(a)
        if te or tr:
            ep += 1
            o, _ = env.reset(seed=seed + ep)
    with open(out, "wb") as f:
        f.write(struct.pack("<iii", n, space.obs_dim, space.act_dim) + obs.tobytes() + act.tobytes())
    print("recorded %d observations from %d greedy episodes of %s with the Python forward"
          % (n, ep + 1, space.env_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
