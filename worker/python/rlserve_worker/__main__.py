"""python3 -m rlserve_worker --connect HOST:PORT [--token-file T] --env module:factory [--envs K]"""
import argparse
import importlib
import importlib.util
import logging
import os
import signal
import sys

from .worker import run


def load_factory(text):
    """module:factory (a module on sys.path, or a path to a .py file, then a callable in it that
    makes one env: a class or a function). Named on this worker's own command line only."""
    mod_name, sep, attr = text.rpartition(":")
    if not sep or not mod_name or not attr:
        raise ValueError("--env %r: expected module:factory, e.g. myenv:MyEnv" % text)
    if mod_name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(os.path.basename(mod_name)[:-3], mod_name)
        if spec is None:
            raise ValueError("--env %r: cannot load %s" % (text, mod_name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        mod = importlib.import_module(mod_name)
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise ValueError("--env %r: %s has no callable %s" % (text, mod_name, attr))
    return fn


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m rlserve_worker",
                                 description="rlserve worker for Gymnasium-API Python envs")
    ap.add_argument("--connect", required=True, help="the learner's HOST:PORT")
    ap.add_argument("--token-file", help="the run's token (required when the learner has one)")
    ap.add_argument("--env", required=True, help="module:factory making one env, e.g. myenv:MyEnv")
    ap.add_argument("--envs", type=int, help="K envs stepped together (default: the learner's envs_per_worker)")
    ap.add_argument("--env-id", help="the env's id when the env does not declare one (spec.id or env_id)")
    ap.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    a = ap.parse_args(argv)
    logging.basicConfig(level={"warn": "WARNING"}.get(a.log_level, a.log_level.upper()),
                        format="%(asctime)s %(levelname)s [pyworker] %(message)s")
    if a.envs is not None and not 1 <= a.envs <= 4096:
        print("rlserve_worker: --envs %d is not a number in 1..4096" % a.envs, file=sys.stderr)
        return 2
    def on_term(signum, frame):  # stop like Ctrl-C: the worker logs its steps and closes
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        fn = load_factory(a.env)
    except (ValueError, ImportError, OSError) as e:
        print("rlserve_worker: %s" % e, file=sys.stderr)
        return 2
    return run(fn, a.connect, token_file=a.token_file, envs=a.envs, env_id=a.env_id)


if __name__ == "__main__":
    sys.exit(main())
