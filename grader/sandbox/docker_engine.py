"""The Docker engine: connecting, translating its errors, and the containers of this and of dead graders.

Every container nngrader creates carries the labels `nngrader=1`, `nngrader.stage=<stage>` and
`nngrader.owner=<host>:<pid>:<start time>` of the grader process that made it. `sweep_leftovers` removes those
whose grader is gone; `own_containers` lists this process's own. Every docker/requests error is turned into a
SandboxError that says what to do (`engine_error`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from grader.errors import SandboxError
from grader.sandbox.base import pid_alive

log = logging.getLogger(__name__)

LABEL = "nngrader"
STAGE_LABEL = "nngrader.stage"
OWNER_LABEL = "nngrader.owner"
ENGINE_FIX = "start it (e.g. `sudo systemctl start docker`) or use --sandbox local"
IMAGE_FIX = "run `nngrader image build` (add --offline where Docker Hub is unreachable)"
LEFTOVER_MAX_AGE_S = 6 * 3600  # containers of unknown owners older than this are swept
DOCKER_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException, requests.exceptions.RequestException,
)


def short(exc: BaseException) -> str:
    """An exception's text, at most 300 characters."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def engine_error(exc: BaseException, doing: str) -> SandboxError:
    """The SandboxError for a Docker/requests error raised while `doing` something."""
    if isinstance(exc, docker.errors.ImageNotFound):
        return SandboxError(f"grading image missing while {doing}: {IMAGE_FIX}")
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return SandboxError(f"Docker engine not reachable while {doing} ({short(exc)}): {ENGINE_FIX}")
    if isinstance(exc, docker.errors.APIError):
        why = exc.explanation or short(exc)
        return SandboxError(f"the Docker engine refused {doing}: {why}")
    return SandboxError(f"Docker error while {doing}: {short(exc)}: {ENGINE_FIX}")


@contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Turn Docker/requests errors raised inside into SandboxErrors about `doing`."""
    try:
        yield
    except DOCKER_ERRORS as exc:
        raise engine_error(exc, doing) from exc


def connect(timeout: int = 60) -> Any:
    """A pinged docker.DockerClient from the environment (DOCKER_HOST, ...); SandboxError if unreachable."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DOCKER_ERRORS as exc:
        raise SandboxError(f"Docker engine not reachable ({short(exc)}): {ENGINE_FIX}") from exc
    return client


def engine_available(timeout: int = 5) -> bool:
    """True when a Docker engine answers a ping within `timeout` seconds."""
    try:
        client = connect(timeout=timeout)
    except SandboxError:
        return False
    client.close()
    return True


# --------------------------------------------------------------------------- owners


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
    if not pid_alive(pid):
        return False
    return not start  # we recorded a start time but /proc has none for this pid: gone


def _age_s(container: Any) -> float:
    created = str(container.attrs.get("Created", ""))[:19]
    try:
        made = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0.0
    return (datetime.now(timezone.utc) - made).total_seconds()


def own_containers(client: Any) -> list[Any]:
    """Containers (any state) that this grader process created and that still exist."""
    labels = [f"{LABEL}=1", f"{OWNER_LABEL}={owner_label()}"]
    with engine_errors("listing this grader's containers"):
        # ignore_removed: a container may be removed between the listing and docker-py's inspect of it
        return list(client.containers.list(all=True, filters={"label": labels}, ignore_removed=True))


def remove(container: Any) -> bool:
    """Force-remove a container; False (and a warning) when the engine refused, True when gone."""
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except DOCKER_ERRORS as exc:
        # Left for sweep_leftovers; never hide the original outcome or exception behind this.
        log.warning("could not remove sandbox container %s: %s", container.short_id, short(exc))
        return False
    return True


def sweep_leftovers(client: Any) -> int:
    """Remove nngrader containers left behind by graders that crashed; the number removed.

    A container is removed when the grader process that created it is gone (same host), or, when its
    owner cannot be told (another host, no owner label), when it has exited or is hours old. Containers
    of graders still running (a parallel batch, another test run) are left alone.
    """
    with engine_errors("listing leftover containers"):
        containers = client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True)
    removed = 0
    for container in containers:
        owner = container.labels.get(OWNER_LABEL, "")
        alive = _owner_alive(owner) if owner else None
        if alive:
            continue
        if alive is None and container.status in ("running", "created") and _age_s(container) < LEFTOVER_MAX_AGE_S:
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
