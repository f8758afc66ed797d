"""Greedy evaluation episodes for a run whose env lives in the workers (env = worker:ID,
proto/README.md "Evaluations on the workers"): episode i is reset with seed seed_first + i and
played with the greedy policy (epsilon 0 / no noise) until terminated or truncated, as the C
learner's eval_policy plays its own envs; up to CHUNK episodes step together, each taking its
action from a forward of its own row: numpy's matrix products give a row other last bits in a
batch of another size, and the learner splits an evaluation into shares across its workers, so
one-row forwards are what make a share's returns the same as one evaluator's (the replayed mean
equals the run's exactly; it differed by 2.7e-9 relative on Pendulum with batched forwards). The
envs are the evaluator's own, never the ones that collect transitions.

As a command, the evaluation `rlserve eval` cannot do for such runs (their env is Python):

    python3 -m rlserve_worker.evaluate --checkpoint policy.ckpt [--token-file T]
        --env module:factory [--episodes N] [--seed S] [--json]
    python3 -m rlserve_worker.evaluate --policy policy.onnx|policy.npz [--activation relu|tanh]
        --env module:factory [--episodes N] [--seed S] [--json]

plays N greedy episodes (episode i resets with seed S + i) with the numpy forward the worker
acts with (checkpoint: the run's network from its config and online sections; policy: the
exported arrays or graph). Exit status 0, or 2 with a message naming what was wrong."""
import argparse
import json
import sys
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
            acts = np.concatenate([greedy(obs[i:i + 1]) for i in active])
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


def _checkpoint_policy(path, token_file, space):
    """greedy(obs) of a checkpoint's online weights, built as the worker builds its policy."""
    from . import ckpt
    from .policy import ALGOS
    sec = ckpt.read(path, token_file)
    cfg = ckpt.config(sec, path)
    params = ckpt.online(sec, path)
    if "spaces" in sec:  # env = worker:ID: the spaces the run's first worker declared
        sp = ckpt.spaces(sec["spaces"], path)
        mine = (space.obs_dim, space.continuous, space.n_out)
        theirs = (sp["obs_dim"], not sp["discrete"], sp["act_dim"] if not sp["discrete"] else sp["n_actions"])
        their_shape = tuple(sp["obs_shape"]) if any(sp["obs_shape"]) else None
        if their_shape != getattr(space, "obs_shape", None):
            raise ckpt.CheckpointError("%s: the run trained on images of shape %s; --env makes %s"
                                       % (path, their_shape, getattr(space, "obs_shape", None)))
        if mine != theirs or sp["env_id"] != space.env_id:
            raise ckpt.CheckpointError(
                "%s: the run trained on %s (obs %d, %s %d); --env makes %s (obs %d, %s %d)"
                % (path, sp["env_id"], theirs[0], "action dims" if theirs[1] else "actions", theirs[2],
                   space.env_id, mine[0], "action dims" if mine[1] else "actions", mine[2]))
    algo_cls = ALGOS.get(cfg["algo"])
    if algo_cls is None or algo_cls.discrete == space.continuous:
        raise ckpt.CheckpointError("%s: algo %s does not act on %s actions" %
                                   (path, cfg["algo"], "continuous" if space.continuous else "discrete"))
    try:
        algo = algo_cls(cfg, space, np.random.default_rng(0))
    except (ValueError, KeyError) as e:
        raise ckpt.CheckpointError("%s: cannot build the network of its config: %s" % (path, e)) from None
    need = algo.net.n_params
    if params.shape[0] < need or (algo.weights_exact and params.shape[0] != need):
        raise ckpt.CheckpointError("%s: online weights have %d floats, the config's network needs %d"
                                   % (path, params.shape[0], need))
    algo.net.load(params)
    threshold = float(cfg.get("solve_threshold", "nan"))
    return algo.greedy, threshold


def main(argv=None):
    from .__main__ import load_factory
    from .spaces import EnvSpace, env_id_of
    from .ckpt import CheckpointError
    from .portable import PolicyError, load
    ap = argparse.ArgumentParser(prog="python3 -m rlserve_worker.evaluate",
                                 description="greedy episodes of a trained policy on your own env")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="policy.ckpt or checkpoint.ckpt of a run")
    src.add_argument("--policy", help="policy.onnx or policy.npz from rlserve export")
    ap.add_argument("--token-file", help="the run's token (a run with one authenticates its checkpoints)")
    ap.add_argument("--activation", default="relu", help="an npz without a layout line (older exports): the hidden activation (the run's config)")
    ap.add_argument("--env", required=True, help="module:factory making one env, as for the worker")
    ap.add_argument("--env-id", help="the env's id when it declares none")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="episode i resets with seed S + i")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not 1 <= a.episodes <= 1000000 or a.seed < 0:
        print("rlserve_worker.evaluate: --episodes %d not in 1..1000000 or --seed %d negative"
              % (a.episodes, a.seed), file=sys.stderr)
        return 2
    try:
        fn = load_factory(a.env)
        envs = [fn() for _ in range(min(a.episodes, CHUNK))]
        space = EnvSpace(env_id_of(envs[0], a.env_id), envs[0].observation_space, envs[0].action_space)
        if a.checkpoint:
            greedy, threshold = _checkpoint_policy(a.checkpoint, a.token_file, space)
        else:
            greedy, discrete, obs_dim, _ = load(a.policy, a.activation)
            threshold = float("nan")
            if discrete == space.continuous or (obs_dim and obs_dim != space.obs_dim):
                raise PolicyError("%s: a %s policy over %d observations; the env has %s actions and %d"
                                  % (a.policy, "discrete" if discrete else "continuous", obs_dim,
                                     "continuous" if space.continuous else "discrete", space.obs_dim))
        rets, lens = play(envs, space, greedy, a.seed, a.episodes)
    except (CheckpointError, PolicyError, ValueError, ImportError, OSError) as e:
        print("rlserve_worker.evaluate: %s" % e, file=sys.stderr)
        return 2
    mean, std = float(rets.mean()), float(rets.std())
    solved = bool(mean >= threshold) if threshold == threshold else None
    if a.json:
        print(json.dumps({"env": space.env_id, "episodes": a.episodes, "seed": a.seed, "mean": mean,
                          "std": std, "min": float(rets.min()), "max": float(rets.max()),
                          "threshold": threshold if threshold == threshold else None, "solved": solved,
                          "returns": [float(r) for r in rets], "lengths": [int(n) for n in lens]}))
    else:
        verdict = "" if solved is None else " -> %s (threshold %.1f)" % ("solved" if solved else "not solved", threshold)
        print("%s: greedy return %.2f +- %.2f over %d episodes (min %.1f, max %.1f; seeds %d..%d)%s"
              % (space.env_id, mean, std, a.episodes, float(rets.min()), float(rets.max()), a.seed,
                 a.seed + a.episodes - 1, verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main())
