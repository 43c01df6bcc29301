"""Running one container: attach, start, drain its output, supervise, kill, remove.

`run_container` attaches to the container's stdout and stderr *before* starting it (the `none` log driver
stores nothing), drains the multiplexed attach stream in a thread into two bounded OutputTails, and waits
with `supervise` (cancel events, the wall-time limit, the grader's watch). A stage that must stop is killed
with SIGKILL (its init from the host first when the grader may, then through the API; never `stop()`), and
the container is removed in a `finally`, whatever happened.

The container's exit is seen by a thread blocked in `wait()`, re-issued in chunks because `wait(timeout)` is
only an HTTP read timeout (docker-py #2964); the wall-time limit never depends on it returning.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import docker.errors
import requests.exceptions

from grader.errors import SandboxError
from grader.sandbox.base import Ending, Watch
from grader.sandbox.docker_engine import engine_errors, remove
from grader.sandbox.output import CHUNK, DRAIN_GRACE_S, OutputTail
from grader.sandbox.supervise import supervise

KILL_WAIT_S = 30.0  # how long a killed container may take to be reported as exited
WAIT_CHUNK_S = 60  # one wait() request; re-issued until the container exits
_HEADER = struct.Struct(">BxxxL")  # attach stream frame: stream (1 stdout, 2 stderr), 3 zero bytes, length


class StreamDrain:
    """Reads a container's multiplexed attach stream in a thread into two OutputTails.

    Frames are parsed incrementally from 64 KB reads: a frame's announced length is never allocated.
    """

    def __init__(self, sock: Any, limit: int) -> None:
        self.stdout, self.stderr = OutputTail(limit), OutputTail(limit)
        self._sock = sock
        self._raw: socket.socket | None = getattr(sock, "_sock", sock if isinstance(sock, socket.socket) else None)
        if self._raw is not None:
            self._raw.settimeout(None)  # a stage may print nothing for minutes
        self._thread = threading.Thread(target=self._run, name="nngrader-attach", daemon=True)
        self._thread.start()

    def _read(self) -> bytes:
        if hasattr(self._sock, "recv"):
            return bytes(self._sock.recv(CHUNK))
        return bytes(self._sock.read(CHUNK) or b"")

    def _run(self) -> None:
        pending = b""
        target: OutputTail | None = None
        left = 0
        with contextlib.suppress(OSError, ValueError):
            while True:
                data = self._read()
                if not data:
                    return
                pending += data
                while pending:
                    if left == 0:
                        if len(pending) < _HEADER.size:
                            break
                        kind, left = _HEADER.unpack_from(pending)
                        pending = pending[_HEADER.size:]
                        target = self.stderr if kind == 2 else self.stdout
                        continue
                    piece, pending = pending[:left], pending[left:]
                    left -= len(piece)
                    if target is not None:
                        target.feed(piece)

    def finish(self, grace_s: float = DRAIN_GRACE_S) -> None:
        """Wait for the stream's end (the container exited), at most grace_s; then close it."""
        self._thread.join(grace_s)
        if self._raw is not None:
            with contextlib.suppress(OSError):
                self._raw.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(grace_s)


@dataclass
class Tracked:
    """A container this sandbox has running, so that stop_all can kill it."""

    container: Any
    abort: threading.Event = field(default_factory=threading.Event)
    pid: int = 0  # its init's pid on the host, when known

    def kill(self) -> bool:
        """SIGKILL the container (its init from the host first: its PID namespace dies at once); False if it
        had already exited."""
        if self.pid > 0:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        try:
            self.container.kill()
        except docker.errors.APIError as exc:
            if exc.status_code in (404, 409):  # not running (any more)
                return False
            raise
        return True


@dataclass
class ContainerRun:
    """How a container ended, and what it printed."""

    exit_code: int | None
    oom_killed: bool
    ending: Ending
    stdout: OutputTail
    stderr: OutputTail
    sandbox_s: float


class _Waiter:
    """Sets `exited` when the container stops; records an engine failure instead of raising in its thread."""

    def __init__(self, container: Any) -> None:
        self.exited = threading.Event()
        self.error: BaseException | None = None
        self._container = container
        threading.Thread(target=self._run, name="nngrader-wait", daemon=True).start()

    def _run(self) -> None:
        try:
            while True:
                try:
                    self._container.wait(timeout=WAIT_CHUNK_S)
                    return
                except requests.exceptions.ReadTimeout:
                    continue
        except docker.errors.NotFound:
            return  # removed: it certainly stopped
        except BaseException as exc:  # noqa: BLE001 - handed to the supervising thread
            self.error = exc
        finally:
            self.exited.set()


def run_container(client: Any, settings: dict[str, Any], *, timeout_s: float, output_bytes: int,
                  cancel: threading.Event | None = None, watch: Watch | None = None,
                  running: dict[str, Tracked] | None = None, doing: str = "the stage") -> ContainerRun:
    """Create, attach, start and supervise one container, then remove it; see the module docstring.

    `running` holds the container (by id) while it exists, for stop_all.
    """
    running = {} if running is None else running
    container: Any = None
    drain: StreamDrain | None = None
    t0 = time.perf_counter()
    try:
        with engine_errors(f"creating the container for {doing}"):
            container = client.containers.create(**settings)
        tracked = Tracked(container)
        running[container.id] = tracked
        with engine_errors(f"attaching to the container of {doing}"):
            sock = client.api.attach_socket(container.id, params={"stdout": 1, "stderr": 1, "stream": 1})
        drain = StreamDrain(sock, output_bytes)
        with engine_errors(f"starting the container of {doing}"):
            container.start()
            container.reload()
            tracked.pid = int((container.attrs.get("State") or {}).get("Pid") or 0)
        started = time.perf_counter()
        waiter = _Waiter(container)
        ending = supervise(waiter.exited, timeout_s, [cancel, tracked.abort], watch)
        with engine_errors(f"running {doing}"):
            if waiter.error is not None:
                raise waiter.error
            if ending.by_host:
                tracked.kill()
            if not waiter.exited.wait(KILL_WAIT_S):
                raise SandboxError(f"the container of {doing} did not stop within {KILL_WAIT_S:g} s of a kill")
            container.reload()
        ended = time.perf_counter()
        drain.finish()
        state = container.attrs.get("State") or {}
        code = state.get("ExitCode")
        result = ContainerRun(exit_code=code if isinstance(code, int) else None,
                              oom_killed=bool(state.get("OOMKilled")), ending=ending,
                              stdout=drain.stdout, stderr=drain.stderr, sandbox_s=0.0)
    finally:
        if drain is not None:
            drain.finish(grace_s=0.0)
        if container is not None:
            remove(container)
            running.pop(container.id, None)
    result.sandbox_s = (started - t0) + (time.perf_counter() - ended)
    return result
