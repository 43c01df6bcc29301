"""The sandbox seam: what the grader asks of a sandbox, and what it gets back.

A stage is one run of the harness (grader/harness/harness.py) in a fresh sandbox:
    stage_dir/in/       request.json + probe arrays (read-only for the submission)
    stage_dir/out/      raw outputs, progress.txt, stdout.log, stderr.log (untrusted)
    stage_dir/submission.py
plus, for the train stage, the public MNIST arrays (never the test labels).
The sandbox reports only *how the process ended*; `grader/sandbox/results.py` reads what it wrote.
"""

from __future__ import annotations

import signal
import threading
from enum import Enum
from pathlib import Path
from typing import Protocol

from pydantic import Field

from grader.models import StrictModel


class StageStatus(str, Enum):
    """How a stage's process ended."""

    OK = "ok"  # the harness wrote its completion sentinel
    TIMEOUT = "timeout"  # killed at the stage's wall-time limit
    MEMORY = "memory"  # killed by the memory limit (OOM) or MemoryError
    OUTPUT_LIMIT = "output_limit"  # wrote more than the file/output limit
    CRASHED = "crashed"  # died from a signal (segfault, abort, ...)
    EXITED = "exited_early"  # the process exited before the harness finished (os._exit, sys.exit)
    CANCELLED = "cancelled"  # stopped by the grader: its results were no longer needed
    STOPPED = "stopped"  # stopped by the grader's watch: stalled or too slow to finish (see StageOutcome.stop)


class SandboxLimits(StrictModel):
    """Resource limits for one stage."""

    timeout_s: float = Field(gt=0, description="Wall-time limit, enforced from the host with a kill.")
    memory_mb: int = Field(ge=64, description="Memory limit; swap equals it.")
    cpus: float = Field(gt=0, description="CPU quota; BLAS threads are matched to it.")
    pids: int = Field(ge=8, description="Process/thread limit.")
    file_mb: int = Field(ge=1, description="Largest file (fsize) and /tmp size.")
    output_kb: int = Field(ge=1, description="Bytes of stdout/stderr kept as logs.")


class StageRequest(StrictModel):
    """One stage to run."""

    stage: str = Field(description="load, probe or train.")
    stage_dir: Path = Field(description="Host folder with in/, out/ and submission.py.")
    data_dir: Path | None = Field(default=None, description="Public MNIST .npy folder (train stage only).")
    limits: SandboxLimits


class StopReason(StrictModel):
    """Why the grader stopped a stage that was still running."""

    code: str = Field(description="Diagnosis code, e.g. 'stalled' or 'too_slow'.")
    message: str = Field(description="What was seen, for the report.")


class StageOutcome(StrictModel):
    """How the stage's process ended (not what it computed)."""

    stage: str
    status: StageStatus
    message: str = Field(default="", description="Human explanation when status is not ok.")
    exit_code: int | None = None
    signal: str | None = Field(default=None, description="Signal name when killed by one, e.g. SIGSEGV.")
    duration_s: float = 0.0
    sandbox_s: float = Field(default=0.0, description="Time spent creating/removing the sandbox itself.")
    out_dir: Path
    stdout: str = Field(default="", description="What the stage printed (head and tail, bounded).")
    stderr: str = Field(default="", description="What the stage wrote to stderr (head and tail, bounded).")
    stop: StopReason | None = Field(default=None, description="Set when status is STOPPED.")


OUT_FILES = ("results.bin", "progress.txt")


def prepare_stage_dir(stage_dir: Path, files: dict[str, bytes]) -> None:
    """The stage folder: in/ (filled by the caller), sub/ (the submission's files, read-only), and out/
    with its two pre-created output files."""
    for part in ("in", "sub", "out"):
        (stage_dir / part).mkdir(parents=True, exist_ok=True)
    sub = stage_dir / "sub"
    for relative, content in files.items():
        target = sub / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o444)
    for folder in sorted((p for p in sub.rglob("*") if p.is_dir()), reverse=True):
        folder.chmod(0o555)
    sub.chmod(0o555)
    for out_file in OUT_FILES:
        (stage_dir / "out" / out_file).touch()
        (stage_dir / "out" / out_file).chmod(0o666)


class Sandbox(Protocol):
    """Runs one stage of the harness in isolation. Implementations: DockerSandbox, LocalSandbox."""

    name: str

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None) -> StageOutcome:
        """Run the stage to completion or to its limits; never raises for student behaviour.

        Setting `cancel` kills the stage promptly (status CANCELLED); the grader does that to a stage
        it started speculatively and no longer needs, and on Ctrl-C.
        """
        ...

    def describe(self) -> str | None:
        """Image or interpreter used, recorded in reports."""
        ...


def signal_name(number: int) -> str:
    """'SIGSEGV' for 11; 'signal 99' for an unknown number."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


SIGNAL_MEANING = {
    "SIGSEGV": "segmentation fault (invalid memory access, e.g. via ctypes or infinite recursion)",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGFPE": "arithmetic error",
    "SIGILL": "illegal instruction",
}


def read_logs(out_dir: Path, limit_kb: int) -> dict[str, str]:
    """stdout and stderr as the stage left them in out/ (first `limit_kb` KB each; interim, lead's area)."""
    logs = {}
    for name in ("stdout", "stderr"):
        path = out_dir / f"{name}.log"
        try:
            with open(path, "rb") as f:
                data = f.read(limit_kb * 1024 + 1)
        except OSError:
            data = b""
        text = data[: limit_kb * 1024].decode("utf-8", "replace")
        logs[name] = text + ("\n[... output truncated ...]" if len(data) > limit_kb * 1024 else "")
    return logs


def _finished(out_dir: Path, stage: str) -> bool:
    """True when the last line of progress.txt is `done <stage>` (the harness's completion line)."""
    path = out_dir / "progress.txt"
    try:
        if not path.is_file() or path.is_symlink():
            return False
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 256))
            lines = f.read().decode("ascii", "replace").splitlines()
    except OSError:
        return False
    return bool(lines) and lines[-1].strip() == f"done {stage}"


def classify_exit(stage: str, code: int | None, out_dir: Path, limits: SandboxLimits,
                  *, timed_out: bool, oom_killed: bool, cancelled: bool = False) -> tuple[StageStatus, str, str | None]:
    """Turn how the process ended into a status, a message and a signal name.

    `code` follows the shell convention: negative or > 128 means killed by a signal.
    """
    logs_mb = sum(p.stat().st_size for p in (out_dir / "stdout.log", out_dir / "stderr.log")
                  if p.is_file() and not p.is_symlink()) / 2**20
    sig: str | None = None
    if code is not None and code < 0:
        sig = signal_name(-code)
    elif code is not None and code > 128:
        sig = signal_name(code - 128)
    if cancelled:
        return StageStatus.CANCELLED, f"the {stage} stage was stopped by the grader", sig
    if timed_out:
        return StageStatus.TIMEOUT, f"the {stage} stage did not finish within {limits.timeout_s:g} s", sig
    if oom_killed:
        return StageStatus.MEMORY, f"killed at the memory limit of {limits.memory_mb} MB", sig
    if sig == "SIGKILL":
        return StageStatus.MEMORY, f"killed by SIGKILL, most likely at the memory limit of {limits.memory_mb} MB", sig
    if sig == "SIGXFSZ" or logs_mb >= limits.file_mb:
        what = "printed" if logs_mb >= limits.file_mb * 0.9 else "wrote a file of"
        return StageStatus.OUTPUT_LIMIT, f"{what} more than the {limits.file_mb} MB file/output limit", sig
    if sig is not None:
        meaning = SIGNAL_MEANING.get(sig, "killed")
        return StageStatus.CRASHED, f"the process crashed with {sig}: {meaning}", sig
    if _finished(out_dir, stage):
        return StageStatus.OK, "", None
    return (StageStatus.EXITED,
            f"the process exited (code {code}) before the {stage} stage finished: sys.exit() or os._exit() "
            "in the submission?", None)
