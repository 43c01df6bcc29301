"""Dask worker preload: `dask worker tcp://scheduler:8786 --preload grader.cluster.preload`.

At start-up the worker checks what grading needs (the sandbox named by NNGRADER_WORKER_SANDBOX, default
docker, and MNIST), logs each check, and refuses to start when one fails: a worker that cannot grade would
only turn students into grader errors. It also removes containers that a killed worker on this node left.
`nngrader worker` runs the same checks in the foreground, then starts `dask worker` with this preload.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from grader.cluster.worker import WorkerSandbox, sweep, worker_doctor
from grader.version import __version__

log = logging.getLogger("distributed.nngrader")  # under "distributed": dask worker shows its INFO lines


def worker_sandbox() -> WorkerSandbox:
    name = os.environ.get("NNGRADER_WORKER_SANDBOX", "docker")
    if name not in ("docker", "local"):
        raise RuntimeError(f"NNGRADER_WORKER_SANDBOX={name!r}: use docker or local")
    return "docker" if name == "docker" else "local"


def stop_profiler(worker: Any) -> None:
    """Stop Dask's statistical profiler on this worker: it samples every thread's stack every 10 ms, under the
    GIL the grader's host-side checks need (benchmarks/cluster.py: 1 worker went from 8% slower than the local
    batch to no slower). Same as distributed.worker.profile.enabled: false, but for workers started any way."""
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()


def dask_setup(worker: Any) -> None:
    stop_profiler(worker)
    sandbox = worker_sandbox()
    items = worker_doctor(sandbox, __version__, dask_worker=worker)
    for item in items:
        log.info("nngrader %s %s: %s", "ok  " if item.ok else "FAIL", item.name, item.detail)
    failed = [item for item in items if not item.ok]
    if failed:
        raise RuntimeError("this node cannot grade: " + "; ".join(f"{item.name}: {item.detail} (fix: {item.fix})"
                                                                   for item in failed))
    removed = sweep(sandbox)
    if removed:
        log.info("nngrader removed %d container(s) left by graders that are gone", removed)
