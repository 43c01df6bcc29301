"""The sandbox seam: what the grader asks of a sandbox, and what it gets back.

A stage is one run of the harness (grader/harness/harness.py) in a fresh sandbox. The api prepares a
stage folder with `prepare_stage_dir` and fills it:

    stage_dir/in/    request.json + host-chosen .npy inputs     -> /in   (read-only)
    stage_dir/sub/   the submission: entry module + helpers     -> /sub  (read-only)
    stage_dir/data/  train stage only: the public arrays        -> /data (read-only)
    stage_dir/out/   exactly two pre-created files and nothing else:
                       results.bin   the harness's result stream (read by grader/results.py)
                       progress.txt  heartbeat lines; the last one is `done <stage>` when the harness finished

The sandbox gives the stage those two files to grow (each bounded by RLIMIT_FSIZE), never the out/ folder:
a stage cannot create a file on the host. stdout and stderr are drained on the host side, head and tail
kept (`StageOutcome.stdout`). The sandbox reports only *how the process ended*; what it computed is read
from results.bin by the caller.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Protocol

from pydantic import Field

from grader.errors import SandboxError
from grader.models import StrictModel

# --------------------------------------------------------------------------- the stage folder

IN_DIR = "in"
SUB_DIR = "sub"
DATA_DIR = "data"
OUT_DIR = "out"
RESULTS_FILE = "results.bin"
PROGRESS_FILE = "progress.txt"
OUT_FILES = (RESULTS_FILE, PROGRESS_FILE)
DONE_PREFIX = "done "  # progress.txt's last line when the harness finished: `done <stage>`

MAX_INPUT_ENTRIES = 10_000  # in/, sub/ and data/ are written by the grader: far fewer in practice


def prepare_stage_dir(stage_dir: Path, files: dict[str, bytes] | None = None, *, data: bool = False) -> Path:
    """Create the layout of one stage (see the module docstring) and return `stage_dir`.

    `files` (relative posix path -> content) become the submission in sub/, read-only. stage_dir itself is
    private (0700): the sandbox reaches its parts by bind mount or file descriptor, never through this
    folder. The two output files exist, empty and writable, before the stage starts. in/ (and data/, made
    when `data`) are for the caller to fill; the sandbox makes them read-only when the stage starts.
    Raises FileExistsError when stage_dir exists (a stage folder is never reused).
    """
    stage_dir.mkdir(mode=0o700)
    os.chmod(stage_dir, 0o700)
    for name in (IN_DIR, SUB_DIR, OUT_DIR) + ((DATA_DIR,) if data else ()):
        (stage_dir / name).mkdir()
        os.chmod(stage_dir / name, 0o755)
    for name in OUT_FILES:
        fd = os.open(stage_dir / OUT_DIR / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        os.fchmod(fd, 0o666)  # the container's user is not us; local mode narrows this per stage
        os.close(fd)
    sub = stage_dir / SUB_DIR
    for relative, content in (files or {}).items():
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise SandboxError(f"submission file name {relative!r} is not a plain relative path")
        target = sub.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    seal_inputs(sub)
    return stage_dir


def out_file(stage_dir: Path, name: str) -> Path:
    """stage_dir/out/<name>, for name in OUT_FILES."""
    return stage_dir / OUT_DIR / name


def _kind(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError as exc:
        raise SandboxError(f"stage path {path} is missing ({exc.strerror})") from exc


def check_stage_dir(stage_dir: Path) -> None:
    """SandboxError unless stage_dir has the layout of `prepare_stage_dir` (no symlinks in its place)."""
    for name in (IN_DIR, SUB_DIR, OUT_DIR):
        if not stat.S_ISDIR(_kind(stage_dir / name)):
            raise SandboxError(f"stage path {stage_dir / name} is not a directory")
    for name in OUT_FILES:
        if not stat.S_ISREG(_kind(out_file(stage_dir, name))):
            raise SandboxError(f"stage output {out_file(stage_dir, name)} is not a regular file")


def seal_inputs(folder: Path) -> None:
    """Make a grader-written input tree read-only for everyone: folders 0555, files 0444.

    The sandbox user can read it and nobody can change it from inside (Docker also mounts it read-only).
    Symbolic links are left alone (never followed); special files are refused.
    """
    todo, seen = [folder], 0
    while todo:
        current = todo.pop()
        for entry in os.scandir(current):
            seen += 1
            if seen > MAX_INPUT_ENTRIES:
                raise SandboxError(f"{folder} holds more than {MAX_INPUT_ENTRIES} entries")
            if entry.is_symlink():
                continue
            if entry.is_dir():
                todo.append(Path(entry.path))
            elif entry.is_file():
                os.chmod(entry.path, 0o444)
            else:
                raise SandboxError(f"{entry.path} is not a regular file or folder")
        os.chmod(current, 0o555)


def _readable_by(info: os.stat_result, uid: int, gid: int, need: int) -> bool:
    if info.st_uid == uid:
        return (info.st_mode >> 6) & need == need
    if info.st_gid == gid:
        return (info.st_mode >> 3) & need == need
    return info.st_mode & need == need


def check_data_dir(data_dir: Path, uid: int, gid: int) -> None:
    """SandboxError unless data_dir is a folder without the hidden test labels, readable by uid:gid.

    Only the folder and its files are checked: the sandbox reaches it by bind mount or descriptor.
    """
    if not stat.S_ISDIR(_kind(data_dir)):
        raise SandboxError(f"stage data folder {data_dir} is not a directory")
    names = os.listdir(data_dir)
    hidden = [name for name in names if "test_labels" in name or name.startswith("t10k-labels")]
    if hidden:
        raise SandboxError(f"refusing to give {data_dir} to the sandbox: it holds the hidden test labels "
                           f"({', '.join(sorted(hidden))}); use the prepared public/ folder")
    unreadable = [data_dir] if not _readable_by(os.stat(data_dir), uid, gid, 0o5) else []
    for name in names:
        info = os.lstat(data_dir / name)
        if stat.S_ISREG(info.st_mode) and not _readable_by(info, uid, gid, 0o4):
            unreadable.append(data_dir / name)
    if unreadable:
        raise SandboxError(f"the sandbox user {uid}:{gid} cannot read {unreadable[0]}: `chmod -R a+rX {data_dir}`")


def progress_done(stage_dir: Path, stage: str) -> bool:
    """True when the last line of progress.txt is `done <stage>` (the harness's completion mark).

    Reads only the file's last 4 KB, without following a link; anything unreadable is "not done".
    """
    try:
        fd = os.open(out_file(stage_dir, PROGRESS_FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        size = info.st_size
        tail = os.pread(fd, 4096, max(0, size - 4096))
    except OSError:
        return False
    finally:
        os.close(fd)
    lines = tail.decode("ascii", "replace").splitlines()
    return bool(lines) and lines[-1].strip() == DONE_PREFIX + stage


# --------------------------------------------------------------------------- requests and outcomes


class StageStatus(str, Enum):
    """How a stage's process ended."""

    OK = "ok"  # the harness finished: progress.txt ends with `done <stage>`
    TIMEOUT = "timeout"  # killed at the stage's wall-time limit
    MEMORY = "memory"  # killed by the memory limit (OOM) or MemoryError
    OUTPUT_LIMIT = "output_limit"  # a file outgrew the file-size limit (SIGXFSZ)
    CRASHED = "crashed"  # died from a signal (segfault, abort, ...)
    EXITED = "exited_early"  # the process exited before the harness finished (os._exit, sys.exit)
    CANCELLED = "cancelled"  # stopped by the grader: its results were no longer needed
    STOPPED = "stopped"  # stopped by the grader because `watch` returned a reason (stalled, too slow)


class StopReason(StrictModel):
    """Why the grader stopped a stage that was still running."""

    code: str = Field(description="Machine-readable reason, e.g. 'stalled' or 'too_slow'.")
    message: str = Field(description="What was seen, in one sentence.")


Watch = Callable[[], "StopReason | None"]
"""Polled by the sandbox about every WATCH_PERIOD_S while a stage runs; a reason stops the stage."""

WATCH_PERIOD_S = 0.25


class SandboxLimits(StrictModel):
    """Resource limits for one stage."""

    timeout_s: float = Field(gt=0, description="Wall-time limit, enforced from the host with a kill.")
    memory_mb: int = Field(ge=64, description="Memory limit; swap equals it.")
    cpus: float = Field(gt=0, description="CPU quota; BLAS threads are matched to it.")
    pids: int = Field(ge=8, description="Process/thread limit.")
    file_mb: int = Field(ge=1, description="Largest file (fsize), also of results.bin and progress.txt, and /tmp size.")
    output_kb: int = Field(ge=1, description="Bytes of stdout and of stderr kept: half head, half tail.")


class StageRequest(StrictModel):
    """One stage to run."""

    stage: str = Field(description="load, probe or train.")
    stage_dir: Path = Field(description="Host folder made by prepare_stage_dir: in/, sub/, out/ (and data/).")
    data_dir: Path | None = Field(default=None, description="Public MNIST .npy folder (train stage only).")
    limits: SandboxLimits


class StageOutcome(StrictModel):
    """How the stage's process ended (not what it computed), and what it printed."""

    stage: str
    status: StageStatus
    message: str = Field(default="", description="Human explanation when status is not ok.")
    exit_code: int | None = None
    signal: str | None = Field(default=None, description="Signal name when killed by one, e.g. SIGSEGV.")
    duration_s: float = 0.0
    sandbox_s: float = Field(default=0.0, description="Time spent creating/removing the sandbox itself.")
    out_dir: Path = Field(description="stage_dir/out: results.bin and progress.txt.")
    stdout: str = Field(default="", description="Head + '[... N bytes dropped ...]' + tail, decoded leniently.")
    stderr: str = Field(default="", description="Like stdout.")
    stdout_bytes: int = Field(default=0, ge=0, description="Total bytes the stage printed to stdout.")
    stderr_bytes: int = Field(default=0, ge=0, description="Total bytes the stage printed to stderr.")
    stop: StopReason | None = Field(default=None, description="Why the grader stopped it (status stopped).")


class DoctorItem(StrictModel):
    """One line of `nngrader doctor`."""

    name: str = Field(description="What was checked, e.g. 'docker engine'.")
    ok: bool
    detail: str = Field(default="", description="What was found.")
    fix: str = Field(default="", description="What to do when not ok (empty when ok).")


class Sandbox(Protocol):
    """Runs stages of the harness in isolation. Implementations: DockerSandbox, LocalSandbox."""

    name: str

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None,
                  watch: Watch | None = None) -> StageOutcome:
        """Run the stage to completion or to its limits; never raises for student behaviour.

        Setting `cancel` kills the stage promptly (status CANCELLED): the grader does that to a stage it
        started speculatively and no longer needs, and on Ctrl-C. `watch` is polled about every 0.25 s;
        when it returns a StopReason the stage is killed with status STOPPED.
        """
        ...

    def describe(self) -> str | None:
        """Image or interpreter used, recorded in reports."""
        ...

    def stop_all(self) -> None:
        """Kill every stage this process has running in this sandbox (their run_stage calls return)."""
        ...

    def sweep(self) -> int:
        """Remove what dead graders left behind (containers, processes, folders); the number removed."""
        ...

    def doctor(self) -> list[DoctorItem]:
        """This backend's contribution to `nngrader doctor`."""
        ...


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- exits


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


class Ending(StrictModel):
    """Why the host stopped waiting for a stage (nothing set: the process exited by itself)."""

    timed_out: bool = False
    cancelled: bool = False
    stop: StopReason | None = None

    @property
    def by_host(self) -> bool:
        """True when the host decided to end the stage (it must be killed)."""
        return self.timed_out or self.cancelled or self.stop is not None


def classify_exit(stage: str, code: int | None, stage_dir: Path, limits: SandboxLimits, ending: Ending,
                  *, oom_killed: bool = False) -> tuple[StageStatus, str, str | None]:
    """Turn how the process ended into a status, a message and a signal name.

    `code` follows the shell convention: negative or > 128 means killed by a signal. A stage is OK when
    progress.txt ends with `done <stage>`, whatever the exit code.
    """
    sig: str | None = None
    if code is not None and code < 0:
        sig = signal_name(-code)
    elif code is not None and code > 128:
        sig = signal_name(code - 128)
    if ending.cancelled:
        return StageStatus.CANCELLED, f"the {stage} stage was stopped by the grader", sig
    if ending.stop is not None:
        return StageStatus.STOPPED, ending.stop.message, sig
    if ending.timed_out:
        return StageStatus.TIMEOUT, f"the {stage} stage did not finish within {limits.timeout_s:g} s", sig
    if oom_killed:
        return StageStatus.MEMORY, f"killed at the memory limit of {limits.memory_mb} MB", sig
    if sig == "SIGKILL":
        return StageStatus.MEMORY, f"killed by SIGKILL, most likely at the memory limit of {limits.memory_mb} MB", sig
    if sig == "SIGXFSZ":
        return StageStatus.OUTPUT_LIMIT, f"wrote a file of more than the {limits.file_mb} MB file limit", sig
    if sig is not None:
        meaning = SIGNAL_MEANING.get(sig, "killed")
        return StageStatus.CRASHED, f"the process crashed with {sig}: {meaning}", sig
    if progress_done(stage_dir, stage):
        return StageStatus.OK, "", None
    return (StageStatus.EXITED,
            f"the process exited (code {code}) before the {stage} stage finished: sys.exit() or os._exit() "
            "in the submission?", None)
