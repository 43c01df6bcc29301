"""The `docker` sandbox: one fresh, locked-down container per stage.

Each stage runs the harness in a new container of the grading image (grader/sandbox/image.py) with
no network, a read-only root, no capabilities, no-new-privileges, a non-root user, memory = swap,
a CPU quota, a pids limit, nofile/fsize/core ulimits, private IPC, tini as PID 1, and a small,
noexec /tmp. Only four things are mounted: the stage's in/ (ro), out/ (rw), the submission (ro) and
the harness (ro), plus the public MNIST arrays (ro) for the train stage. The host never parses the
container's logs: stdout/stderr are files in out/, capped by fsize exactly like the local sandbox.

The wall-time limit is enforced from the host with `kill()` (SIGKILL, never `stop()`), and the
container is removed in a `finally`, whatever happened. Every Docker/requests error is turned into a
SandboxError that says what to do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from grader.errors import SandboxError
from grader.harness import HARNESS_PATH
from grader.sandbox.base import (
    SandboxLimits,
    StageOutcome,
    StageRequest,
    StageStatus,
    classify_exit,
    read_logs,
)
from grader.sandbox.image import IMAGE_TAG, SANDBOX_USER
from grader.sandbox.local import thread_env

log = logging.getLogger(__name__)

LABEL = "nngrader"
STAGE_LABEL = "nngrader.stage"
OWNER_LABEL = "nngrader.owner"
ENGINE_FIX = "start it (e.g. `sudo systemctl start docker`) or use --sandbox local"
IMAGE_FIX = "run `nngrader image build` (add --offline where Docker Hub is unreachable)"
PATH_ENV = "/usr/local/bin:/usr/bin:/bin"
KILL_WAIT_S = 30.0  # how long to wait for a killed container to be reported as exited
WATCHDOG_GRACE_S = 2.0  # the watchdog kills if wait(timeout) did not return (docker-py #2964)
LEFTOVER_MAX_AGE_S = 6 * 3600  # containers of unknown owners older than this are swept
DOCKER_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException, requests.exceptions.RequestException,
)


# --------------------------------------------------------------------------- engine


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def engine_error(exc: BaseException, doing: str) -> SandboxError:
    """The SandboxError for a Docker/requests error raised while `doing` something."""
    if isinstance(exc, docker.errors.ImageNotFound):
        return SandboxError(f"grading image missing while {doing}: {IMAGE_FIX}")
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return SandboxError(f"Docker engine not reachable while {doing} ({_short(exc)}): {ENGINE_FIX}")
    if isinstance(exc, docker.errors.APIError):
        why = exc.explanation or _short(exc)
        return SandboxError(f"the Docker engine refused {doing}: {why}")
    return SandboxError(f"Docker error while {doing}: {_short(exc)}: {ENGINE_FIX}")


def connect(timeout: int = 60) -> Any:
    """A pinged docker.DockerClient from the environment (DOCKER_HOST, ...); SandboxError if unreachable."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DOCKER_ERRORS as exc:
        raise SandboxError(f"Docker engine not reachable ({_short(exc)}): {ENGINE_FIX}") from exc
    return client


def engine_available(timeout: int = 5) -> bool:
    """True when a Docker engine answers a ping within `timeout` seconds."""
    try:
        client = connect(timeout=timeout)
    except SandboxError:
        return False
    client.close()
    return True


# --------------------------------------------------------------------------- leftovers


def _process_start(pid: int) -> str:
    """Start time of `pid` in clock ticks since boot ('' without /proc): tells pid reuse apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""


def owner_label() -> str:
    """'host:pid:start' of this grader process, stamped on every container it creates."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def _owner_alive(owner: str) -> bool | None:
    """Whether the grader that made a container still runs: True/False, or None when it cannot be told."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    current = _process_start(pid)
    if start and current:
        return current == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start  # we recorded a start time but /proc has none for this pid: gone


def _age_s(container: Any) -> float:
    created = str(container.attrs.get("Created", ""))[:19]
    try:
        made = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0.0
    return (datetime.now(timezone.utc) - made).total_seconds()


def sweep_leftovers(client: Any) -> int:
    """Remove nngrader containers left behind by graders that crashed; the number removed.

    A container is removed when the grader process that created it is gone (same host), or, when its
    owner cannot be told (another host, no owner label), when it has exited or is hours old. Containers
    of graders still running (a parallel batch, another test run) are left alone.
    """
    try:
        # ignore_removed: another grader may remove its container between the listing and the inspect
        # that docker-py does for each one (NotFound would otherwise fail this grading).
        containers = client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True)
    except DOCKER_ERRORS as exc:
        raise engine_error(exc, "listing leftover containers") from exc
    removed = 0
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        alive = _owner_alive(owner) if owner else None
        if alive:
            continue
        if alive is None and container.status == "running" and _age_s(container) < LEFTOVER_MAX_AGE_S:
            continue
        if alive is None and container.status == "created" and _age_s(container) < LEFTOVER_MAX_AGE_S:
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass  # removed concurrently
        except DOCKER_ERRORS as exc:
            raise engine_error(exc, f"removing leftover container {container.short_id}") from exc
    if removed:
        log.info("removed %d leftover nngrader container(s)", removed)
    return removed


# --------------------------------------------------------------------------- container settings


def _image_user(image: Any) -> str:
    """The image's configured non-root user, else the `student` uid; never root."""
    user = str((image.attrs.get("Config") or {}).get("User") or "")
    if user.split(":")[0] in ("", "0", "root"):
        return SANDBOX_USER
    return user


def _readable_by(path: Path, uid: int, gid: int, *, directory: bool) -> bool:
    info = path.stat()
    need = 0o5 if directory else 0o4
    if info.st_uid == uid:
        return (info.st_mode >> 6) & need == need
    if info.st_gid == gid:
        return (info.st_mode >> 3) & need == need
    return info.st_mode & need == need


def _uid_gid(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return (int(uid) if uid.isdigit() else -1, int(gid) if gid.isdigit() else -1)


def _regular(path: Path, what: str) -> None:
    try:
        info = path.lstat()
    except OSError as exc:
        raise SandboxError(f"stage {what} {path} is missing ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise SandboxError(f"stage {what} {path} is not a regular file")


def _directory(path: Path, what: str) -> None:
    try:
        info = path.lstat()
    except OSError as exc:
        raise SandboxError(f"stage {what} {path} is missing ({exc.strerror})") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise SandboxError(f"stage {what} {path} is not a directory")


def prepare_stage_dir(request: StageRequest, user: str = SANDBOX_USER) -> None:
    """Make the host folders usable by the container's non-root user: out/ writable, inputs readable.

    Refuses symlinked or missing stage paths, and a data folder that holds the hidden test labels.
    """
    stage_dir = request.stage_dir
    in_dir, out_dir, submission = stage_dir / "in", stage_dir / "out", stage_dir / "sub"
    _directory(in_dir, "input folder")
    _directory(out_dir, "output folder")
    _directory(submission, "submission folder")
    _regular(HARNESS_PATH, "harness")
    try:
        os.chmod(out_dir, 0o777)
        os.chmod(in_dir, 0o755)
        for path in in_dir.iterdir():
            if path.is_file() and not path.is_symlink():
                os.chmod(path, 0o644)
    except OSError as exc:
        raise SandboxError(f"cannot open the stage folder {stage_dir} to the sandbox user: {exc}") from exc
    uid, gid = _uid_gid(user)
    if not _readable_by(HARNESS_PATH, uid, gid, directory=False):
        raise SandboxError(f"the harness {HARNESS_PATH} is not readable by the sandbox user {user}: "
                           f"`chmod a+r {HARNESS_PATH}` (or reinstall nngrader with a normal umask)")
    if request.data_dir is not None:
        data_dir = request.data_dir
        _directory(data_dir, "data folder")
        names = [path.name for path in data_dir.iterdir()]
        hidden = [name for name in names if "test_labels" in name or name.startswith("t10k-labels")]
        if hidden:
            raise SandboxError(f"refusing to mount {data_dir} into the sandbox: it holds the hidden test "
                               f"labels ({', '.join(sorted(hidden))}); mount the prepared public/ folder")
        unreadable = [data_dir] if not _readable_by(data_dir, uid, gid, directory=True) else []
        unreadable += [data_dir / name for name in names if (data_dir / name).is_file()
                       and not _readable_by(data_dir / name, uid, gid, directory=False)]
        if unreadable:
            raise SandboxError(f"the sandbox user {user} cannot read {unreadable[0]}: "
                               f"`chmod -R a+rX {data_dir}`")


def container_settings(limits: SandboxLimits, *, image: str, user: str, command: list[str],
                       mounts: list[Any], stage: str) -> dict[str, Any]:
    """Arguments of `client.containers.create` for one locked-down run (see the module docstring)."""
    file_bytes = limits.file_mb * 2**20
    return {
        "image": image,
        "command": command,
        "user": user,
        "environment": {"PATH": PATH_ENV, "HOME": "/tmp", "LANG": "C.UTF-8", **thread_env(limits.cpus)},
        "working_dir": "/tmp",
        "hostname": "sandbox",
        "labels": {LABEL: "1", STAGE_LABEL: stage, OWNER_LABEL: owner_label()},
        "network_mode": "none",
        "mem_limit": f"{limits.memory_mb}m",
        "memswap_limit": f"{limits.memory_mb}m",
        "nano_cpus": max(1, int(limits.cpus * 1e9)),
        "pids_limit": limits.pids,
        "read_only": True,
        "tmpfs": {"/tmp": f"size={limits.file_mb}m,mode=1777,noexec,nosuid,nodev"},
        "shm_size": file_bytes,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": [
            Ulimit(name="nofile", soft=256, hard=256),
            Ulimit(name="fsize", soft=file_bytes, hard=file_bytes),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "ipc_mode": "private",
        "init": True,
        "privileged": False,
        "log_config": LogConfig(type=LogConfig.types.JSON, config={"max-size": "1m", "max-file": "1"}),
        "mounts": mounts,
        "stdin_open": False,
        "tty": False,
        "auto_remove": False,
    }


def stage_command(has_data: bool) -> list[str]:
    """The harness run, with stdout/stderr sent to files in /out (subject to fsize, like local)."""
    args = "/in /out /sub" + (" /data" if has_data else "")
    return ["sh", "-c", f"exec python3 -I /harness/harness.py {args} >/out/stdout.log 2>/out/stderr.log"]


def stage_mounts(request: StageRequest) -> list[Any]:
    """Bind mounts of one stage: inputs read-only, out/ read-write."""
    stage_dir = request.stage_dir.resolve()
    mounts = [
        Mount("/in", str(stage_dir / "in"), type="bind", read_only=True),
        Mount("/out", str(stage_dir / "out"), type="bind", read_only=False),
        Mount("/sub", str(stage_dir / "sub"), type="bind", read_only=True),
        Mount("/harness/harness.py", str(HARNESS_PATH), type="bind", read_only=True),
    ]
    if request.data_dir is not None:
        mounts.append(Mount("/data", str(request.data_dir.resolve()), type="bind", read_only=True))
    return mounts


# --------------------------------------------------------------------------- running


class _Watchdog:
    """Kills the container if `wait(timeout)` fails to return in time (docker-py #2964)."""

    def __init__(self, container: Any, after_s: float) -> None:
        self.fired = False
        self._container = container
        self._timer = threading.Timer(after_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        # Set before kill(): the main thread's wait() returns as soon as the container dies, and must
        # already see that this was a timeout.
        self.fired = True
        with contextlib.suppress(*DOCKER_ERRORS):  # already exited, or the engine is gone (the caller sees that)
            self._container.kill()

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


OUT_DIR_FILE_FACTOR = 3  # out/ may hold this many times file_mb: two capped logs plus the results
OUT_DIR_MAX_ENTRIES = 2000  # the harness writes well under 100 files
GUARD_POLL_S = 0.02  # page-cache writes run at GB/s: the out/ cap needs a short reaction time


def out_dir_usage(out_dir: Path) -> tuple[int, int]:
    """Bytes allocated under out/ and the number of entries, never following links."""
    used = entries = 0
    for root, dirs, files in os.walk(out_dir, followlinks=False):
        for name in dirs + files:
            entries += 1
            with contextlib.suppress(OSError):  # removed meanwhile
                used += os.lstat(os.path.join(root, name)).st_blocks * 512
    return used, entries


class _OutDirGuard:
    """Watches a running stage from the host, and kills its container when

    - out/, a host folder, grows past its cap (fsize bounds one file, not all of them), or
    - the grader cancels the stage (a speculative stage no longer needed, or Ctrl-C).
    """

    def __init__(self, container: Any, out_dir: Path, limits: SandboxLimits,
                 cancel: threading.Event | None = None) -> None:
        self.exceeded = ""
        self.cancelled = False
        self._container, self._out_dir, self._cancel = container, out_dir, cancel
        self._max_bytes = OUT_DIR_FILE_FACTOR * limits.file_mb * 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nngrader-out-guard", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(GUARD_POLL_S):
            if self._cancel is not None and self._cancel.is_set():
                self.cancelled = True
                self._kill()
                return
            used, entries = out_dir_usage(self._out_dir)
            if used > self._max_bytes or entries > OUT_DIR_MAX_ENTRIES:
                self.exceeded = (f"wrote more than {self._max_bytes // 2**20} MB or {OUT_DIR_MAX_ENTRIES} files "
                                 "into its output folder")
                self._kill()
                return

    def _kill(self) -> None:
        # The fast path: SIGKILL the container's init from the host (possible when the grader runs as
        # root); its PID namespace dies with it at once, without an API round trip. Then the API kill.
        if self._pid > 0:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(*DOCKER_ERRORS):
            self._container.kill()

    def __enter__(self) -> _OutDirGuard:
        self._pid = 0
        with contextlib.suppress(*DOCKER_ERRORS):
            self._container.reload()
            self._pid = int((self._container.attrs.get("State") or {}).get("Pid") or 0)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _kill(container: Any) -> bool:
    """SIGKILL the container; False when it had already exited."""
    try:
        container.kill()
    except docker.errors.APIError as exc:
        if exc.status_code == 409 or exc.status_code == 404:  # not running (any more)
            return False
        raise
    return True


def wait_or_kill(container: Any, timeout_s: float) -> bool:
    """Wait for the container to exit, killing it at `timeout_s`; True when it was killed for time."""
    with _Watchdog(container, timeout_s + WATCHDOG_GRACE_S) as watchdog:
        try:
            container.wait(timeout=timeout_s)
            return watchdog.fired
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            # wait(timeout) is only the HTTP read timeout (docker-py #2964): its expiry is the time limit.
            # A dead engine also lands here; then kill() raises and the caller reports it.
            pass
    killed = _kill(container) or watchdog.fired
    container.wait(timeout=KILL_WAIT_S)
    return killed


def _remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except DOCKER_ERRORS as exc:
        # Left for sweep_leftovers; never hide the original outcome or exception behind this.
        log.warning("could not remove sandbox container %s: %s", container.short_id, _short(exc))


@contextmanager
def _engine_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except DOCKER_ERRORS as exc:
        raise engine_error(exc, doing) from exc


class DockerSandbox:
    """Runs each stage in a fresh, locked-down container of the grading image."""

    name = "docker"

    def __init__(self, client: Any | None = None, image: str = IMAGE_TAG) -> None:
        self.client = client if client is not None else connect()
        self.image = image
        try:
            found = self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(f"image {image} missing: {IMAGE_FIX}") from exc
        except DOCKER_ERRORS as exc:
            raise engine_error(exc, f"looking up image {image}") from exc
        self.image_id = str(found.id)
        self.user = _image_user(found)
        sweep_leftovers(self.client)

    def describe(self) -> str | None:
        return self.image

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None) -> StageOutcome:
        start = time.perf_counter()
        out_dir = request.stage_dir / "out"
        prepare_stage_dir(request, self.user)
        settings = container_settings(request.limits, image=self.image_id, user=self.user,
                                      command=stage_command(request.data_dir is not None),
                                      mounts=stage_mounts(request), stage=request.stage)
        container: Any = None
        sandbox_s = 0.0
        try:
            t0 = time.perf_counter()
            try:
                with _engine_errors(f"creating the {request.stage} container"):
                    container = self.client.containers.create(**settings)
                with _engine_errors(f"starting the {request.stage} container"):
                    container.start()
            finally:
                sandbox_s += time.perf_counter() - t0
            with _engine_errors(f"running the {request.stage} stage"):
                with _OutDirGuard(container, out_dir, request.limits, cancel) as guard:
                    timed_out = wait_or_kill(container, request.limits.timeout_s)
                container.reload()
            state = container.attrs.get("State") or {}
            code = state.get("ExitCode")
            oom_killed = bool(state.get("OOMKilled"))
        finally:
            if container is not None:
                t0 = time.perf_counter()
                _remove(container)
                sandbox_s += time.perf_counter() - t0
            with contextlib.suppress(OSError):
                os.chmod(out_dir, 0o755)  # nobody writes here any more
        status, message, sig = classify_exit(request.stage, code if isinstance(code, int) else None, out_dir,
                                             request.limits, timed_out=timed_out, oom_killed=oom_killed,
                                             cancelled=guard.cancelled)
        if guard.exceeded and status is not StageStatus.TIMEOUT:
            status, message = StageStatus.OUTPUT_LIMIT, f"the submission {guard.exceeded} (the output limit)"
        return StageOutcome(stage=request.stage, status=status, message=message,
                            exit_code=code if isinstance(code, int) else None, signal=sig,
                            duration_s=time.perf_counter() - start, sandbox_s=sandbox_s, out_dir=out_dir,
                            **read_logs(out_dir, request.limits.output_kb))


# --------------------------------------------------------------------------- self-test

_SELF_TEST = r"""
import errno, json, os, socket
r = {"uid": os.getuid(), "gid": os.getgid()}
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
r["cap_eff"] = int(status["CapEff"].strip(), 16)
r["no_new_privs"] = status.get("NoNewPrivs", "").strip()
try:
    open("/usr/nngrader-self-test", "w")
    r["root_write"] = "ok"
except OSError as e:
    r["root_write"] = errno.errorcode.get(e.errno, str(e.errno))
try:
    s = socket.create_connection(("1.1.1.1", 53), timeout=2)
    s.close()
    r["network"] = "ok"
except OSError as e:
    r["network"] = type(e).__name__
r["interfaces"] = sorted(os.listdir("/sys/class/net"))
print(json.dumps(r))
"""


def self_test(client: Any, image: str = IMAGE_TAG, user: str | None = None) -> list[str]:
    """Run a probe container with the stage settings; the confinement problems found (empty: all good).

    Guards against fail-open confinement (an engine that silently drops an option).
    """
    limits = SandboxLimits(timeout_s=30, memory_mb=128, cpus=1, pids=32, file_mb=1, output_kb=4)
    with _engine_errors(f"looking up image {image}"):
        found = client.images.get(image)
    settings = container_settings(limits, image=str(found.id), user=user or _image_user(found),
                                  command=["python3", "-I", "-c", _SELF_TEST], mounts=[], stage="self-test")
    container: Any = None
    try:
        with _engine_errors("running the sandbox self-test"):
            container = client.containers.create(**settings)
            container.start()
            wait_or_kill(container, limits.timeout_s)
            output = container.logs(stdout=True, stderr=True, tail=20)[:8192].decode("utf-8", "replace")
    finally:
        if container is not None:
            _remove(container)
    try:
        found_state = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [f"the self-test container did not report: {output.strip()[-300:]!r}"]
    problems = []
    if found_state.get("uid") == 0:
        problems.append("runs as root")
    if found_state.get("cap_eff") != 0:
        problems.append(f"has capabilities (CapEff {found_state.get('cap_eff'):#x})")
    if found_state.get("no_new_privs") != "1":
        problems.append("no-new-privileges not applied")
    if found_state.get("root_write") == "ok":
        problems.append("root filesystem is writable")
    if found_state.get("network") == "ok":
        problems.append("network is reachable")
    if found_state.get("interfaces") not in (["lo"], []):
        problems.append(f"network interfaces present: {found_state.get('interfaces')}")
    return problems
