"""The `docker` sandbox: one fresh, locked-down container of the grading image per stage.

This module is the backend the grader sees (`DockerSandbox`, the Sandbox protocol) plus the confinement
self-test and this backend's part of `nngrader doctor`. The work is split by job:

    docker_engine.py      connecting, error translation, owner labels, leftovers of dead graders
    docker_containers.py  what a stage container is: settings, mounts, command, stage folder checks
    docker_running.py     running one: attach, start, drain output, supervise, kill, remove

What a stage can touch is described in docker_containers.py; the host never parses anything the container
prints, and reads results only from the two pre-created files in stage_dir/out/.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import docker.errors

from grader.errors import SandboxError
from grader.harness import HARNESS_PATH
from grader.sandbox.base import (
    OUT_DIR,
    DoctorItem,
    SandboxLimits,
    StageOutcome,
    StageRequest,
    Watch,
    classify_exit,
)
from grader.sandbox.docker_containers import (
    container_settings,
    image_user,
    ready_for_container,
    stage_command,
    stage_mounts,
)
from grader.sandbox.docker_engine import (
    DOCKER_ERRORS,
    IMAGE_FIX,
    LABEL,
    OWNER_LABEL,
    connect,
    engine_available,
    engine_error,
    engine_errors,
    own_containers,
    owner_label,
    remove,
    short,
    sweep_leftovers,
)
from grader.sandbox.docker_running import Tracked, run_container
from grader.sandbox.image import IMAGE_TAG, image_present

__all__ = ["LABEL", "OWNER_LABEL", "DockerSandbox", "connect", "container_settings", "doctor_items", "engine_available",
           "owner_label", "self_test", "sweep_leftovers"]

log = logging.getLogger(__name__)

ENGINE_DOCTOR_FIX = ("start the Docker engine (e.g. `sudo systemctl start docker`), or grade with "
                     "`--sandbox local` (isolated only when run as root)")
CONFINEMENT_FIX = ("the engine does not apply the sandbox's restrictions: check its security options "
                   "(seccomp/AppArmor, cgroups); do not grade untrusted code until this passes")
BUILD_FIX = "run `nngrader image build --offline` (or `--online` where Docker Hub and PyPI are reachable)"


class DockerSandbox:
    """Runs each stage in a fresh, locked-down container of the grading image."""

    name = "docker"

    def __init__(self, client: Any | None = None, image: str = IMAGE_TAG, harness: Path = HARNESS_PATH) -> None:
        self.client = client if client is not None else connect()
        self.image = image
        self.harness = Path(harness)
        self._running: dict[str, Tracked] = {}
        try:
            found = self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(f"image {image} missing: {IMAGE_FIX}") from exc
        except DOCKER_ERRORS as exc:
            raise engine_error(exc, f"looking up image {image}") from exc
        self.image_id = str(found.id)
        self.user = image_user(found)
        sweep_leftovers(self.client)

    def describe(self) -> str | None:
        return self.image

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None,
                  watch: Watch | None = None) -> StageOutcome:
        start = time.perf_counter()
        ready_for_container(request, self.harness, self.user)
        settings = container_settings(request.limits, image=self.image_id, user=self.user,
                                      command=stage_command(request.data_dir is not None),
                                      mounts=stage_mounts(request, self.harness), stage=request.stage)
        run = run_container(self.client, settings, timeout_s=request.limits.timeout_s,
                            output_bytes=request.limits.output_kb * 1024, cancel=cancel, watch=watch,
                            running=self._running, doing=f"the {request.stage} stage")
        status, message, sig = classify_exit(request.stage, run.exit_code, request.stage_dir, request.limits,
                                             run.ending, oom_killed=run.oom_killed)
        return StageOutcome(stage=request.stage, status=status, message=message, exit_code=run.exit_code,
                            signal=sig, duration_s=time.perf_counter() - start, sandbox_s=run.sandbox_s,
                            out_dir=request.stage_dir / OUT_DIR, stop=run.ending.stop,
                            stdout=run.stdout.text(), stderr=run.stderr.text(),
                            stdout_bytes=run.stdout.total, stderr_bytes=run.stderr.total)

    def stop_all(self) -> None:
        """Kill every stage container of this process (each run_stage returns CANCELLED and removes its own);
        remove those of this process that have exited and that no run_stage is handling."""
        tracked = list(self._running.values())
        for stage in tracked:
            stage.abort.set()
            try:
                stage.kill()
            except DOCKER_ERRORS as exc:
                log.warning("could not kill a stage container: %s", short(exc))
        handled = {stage.container.id for stage in tracked}
        try:
            containers = own_containers(self.client)
        except SandboxError as exc:
            log.warning("%s", exc)
            return
        for container in containers:
            if container.id in handled:
                continue
            if container.status == "running":
                try:
                    Tracked(container).kill()
                except DOCKER_ERRORS as exc:
                    log.warning("could not kill container %s: %s", container.short_id, short(exc))
            else:
                remove(container)

    def sweep(self) -> int:
        """Remove the containers of graders that are gone."""
        return sweep_leftovers(self.client)

    def doctor(self) -> list[DoctorItem]:
        return doctor_items(self.client, self.image)


# --------------------------------------------------------------------------- self-test and doctor

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
    limits = SandboxLimits(timeout_s=30, memory_mb=128, cpus=1, pids=32, file_mb=1, output_kb=8)
    with engine_errors(f"looking up image {image}"):
        found = client.images.get(image)
    settings = container_settings(limits, image=str(found.id), user=user or image_user(found),
                                  command=["python3", "-I", "-c", _SELF_TEST], mounts=[], stage="self-test")
    run = run_container(client, settings, timeout_s=limits.timeout_s, output_bytes=limits.output_kb * 1024,
                        doing="the sandbox self-test")
    output = run.stdout.text()
    try:
        seen = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [f"the self-test container did not report: {(output + run.stderr.text()).strip()[-300:]!r}"]
    problems = []
    if seen.get("uid") == 0:
        problems.append("runs as root")
    if seen.get("cap_eff") != 0:
        problems.append(f"has capabilities (CapEff {seen.get('cap_eff'):#x})")
    if seen.get("no_new_privs") != "1":
        problems.append("no-new-privileges not applied")
    if seen.get("root_write") == "ok":
        problems.append("root filesystem is writable")
    if seen.get("network") == "ok":
        problems.append("network is reachable")
    if seen.get("interfaces") not in (["lo"], []):
        problems.append(f"network interfaces present: {seen.get('interfaces')}")
    return problems


def doctor_items(client: Any | None = None, image: str = IMAGE_TAG) -> list[DoctorItem]:
    """The Docker backend's part of `nngrader doctor`: engine, grading image, confinement self-test."""
    try:
        client = client if client is not None else connect(timeout=10)
        with engine_errors("asking for its version"):
            version = client.version().get("Version", "?")
    except SandboxError as exc:
        return [DoctorItem(name="docker engine", ok=False, detail=str(exc), fix=ENGINE_DOCTOR_FIX)]
    items = [DoctorItem(name="docker engine", ok=True, detail=f"Docker {version} answers")]
    try:
        present = image_present(client, image)
    except SandboxError as exc:
        return items + [DoctorItem(name="grading image", ok=False, detail=str(exc), fix=BUILD_FIX)]
    if not present:
        return items + [DoctorItem(name="grading image", ok=False, detail=f"{image} is missing", fix=BUILD_FIX)]
    with engine_errors(f"looking up image {image}"):
        found = client.images.get(image)
    size = found.attrs.get("Size", 0) / 2**20
    items.append(DoctorItem(name="grading image", ok=True, detail=f"{image} ({str(found.id)[:19]}, {size:.0f} MB)"))
    try:
        problems = self_test(client, image)
    except SandboxError as exc:
        problems = [str(exc)]
    items.append(DoctorItem(
        name="sandbox confinement", ok=not problems,
        detail="non-root, no capabilities, no network, read-only root" if not problems else "; ".join(problems),
        fix="" if not problems else CONFINEMENT_FIX))
    return items
