"""Greedy evaluation episodes for a run whose env lives in the workers (env = worker:ID,
proto/README.md "Evaluations on the workers"): episode i is reset with seed seed_first + i and
played with the greedy policy (epsilon 0 / no noise) until terminated or truncated, as the C
learner's eval_policy plays its own envs; up to CHUNK episodes step together with one batched
forward per step. The envs are the evaluator's own, never the ones that collect transitions."""
import time

import numpy as np

CHUNK = 32


def play(envs, space, greedy, seed_first, count, tick=None, tick_s=0.2):
    """envs: a list of at least min(count, CHUNK) env objects (Gymnasium API). greedy(obs) ->
    actions (n x act_dim). tick(): called about every tick_s seconds (keeps the connection
    alive). Returns (returns as float64, lengths as int) of the count episodes in seed order.
    Raises ValueError naming the episode when the env returns something outside its spaces."""
    returns = np.zeros(count, dtype=np.float64)
    lengths = np.zeros(count, dtype=np.int64)
    last = time.monotonic()
    for first in range(0, count, CHUNK):
        k = min(CHUNK, count - first)
        obs = np.zeros((k, space.obs_dim), dtype=np.float32)
        for i in range(k):
            o, _ = envs[i].reset(seed=int(seed_first + first + i))
            obs[i] = _obs(o, space, seed_first + first + i)
        active = list(range(k))
        while active:
            acts = greedy(obs[active])
            still = []
            for j, i in enumerate(active):
                a = int(acts[j, 0]) if not space.continuous else np.asarray(acts[j], dtype=np.float32)
                o, r, te, tr, _ = envs[i].step(a)
                r = float(r)
                if not np.isfinite(r):
                    raise ValueError("eval episode seed %d: non-finite reward" % (seed_first + first + i))
                returns[first + i] += r
                lengths[first + i] += 1
                obs[i] = _obs(o, space, seed_first + first + i)
                if not (te or tr):
                    still.append(i)
            active = still
            if tick is not None and time.monotonic() - last >= tick_s:
                tick()
                last = time.monotonic()
    return returns, lengths


def _obs(o, space, seed):
    o = np.asarray(o, dtype=np.float32).reshape(-1)
    if o.shape[0] != space.obs_dim or not np.all(np.isfinite(o)):
        raise ValueError("eval episode seed %d: observation of %d floats (space: %d) or not finite"
                         % (seed, o.shape[0], space.obs_dim))
    return o
