"""The `local` sandbox: the harness as a child process of this Python, with resource limits, no Docker.

Each stage runs `python3 -I harness.py IN OUT SUB [DATA]` in a new session, with its working folder, HOME and
TMPDIR in a fresh per-stage tmp folder (removed afterwards), an empty environment apart from PATH, LANG and
the BLAS thread counts, RLIMIT_AS / FSIZE / CORE / NOFILE, and the wall-time limit enforced by a kill.
stdout and stderr are pipes drained on the host (head and tail kept). in/, sub/ and data/ are read-only.
A short prelude (`python -I -S -c PRELUDE`) applies the limits and drops privileges, then execs the harness:
subprocess itself gets neither a preexec_fn nor user=/group= (both make CPython fork() instead of vfork(),
and a fork() of the multithreaded grader can deadlock in OpenBLAS's fork handler).

**As root** (Gradescope, a container without Docker) every stage runs as its own unprivileged uid, gid = uid,
no supplementary groups (grader/sandbox/users.py), with RLIMIT_NPROC = the pids limit. The uid reaches
in/, sub/, data/ and the harness only through a per-stage view that only its group may enter (read-only
hard links, see _StageFiles): the work folder, its parents and the rest of the grader's files stay closed
(0700), and nngrader's own cache (hidden labels) is closed to others at start. The two out/ files are the only
things of the grader's it can write; out/ itself belongs to root. After the stage every process of the uid is killed,
in a loop until none is left (setsid and double-forked children included), and its files in /tmp, /var/tmp
and /dev/shm are removed, before run_stage returns and anyone reads the results.

What local mode as root cannot protect (Docker does): the network; the memory of the machine beyond the
per-process RLIMIT_AS (no cgroup: several processes each take their limit); CPU (no quota: only the wall
time bounds it); disk space in the per-stage tmp folder and the world-writable folders (each file is capped
by RLIMIT_FSIZE, their number is not); anything world-readable on the machine (/etc, installed software,
data folders that are readable by everyone: `nngrader doctor` lists those of the grader); kernel attack
surface (no seccomp).

**As any other user: NOT isolated.** The stage runs as your own user. It can read and write everything you
can (your home, the MNIST folder with the test labels, the grader's work folder and other stages' results),
use the network, and leave processes behind: a child that calls setsid() escapes the process-group kill and
may outlive the stage and rewrite its results. Only the wall time, RLIMIT_AS/FSIZE/CORE/NOFILE and a
read-only (0444) submission folder apply, and those only to a well-behaved program. Use Docker, or run as
root, for code you do not trust.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SandboxError
from grader.harness import HARNESS_PATH
from grader.sandbox.base import (
    DATA_DIR,
    IN_DIR,
    OUT_DIR,
    OUT_FILES,
    SUB_DIR,
    DoctorItem,
    SandboxLimits,
    StageOutcome,
    StageRequest,
    Watch,
    check_data_dir,
    check_stage_dir,
    classify_exit,
    out_file,
    pid_alive,
    seal_inputs,
)
from grader.sandbox.cleanup import remove_tree
from grader.sandbox.output import PipeDrain
from grader.sandbox.supervise import supervise
from grader.sandbox.users import Lease, SandboxUsers, kill_all, reachable

log = logging.getLogger(__name__)

TMP_PREFIX = "nngrader-tmp-"
VIEW_PREFIX = "nngrader-view-"
PATH_ENV = "/usr/bin:/bin"
NOFILE = 256
PRELUDE = r"""
import json, os, resource, sys
config = json.loads(sys.argv[1])
for name, value in config["rlimits"].items():
    resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (value, value))
if config["uid"] is not None:
    os.setgroups([])
    os.setresgid(config["uid"], config["uid"], config["uid"])
    os.setresuid(config["uid"], config["uid"], config["uid"])
os.execv(sys.executable, [sys.executable, "-I"] + sys.argv[2:])
"""
"""Runs first in the stage's process (as root, then as the stage's uid), then becomes the harness."""


def thread_env(cpus: float) -> dict[str, str]:
    """BLAS/OpenMP thread counts matched to the CPU quota (more threads than cores only thrash)."""
    threads = str(max(1, int(cpus)))
    return {name: threads for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def rlimits(limits: SandboxLimits, *, own_uid: bool) -> dict[str, int]:
    """The limits the prelude applies (RLIMIT_NPROC only with a uid of its own: it counts the whole uid)."""
    values = {"as": limits.memory_mb * 2**20, "fsize": limits.file_mb * 2**20, "core": 0, "nofile": NOFILE}
    if own_uid:
        values["nproc"] = limits.pids
    return values


# --------------------------------------------------------------------------- the grader's own places


def private_places() -> list[Path]:
    """Folders of the grader that student code must not read: nngrader's cache, the MNIST folder."""
    from grader.data import mnist

    places = [mnist.default_cache_dir()]
    with contextlib.suppress(Exception):  # no data folder configured: nothing to list
        places.append(mnist.resolve_data_dir(None))
    return [place for place in places if place.exists()]


def close_cache() -> None:
    """Take 'other' permissions off nngrader's cache folder (it holds the hidden test labels)."""
    from grader.data import mnist

    cache = mnist.default_cache_dir()
    with contextlib.suppress(OSError):
        mode = os.stat(cache).st_mode & 0o7777
        if mode & 0o007:
            os.chmod(cache, mode & ~0o007)


def exposed_places(uid: int) -> list[Path]:
    """The grader's private places (and the hidden labels under them) that `uid` could read."""
    found = []
    for place in private_places():
        candidates = [place, *sorted(place.glob("prepared/*/hidden/*")),
                      *sorted(place.glob("t10k-labels*"))]
        found += [path for path in candidates if reachable(path, uid, uid, need=os.R_OK)]
    return found


PYTHON_ENV = "NNGRADER_SANDBOX_PYTHON"
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
_WORKING_PYTHONS: dict[tuple[str, int], bool] = {}


def _python_works(python: str, users: SandboxUsers) -> bool:
    """Whether a sandbox uid can run `python` and import NumPy with it (tried once per process)."""
    key = (python, users.first)
    if key not in _WORKING_PYTHONS:
        works = reachable(Path(python), users.first, users.first, need=os.X_OK)
        if works:
            lease = users.lease()
            try:
                config = json.dumps({"uid": lease.uid, "rlimits": {}})
                probe = subprocess.run([python, "-I", "-S", "-c", PRELUDE, config, "-c", "import numpy"],
                                       cwd="/", env={"PATH": PATH_ENV}, stdin=subprocess.DEVNULL,
                                       capture_output=True, timeout=60)
                works = probe.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                works = False
            finally:
                lease.clean()
                lease.release()
        _WORKING_PYTHONS[key] = works
    return _WORKING_PYTHONS[key]


def sandbox_python(users: SandboxUsers) -> str:
    """The Python that stages run with as a sandbox uid: NNGRADER_SANDBOX_PYTHON, else this one, else the
    system's python3, whichever the uid can run with NumPy. SandboxError when none can (never run as root)."""
    configured = os.environ.get(PYTHON_ENV)
    candidates = [configured] if configured else [sys.executable, *SYSTEM_PYTHONS]
    for candidate in candidates:
        if _python_works(candidate, users):
            return candidate
    raise SandboxError(f"no Python with NumPy that the sandbox {users.describe()} can run (tried "
                       f"{', '.join(candidates)}): install one where every user can read it (e.g. "
                       f"`apt-get install python3-numpy`) or set {PYTHON_ENV}")


def _tmp_parent(uid: int | None) -> Path:
    """Where the per-stage tmp folder goes: the temp folder, or /tmp etc. when the uid cannot reach it."""
    candidates = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    for candidate in candidates:
        if uid is None or reachable(candidate, uid, uid, need=os.X_OK):
            return candidate
    raise SandboxError(f"no temporary folder the sandbox uid {uid} can reach: {', '.join(map(str, candidates))}")


def _stale_tmp_folders() -> list[Path]:
    """Per-stage tmp folders and views of graders that are gone (their pid is in the name)."""
    stale = []
    for parent in {Path(tempfile.gettempdir()), Path("/tmp")}:
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                for prefix in (TMP_PREFIX, VIEW_PREFIX):
                    pid = entry.name.removeprefix(prefix).split("-", 1)[0]
                    if entry.name.startswith(prefix) and pid.isdigit() and not pid_alive(int(pid)):
                        stale.append(entry)
    return stale


# --------------------------------------------------------------------------- running stages


@dataclass
class _Running:
    """A stage this process has running (for stop_all)."""

    process: subprocess.Popen[bytes]
    lease: Lease | None
    abort: threading.Event = field(default_factory=threading.Event)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the stage is a session leader: its group is the stage
        if self.lease is not None:
            kill_all(self.lease.uid)


_RUNNING: dict[int, _Running] = {}
_RUNNING_LOCK = threading.Lock()


@contextlib.contextmanager
def _registered(running: _Running) -> Iterator[None]:
    with _RUNNING_LOCK:
        _RUNNING[running.process.pid] = running
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(running.process.pid, None)


def running_stages() -> list[int]:
    """Process ids of the local stages this process has running (empty when none)."""
    with _RUNNING_LOCK:
        return sorted(_RUNNING)


def _wait_in_thread(process: subprocess.Popen[bytes]) -> threading.Event:
    """An event set the moment the process exits (Popen.wait(timeout) would poll with sleeps)."""
    exited = threading.Event()

    def wait() -> None:
        process.wait()
        exited.set()

    threading.Thread(target=wait, name="nngrader-wait", daemon=True).start()
    return exited


def _mirror(source: Path, target: Path) -> None:
    """A read-only copy of the grader-written tree `source` at `target`: files hard-linked (copied across file
    systems), links recreated as links, folders 0555."""
    todo, folders = [(source, target)], []
    while todo:
        here, there = todo.pop()
        there.mkdir(mode=0o755)
        folders.append(there)
        for entry in os.scandir(here):
            destination = there / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), destination)
            elif entry.is_dir():
                todo.append((Path(entry.path), destination))
            else:
                try:
                    os.link(entry.path, destination, follow_symlinks=False)
                except OSError:
                    shutil.copyfile(entry.path, destination, follow_symlinks=False)
                    os.chmod(destination, 0o444)
    for folder in reversed(folders):
        os.chmod(folder, 0o555)


class _StageFiles:
    """What one stage is given: the harness and its folders, and a tmp folder of its own.

    As any user these are the stage folder's own paths. As root they are a *view* made for the stage's uid:
    a folder only that uid's group may enter (root:gid 0750), holding read-only mirrors of in/, sub/ and
    data/ (hard links), the harness, and an out/ folder of root's with the two output files (hard links to
    the stage folder's, owned by the uid: the only files it can write). The work folder and its parents stay
    closed; the paths the harness sees are real ones, so nothing in it needs to know about the view.
    """

    def __init__(self, request: StageRequest, harness: Path, lease: Lease | None) -> None:
        self.lease, self.stage_dir = lease, request.stage_dir
        self.view: Path | None = None
        self.copied_out = False
        parent = _tmp_parent(lease.uid if lease else None)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=parent))
        try:
            if lease is None:
                folders = [self.stage_dir / IN_DIR, self.stage_dir / OUT_DIR, self.stage_dir / SUB_DIR]
                self.args = [str(harness), *map(str, folders + ([request.data_dir] if request.data_dir else []))]
                return
            os.chown(self.tmp, lease.uid, lease.gid)
            self.view = Path(tempfile.mkdtemp(prefix=f"{VIEW_PREFIX}{os.getpid()}-", dir=parent))
            self._build_view(request, harness, lease)
        except BaseException:
            self.close()
            raise

    def _build_view(self, request: StageRequest, harness: Path, lease: Lease) -> None:
        assert self.view is not None
        view = self.view
        for name in (IN_DIR, SUB_DIR):
            _mirror(self.stage_dir / name, view / name)
        if request.data_dir is not None:
            _mirror(request.data_dir, view / DATA_DIR)
        shutil.copyfile(harness, view / harness.name)
        os.chmod(view / harness.name, 0o444)
        (view / OUT_DIR).mkdir(mode=0o755)
        for name in OUT_FILES:
            source = out_file(self.stage_dir, name)
            os.chown(source, lease.uid, lease.gid)
            os.chmod(source, 0o600)
            try:
                os.link(source, view / OUT_DIR / name, follow_symlinks=False)
            except OSError:  # another file system: a file of its own, copied back after the stage
                self.copied_out = True
                fd = os.open(view / OUT_DIR / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.fchown(fd, lease.uid, lease.gid)
                os.close(fd)
        os.chmod(view / OUT_DIR, 0o755)
        os.chown(view, 0, lease.gid)
        os.chmod(view, 0o750)
        self.args = [str(view / harness.name), str(view / IN_DIR), str(view / OUT_DIR), str(view / SUB_DIR)]
        if request.data_dir is not None:
            self.args.append(str(view / DATA_DIR))

    def close(self) -> None:
        """Remove the tmp folder and the view; give the out files back to the grader (after the stage)."""
        if self.view is not None and self.copied_out:
            for name in OUT_FILES:
                with contextlib.suppress(OSError):
                    shutil.copyfile(self.view / OUT_DIR / name, out_file(self.stage_dir, name), follow_symlinks=False)
        remove_tree(self.tmp)
        if self.view is not None:
            remove_tree(self.view)
        if self.lease is not None:
            for name in OUT_FILES:
                with contextlib.suppress(OSError):
                    os.chown(out_file(self.stage_dir, name), 0, 0)
                    os.chmod(out_file(self.stage_dir, name), 0o644)


class LocalSandbox:
    """Runs each stage as a resource-limited child process (as root: under its own unprivileged uid)."""

    name = "local"

    def __init__(self, harness: Path = HARNESS_PATH, users: SandboxUsers | None = None) -> None:
        self.harness = Path(harness)
        if users is None and os.geteuid() == 0:
            users = SandboxUsers.from_env()
        self.users = users
        self.python = sys.executable
        if users is not None:
            close_cache()
            self.sweep()
            self.python = sandbox_python(users)

    def describe(self) -> str | None:
        if self.users is None:
            return self.python
        return f"{self.python} as {self.users.describe()}"

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None,
                  watch: Watch | None = None) -> StageOutcome:
        start = time.perf_counter()
        stage_dir = request.stage_dir
        check_stage_dir(stage_dir)
        for name in (IN_DIR, SUB_DIR, DATA_DIR):
            if (stage_dir / name).is_dir():
                seal_inputs(stage_dir / name)
        if request.data_dir is not None:
            uid = self.users.first if self.users is not None else os.getuid()
            check_data_dir(request.data_dir, uid, uid if self.users is not None else os.getgid())
        lease = self.users.lease() if self.users is not None else None
        try:
            files = _StageFiles(request, self.harness, lease)
            try:
                outcome = self._run(request, files, cancel, watch)
            finally:
                if lease is not None:
                    lease.clean()  # before anything reads results: no process of the uid is left
                files.close()
        finally:
            if lease is not None:
                lease.release()
        return outcome.model_copy(update={"duration_s": time.perf_counter() - start})

    def _run(self, request: StageRequest, files: _StageFiles, cancel: threading.Event | None,
             watch: Watch | None) -> StageOutcome:
        limits = request.limits
        uid = files.lease.uid if files.lease is not None else None
        config = {"uid": uid, "rlimits": rlimits(limits, own_uid=uid is not None)}
        command = [self.python, "-I", "-S", "-c", PRELUDE, json.dumps(config), *files.args]
        env = {"PATH": PATH_ENV, "HOME": str(files.tmp), "TMPDIR": str(files.tmp), "LANG": "C.UTF-8",
               **thread_env(limits.cpus)}
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            process = subprocess.Popen(command, cwd=files.tmp, env=env, stdin=subprocess.DEVNULL, stdout=out_write,
                                       stderr=err_write, start_new_session=True)
        except BaseException:
            for fd in (out_read, out_write, err_read, err_write):
                os.close(fd)
            raise
        os.close(out_write)
        os.close(err_write)
        drain = PipeDrain(out_read, err_read, limits.output_kb * 1024)
        running = _Running(process, files.lease)
        with _registered(running):
            exited = _wait_in_thread(process)
            try:
                ending = supervise(exited, limits.timeout_s, [cancel, running.abort], watch)
            finally:
                running.kill()
                code = process.wait()
                drain.finish()
        status, message, sig = classify_exit(request.stage, code, request.stage_dir, limits, ending)
        return StageOutcome(stage=request.stage, status=status, message=message, exit_code=code, signal=sig,
                            out_dir=request.stage_dir / OUT_DIR, stop=ending.stop,
                            stdout=drain.stdout.text(), stderr=drain.stderr.text(),
                            stdout_bytes=drain.stdout.total, stderr_bytes=drain.stderr.total)

    def stop_all(self) -> None:
        """Kill every local stage this process has running (each run_stage returns CANCELLED)."""
        with _RUNNING_LOCK:
            running = list(_RUNNING.values())
        for stage in running:
            stage.abort.set()
            try:
                stage.kill()
            except SandboxError as exc:  # its own run_stage reports it
                log.warning("%s", exc)

    def sweep(self) -> int:
        """Remove the tmp folders of dead graders and, as root, whatever runs or lies around as a free uid."""
        removed = sum(remove_tree(folder) for folder in _stale_tmp_folders())
        if self.users is not None:
            removed += self.users.sweep()
        return removed

    def doctor(self) -> list[DoctorItem]:
        return doctor_items(self.users)


_BLAS_PROBE = ("import numpy, time; a = numpy.ones((600, 600)); t = time.perf_counter(); [a @ a for _ in range(5)]; "
               "print(time.perf_counter() - t)")


def _blas_item(python: str) -> DoctorItem:
    """Whether the sandbox's NumPy multiplies matrices at OpenBLAS speed (the reference BLAS is ~7x slower)."""
    try:
        result = subprocess.run([python, "-c", _BLAS_PROBE], capture_output=True, text=True, timeout=60,
                                env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"})
        seconds = float(result.stdout.strip())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return DoctorItem(name="sandbox NumPy speed", ok=False, detail=f"{python} could not run NumPy",
                          fix="`apt-get install python3-numpy libopenblas0-pthread`")
    fast = seconds < 0.5  # OpenBLAS: about 0.05 s on one core; the reference BLAS: about 0.8 s
    return DoctorItem(name="sandbox NumPy speed", ok=fast,
                      detail=f"5 products of 600x600 matrices in {seconds:.2f} s"
                             + ("" if fast else ": a slow reference BLAS, training will be about 7 times slower"),
                      fix="" if fast else "`apt-get install libopenblas0-pthread` (Debian/Ubuntu)")


def doctor_items(users: SandboxUsers | None = None) -> list[DoctorItem]:
    """The local sandbox's part of `nngrader doctor`: who student code runs as, and what it could read."""
    if os.geteuid() != 0:
        return [DoctorItem(name="local sandbox", ok=True,
                           detail=f"runs student code as your own user (uid {os.geteuid()}): NOT isolated; "
                           "use Docker (or run as root) for code you do not trust")]
    try:
        users = users or SandboxUsers.from_env()
        python = sandbox_python(users)
    except SandboxError as exc:
        return [DoctorItem(name="local sandbox", ok=False, detail=str(exc),
                           fix=f"`apt-get install python3-numpy`, or set {PYTHON_ENV} (and NNGRADER_SANDBOX_UID "
                           "to a free uid range)")]
    items = [DoctorItem(name="local sandbox", ok=True,
                        detail=f"as root: student code runs as {users.describe()} (no other groups) with {python}"),
             _blas_item(python)]
    exposed = exposed_places(users.first)
    items.append(DoctorItem(
        name="grader files closed to the sandbox uid", ok=not exposed,
        detail="cache and MNIST folder unreadable" if not exposed
        else "readable by the sandbox uid: " + ", ".join(map(str, exposed[:5])),
        fix="" if not exposed else f"`chmod o-rwx {exposed[0]}` (the test labels must not be readable)"))
    return items
