"""The `local` sandbox: a child process with resource limits. NOT isolated.

It runs the harness with this Python, in a new session (so the whole process group can be killed),
with RLIMIT_AS / RLIMIT_FSIZE / RLIMIT_CORE limits (applied by the harness itself before NumPy loads)
and a wall-time limit enforced by killing the group.
It does not stop network access, file reads or a determined fork bomb: use Docker for untrusted code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

from grader.harness import HARNESS_PATH
from grader.sandbox.base import SandboxLimits, StageOutcome, StageRequest, classify_exit, read_logs


def thread_env(cpus: float) -> dict[str, str]:
    """BLAS/OpenMP thread counts matched to the CPU quota (more threads than cores only thrash)."""
    threads = str(max(1, int(cpus)))
    return {name: threads for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def rlimits(limits: SandboxLimits) -> dict[str, int]:
    """The limits the harness applies to itself at start (see harness.apply_limits)."""
    return {"as": limits.memory_mb * 2**20, "fsize": limits.file_mb * 2**20, "core": 0}


def supervise(process: subprocess.Popen[bytes], timeout_s: float,
              cancel: threading.Event | None) -> tuple[bool, bool]:
    """Wait for the process until it exits, times out or is cancelled: (timed_out, cancelled).

    A thread blocks in wait() so the exit is seen at once (Popen.wait(timeout) polls with sleeps
    of up to 50 ms); this thread only wakes to check the deadline and the cancel flag.
    """
    exited = threading.Event()

    def wait() -> None:
        process.wait()
        exited.set()

    threading.Thread(target=wait, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not exited.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
        if cancel is not None and cancel.is_set():
            return False, True
        if time.monotonic() >= deadline:
            return True, False
    return False, False


class LocalSandbox:
    """Runs each stage as a resource-limited child process of this Python (no isolation)."""

    name = "local"

    def describe(self) -> str | None:
        return sys.executable

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None) -> StageOutcome:
        out_dir = request.stage_dir / "out"
        command = [sys.executable, "-I", str(HARNESS_PATH), str(request.stage_dir / "in"), str(out_dir),
                   str(request.stage_dir / "sub")]
        if request.data_dir is not None:
            command.append(str(request.data_dir))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(request.stage_dir), **thread_env(request.limits.cpus),
               "NNGRADER_RLIMITS": json.dumps(rlimits(request.limits))}
        start = time.perf_counter()
        with open(out_dir / "stdout.log", "wb") as stdout, open(out_dir / "stderr.log", "wb") as stderr:
            process = subprocess.Popen(command, cwd=request.stage_dir, env=env, stdin=subprocess.DEVNULL,
                                       stdout=stdout, stderr=stderr, start_new_session=True)
            try:
                timed_out, cancelled = supervise(process, request.limits.timeout_s, cancel)
            finally:
                # Kill the whole session: children the submission started die with it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
        status, message, sig = classify_exit(request.stage, code, out_dir, request.limits,
                                             timed_out=timed_out, oom_killed=False, cancelled=cancelled)
        return StageOutcome(stage=request.stage, status=status, message=message, exit_code=code, signal=sig,
                            duration_s=time.perf_counter() - start, out_dir=out_dir,
                            **read_logs(out_dir, request.limits.output_kb))

