"""rlserve_worker: a worker for Gymnasium-API Python environments that speaks rlserve's wire
protocol (proto/README.md) to a C learner, exactly as `rlserve worker` does.

    import rlserve_worker
    rlserve_worker.run(lambda: MyEnv(), connect="127.0.0.1:7878", token_file="token")
"""
from .worker import run  # noqa: F401

__all__ = ["run"]
