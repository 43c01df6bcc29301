"""Dask preload: `dask worker tcp://scheduler:8786 --preload grader.cluster.preload --preload-nanny
grader.cluster.preload`, and optionally `dask scheduler --preload grader.cluster.preload`.

At start-up the worker checks what grading needs (the sandbox named by NNGRADER_WORKER_SANDBOX, default
docker, and MNIST), logs each check, and refuses to start when one fails: a worker that cannot grade would
only turn students into grader errors. It also removes containers that a killed worker on this node left.
`nngrader worker` runs the same checks in the foreground, then starts `dask worker` with this preload.

In every Dask process it is given to (worker, nanny, scheduler) it also slows Dask's own housekeeping to a
grader's pace: a student takes seconds, not milliseconds (see quiet()); in a nanny, it spawns the worker with
glibc's malloc defaults (see keep_malloc_defaults()).
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


# Seconds between runs of Dask's periodic housekeeping (its defaults: 0.02, 0.5, 0.1). An idle worker and its
# nanny used 7% of a core, a scheduler 3%, mostly the event-loop health tick; with these, under 1% each.
HOUSEKEEPING_S = {
    "tick": 1.0,  # distributed.admin.tick.interval: event-loop health (blocked-loop warnings after 3 s still)
    "monitor": 5.0,  # distributed.admin.system-monitor.interval: CPU, memory and network figures
    "memory_monitor": 1.0,  # distributed.worker.memory.monitor-interval: the memory limit (a grading's is Docker's)
}


def quiet(server: Any) -> None:
    """Stop Dask's statistical profiler (it samples every thread's stack every 10 ms, under the GIL the grader's
    host-side checks need: benchmarks/cluster.py, 1 worker went from 8% slower than the local batch to no
    slower) and space out its housekeeping (HOUSEKEEPING_S). Same as setting those Dask options, but for
    processes started any way: the periodic callbacks read their interval each time they reschedule."""
    for name in ("profile", "profile-cycle"):
        callback = server.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()
    for name, seconds in HOUSEKEEPING_S.items():
        callback = server.periodic_callbacks.get(name)
        if callback is not None:
            callback.callback_time = seconds * 1000


def keep_malloc_defaults(nanny: Any) -> None:
    """Spawn the worker with glibc's own malloc tuning, as the local batch runs. Dask's nanny gives its workers
    MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory back to the OS sooner), which also turns off glibc's
    dynamic mmap threshold: each large NumPy array of the host-side checks is then a fresh mmap with its page
    faults, and one worker graded 8% slower than `--jobs 1` (benchmarks/cluster.py). A value the node's admin
    sets in the environment is kept. Runs before the nanny spawns its worker."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        for environment in (nanny.pre_spawn_env, nanny.env):
            environment.pop("MALLOC_TRIM_THRESHOLD_", None)


def dask_setup(server: Any) -> None:
    from distributed import Nanny, Worker  # only Dask processes run preloads

    quiet(server)
    if isinstance(server, Nanny):
        keep_malloc_defaults(server)
    if not isinstance(server, Worker):  # a nanny or the scheduler: nothing grades there
        return
    worker = server
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
