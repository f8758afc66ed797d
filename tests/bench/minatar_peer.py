#!/usr/bin/python3
"""MinAtar peer benchmark (label bench): end-to-end frames/s of MinAtar's own PyTorch DQN
(examples/dqn.py of a MinAtar checkout, unmodified, imported as a module) against `rlserve run
--preset minatar-<game>-dqn --workers 2`, at the same updates per frame (one update of batch 32
per frame after 5,000 frames), on the same machine, in alternating windows of one run.

dqn.py is run for --frames frames (its NUM_FRAMES, set on the imported module); its frames/s is
counted over the learning part only (from frame 5,001, where its first update happens, to the
last frame), as rlserve's is (metrics.jsonl rows from the first row with updates >= 1,000 to the
last). PyTorch runs with its own default thread count and, in a second window, with as many
threads as the machine has cores (the faster counts); rlserve with the preset's settings
(2 workers, the trainer on one thread) and eval_interval = 0 so no greedy evaluation runs.

Needs: python3-torch (Debian), a MinAtar checkout (--minatar DIR: the folder holding minatar/
and examples/dqn.py; MinAtar is not packaged by Debian, so nothing installs it), and an rlserve
binary. Prints the machine, the load, each window's figure, and asserts
rlserve / dqn.py >= --floor (default 5, the #17 target). Exit 0 pass, 1 below the floor, 2 on a
usage or setup error (missing torch, missing checkout: named, never a pass).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%s, %d cores, affinity %d" % (model, os.cpu_count(), len(os.sched_getaffinity(0)))


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def peer_window(minatar, game, frames, threads, seed):
    """One dqn.py run of `frames` frames in this process; returns (frames/s over the learning
    part, updates, torch threads)."""
    import torch
    sys.path.insert(0, minatar)
    spec = importlib.util.spec_from_file_location("minatar_dqn", os.path.join(minatar, "examples", "dqn.py"))
    dqn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dqn)
    if threads:
        torch.set_num_threads(threads)
    import random
    import numpy
    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)
    dqn.NUM_FRAMES = frames
    marks = {}
    counted = {"updates": 0}
    inner_train = dqn.train
    inner_dyn = dqn.world_dynamics

    def train(*a, **k):
        counted["updates"] += 1
        return inner_train(*a, **k)

    def world_dynamics(t, *a, **k):
        if t == dqn.REPLAY_START_SIZE + 1:
            marks["start"] = (t, time.perf_counter())
        r = inner_dyn(t, *a, **k)
        marks["end"] = (t + 1, time.perf_counter())
        return r

    dqn.train = train
    dqn.world_dynamics = world_dynamics
    env = dqn.Environment(game)
    env.seed(seed)
    with tempfile.TemporaryDirectory() as d:
        dqn.dqn(env, False, False, os.path.join(d, game))
    (t0, s0), (t1, s1) = marks["start"], marks["end"]
    return (t1 - t0) / (s1 - s0), counted["updates"], torch.get_num_threads()


def rlserve_window(binary, game, frames, seed):
    """One `rlserve run` to `frames` env steps; returns (frames/s, updates per frame) over the
    metrics rows after the first 1,000 updates."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run")
        cmd = [binary, "run", "--preset", "minatar-%s-dqn" % game, "--workers", "2", "--seed", str(seed),
               "--set", "eval_interval=0", "--set", "env_steps_budget=%d" % frames, "--out", out]
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)
        if p.returncode not in (0, 1):
            raise RuntimeError("rlserve run exited %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
        rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    rows = [r for r in rows if r["updates"] >= 1000]
    if len(rows) < 3:
        raise RuntimeError("rlserve run wrote %d metrics rows past 1,000 updates" % len(rows))
    a, b = rows[0], rows[-1]
    fps = (b["env_steps"] - a["env_steps"]) / (b["t"] - a["t"])
    upf = (b["updates"] - a["updates"]) / (b["env_steps"] - a["env_steps"])
    return fps, upf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minatar", default=os.environ.get("RLSERVE_MINATAR_DIR", ""),
                    help="a MinAtar checkout (holds minatar/ and examples/dqn.py); default $RLSERVE_MINATAR_DIR")
    ap.add_argument("--rlserve", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "rlserve"))
    ap.add_argument("--game", default="breakout", choices=["asterix", "breakout", "freeway", "seaquest", "space_invaders"])
    ap.add_argument("--frames", type=int, default=25000, help="frames per dqn.py window (5,000 of them before learning)")
    ap.add_argument("--rlserve-frames", type=int, default=60000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--floor", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("minatar_peer: PyTorch is missing (apt-get install python3-torch)", file=sys.stderr)
        return 2
    if not a.minatar:
        print("minatar_peer: name a MinAtar checkout with --minatar DIR or RLSERVE_MINATAR_DIR", file=sys.stderr)
        return 2
    if not os.path.isfile(os.path.join(a.minatar, "examples", "dqn.py")) or \
            not os.path.isdir(os.path.join(a.minatar, "minatar")):
        print("minatar_peer: %s is not a MinAtar checkout (needs minatar/ and examples/dqn.py)" % a.minatar,
              file=sys.stderr)
        return 2
    if not os.access(a.rlserve, os.X_OK):
        print("minatar_peer: no rlserve binary at %s" % a.rlserve, file=sys.stderr)
        return 2
    rl_game = {"space_invaders": "spaceinvaders"}.get(a.game, a.game)
    print("machine: %s" % machine())
    print("load before: %s" % load())
    print("torch %s; dqn.py from %s; rlserve %s" % (torch.__version__, a.minatar, a.rlserve))
    best_peer, best_rl = 0.0, 0.0
    for r in range(a.rounds):
        for threads in (0, os.cpu_count()):
            # Each dqn.py window in a fresh interpreter: torch's thread count is per process.
            code = ("import sys, json; sys.path.insert(0, %r); import minatar_peer as m; "
                    "print(json.dumps(m.peer_window(%r, %r, %d, %d, %d)))"
                    % (os.path.dirname(os.path.abspath(__file__)), a.minatar, a.game, a.frames, threads, a.seed + r))
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=3600)
            if p.returncode != 0:
                print("minatar_peer: dqn.py window failed: %s" % p.stderr.decode()[-800:], file=sys.stderr)
                return 2
            fps, updates, nthreads = json.loads(p.stdout.decode().strip().splitlines()[-1])
            print("round %d  dqn.py  torch threads %d: %.1f frames/s over the learning part (%d updates in %d frames)"
                  % (r + 1, nthreads, fps, updates, a.frames))
            best_peer = max(best_peer, fps)
        fps, upf = rlserve_window(a.rlserve, rl_game, a.rlserve_frames, a.seed + r)
        print("round %d  rlserve run --preset minatar-%s-dqn --workers 2: %.1f frames/s at %.3f updates per frame"
              % (r + 1, rl_game, fps, upf))
        best_rl = max(best_rl, fps)
    print("load after: %s" % load())
    ratio = best_rl / best_peer
    ok = ratio >= a.floor
    print("check %s: rlserve %.1f / dqn.py %.1f frames/s (best windows) = %.2fx, floor %.2fx"
          % ("ok" if ok else "FAIL", best_rl, best_peer, ratio, a.floor))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
