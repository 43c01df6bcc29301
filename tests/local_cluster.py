"""A real Dask cluster on 127.0.0.1 for the tests and the benchmark: a `dask scheduler` and the processes that
serve it (`dask worker` with the nngrader preload, or `nngrader worker`), each in its own process group and
with its log in `logs`. Nothing is faked: these are the commands the README tells users to run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRELOAD = "grader.cluster.preload"  # as the README starts them: worker, nanny and scheduler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """A scheduler at `address`; add_worker() and start() add the processes that serve it; close() stops all."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.env, self.logs = env, logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.scheduler = self.start("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                                  self.address.rsplit(":", 1)[1], "--no-dashboard",
                                                  "--preload", PRELOAD])

    def start(self, name: str, module_args: list[str], **env: str) -> subprocess.Popen[bytes]:
        """`python -m MODULE_ARGS` with the cluster's environment (plus `env`), logging to LOGS/NAME.log."""
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", *module_args], env={**self.env, **env}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        self.processes.append(process)
        return process

    def add_worker(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        """A nanny-supervised `dask worker` grading one student at a time, with the nngrader preload."""
        return self.start(name, ["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--no-dashboard",
                                 "--preload", PRELOAD, "--preload-nanny", PRELOAD, "--name", name], **env)

    def wait_for_workers(self, count: int, timeout_s: float = 180) -> None:
        import distributed

        with distributed.Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout_s)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
