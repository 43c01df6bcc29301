"""The grading image: names, offline/online builds, presence.

Offline build (no registry needed, only a Debian mirror, or nothing at all when a root filesystem is
given): debootstrap a minbase bookworm with python3 + python3-numpy + libopenblas0-pthread,
`docker import` it as BASE_TAG, then build `image/Dockerfile` on top (adds the `student` user, uid
1000, and checks that NumPy runs on OpenBLAS). Online build: `image/Dockerfile.online`, FROM the
official python:3.11-slim image with NumPy from PyPI.

The image holds no grader code, no test labels and no data: the harness, the submission and the
public arrays are bind-mounted read-only per stage by grader/sandbox/docker.py.

CLI wiring (the lead's `grader/cli.py`):
    nngrader image build [--offline | --online] [--mirror URL] [--rootfs DIR] [--force]
        -> build_offline(client, mirror, rootfs, force=...) / build_online(client, force=...)
           with client = docker_client() ; prints BuildInfo
(`nngrader doctor` lives in grader/doctor.py.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from grader.errors import SandboxError
from grader.models import StrictModel
from grader.sandbox.docker_engine import connect
from grader.version import __version__


def _tag_safe(version: str) -> str:
    """A Docker tag allows [A-Za-z0-9_.-] only: '0.1.0+dev' becomes '0.1.0-dev'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", version)[:128]


GRADER_VERSION = __version__
IMAGE_REPO = "nngrader-grader"
IMAGE_TAG = f"{IMAGE_REPO}:{_tag_safe(GRADER_VERSION)}"
BASE_TAG = "nngrader-base:bookworm"
SANDBOX_USER = "1000:1000"
"""uid:gid of the `student` user both Dockerfiles create; the sandbox runs every stage as it."""

IMAGE_DIR = Path(__file__).resolve().parent / "image"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-numpy", "libopenblas0-pthread")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Left out of the imported base: downloaded .debs and apt lists (about 100 MB, useless at runtime).
_ROOTFS_EXCLUDES = ("./var/cache/apt/archives/*.deb", "./var/lib/apt/lists/*", "./var/cache/apt/*.bin")

class BuildInfo(StrictModel):
    """What `nngrader image build` did."""

    tag: str = Field(description="Image tag, e.g. nngrader-grader:0.1.0.")
    seconds: float = Field(ge=0, description="Total wall time of the build.")
    method: str = Field(description="'offline', 'online', or 'present' when nothing needed building.")
    image_id: str | None = Field(default=None, description="Image id (sha256:...).")
    steps: dict[str, float] = Field(
        default_factory=dict, description="Seconds per step: debootstrap, import, build."
    )


# --------------------------------------------------------------------------- presence


def image_present(client: Any, tag: str = IMAGE_TAG) -> bool:
    """True when the engine has image `tag`."""
    import docker.errors
    import requests.exceptions

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise SandboxError(f"could not ask the Docker engine for image {tag}: {exc}") from exc
    return True


def docker_client(timeout: int = 60) -> Any:
    """A Docker client from the environment (DOCKER_HOST, ...), pinged; SandboxError when unreachable."""
    return connect(timeout=timeout)


# --------------------------------------------------------------------------- offline build


def default_mirror() -> str:
    """The host's Debian mirror (deb822 `URIs:` or a sources.list `deb` line), else deb.debian.org."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    try:
        for line in deb822.read_text().splitlines():
            if line.strip().lower().startswith("uris:"):
                uris = line.split(":", 1)[1].split()
                for uri in uris:
                    if "security" not in uri:
                        return uri
    except OSError:
        pass
    try:
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            parts = line.split()
            # deb [options] URI suite components
            if parts and parts[0] == "deb":
                uris = [p for p in parts[1:] if "://" in p and "security" not in p]
                if uris:
                    return uris[0]
    except OSError:
        pass
    return DEFAULT_MIRROR


def _rootfs_complete(rootfs: Path) -> bool:
    return (rootfs / "usr/bin/python3").exists() and any(
        (rootfs / "usr/lib/python3/dist-packages/numpy").glob("__init__.py")
    )


def debootstrap(rootfs: Path, mirror: str) -> None:
    """debootstrap a minbase bookworm with python3 + NumPy + OpenBLAS into `rootfs` (needs root)."""
    exe = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if exe is None:
        raise SandboxError("debootstrap is not installed: `apt-get install debootstrap`, or use "
                           "`nngrader image build --online`")
    if os.geteuid() != 0:
        raise SandboxError("debootstrap needs root: run `sudo nngrader image build --offline`, or pass "
                           "--rootfs with a prepared root filesystem, or use `--online`")
    command = [exe, "--variant=minbase", "--include=" + ",".join(DEBIAN_PACKAGES), DEBIAN_SUITE,
               str(rootfs), mirror]
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise SandboxError(f"debootstrap failed (exit {result.returncode}) with mirror {mirror}:\n{tail}\n"
                           "Check the mirror (--mirror URL) and network, or use `--online`.")


def import_rootfs(client: Any, rootfs: Path, tag: str = BASE_TAG) -> str:
    """`tar` the root filesystem (numeric owners, apt caches left out) and `docker import` it as `tag`."""
    import docker.errors
    import requests.exceptions

    tar = shutil.which("tar")
    if tar is None:
        raise SandboxError("tar is not installed; it is needed to import the root filesystem")
    repository, _, version = tag.partition(":")
    with tempfile.TemporaryDirectory(prefix="nngrader-rootfs-") as tmp:
        archive = Path(tmp) / "rootfs.tar"
        command = [tar, "--numeric-owner", "-C", str(rootfs), "-cf",
                   str(archive)]
        command += [f"--exclude={pattern}" for pattern in _ROOTFS_EXCLUDES] + ["."]
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode != 0:
            raise SandboxError(f"could not archive {rootfs}: {result.stderr.strip()[-500:]}")
        try:
            # A path makes docker-py upload the file with no HTTP timeout.
            client.api.import_image(src=str(archive), repository=repository, tag=version or "latest")
            image = client.images.get(tag)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise SandboxError(f"docker import of {rootfs} as {tag} failed: {exc}") from exc
    return str(image.id)


def _build(client: Any, dockerfile: str, tag: str, buildargs: dict[str, str], *, network: bool) -> str:
    """Build `image/<dockerfile>` as `tag`; SandboxError with the build log's tail when it fails."""
    import docker.errors
    import requests.exceptions

    try:
        image, _logs = client.images.build(
            path=str(IMAGE_DIR), dockerfile=dockerfile, tag=tag, buildargs=buildargs, rm=True, forcerm=True,
            pull=False, network_mode=None if network else "none", timeout=None,
            labels={"nngrader.version": GRADER_VERSION},
        )
    except docker.errors.BuildError as exc:
        lines = [str(chunk.get("stream") or chunk.get("error") or "").rstrip() for chunk in exc.build_log]
        tail = "\n".join(line for line in lines if line)[-2000:]
        hint = ("\nThe online build needs Docker Hub and PyPI; without them use `nngrader image build --offline`."
                if network else "")
        raise SandboxError(f"building {tag} from {dockerfile} failed: {exc.msg}\n{tail}{hint}") from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise SandboxError(f"building {tag} from {dockerfile} failed: {exc}") from exc
    return str(image.id)


def build_offline(client: Any, mirror: str | None = None, rootfs: Path | None = None, *, force: bool = False,
                  tag: str = IMAGE_TAG, base_tag: str = BASE_TAG) -> BuildInfo:
    """Build the grading image without any registry.

    Skips everything when `tag` exists (unless `force`). The base image `base_tag` is made only when
    missing: from `rootfs` when it already holds a complete root filesystem, else by debootstrap into
    `rootfs` (or a temporary folder) from `mirror` (default: the host's Debian mirror).
    """
    start = time.perf_counter()
    if not force and image_present(client, tag):
        return BuildInfo(tag=tag, seconds=0.0, method="present", image_id=str(client.images.get(tag).id))
    steps: dict[str, float] = {}
    if force or not image_present(client, base_tag):
        with tempfile.TemporaryDirectory(prefix="nngrader-debootstrap-", dir="/var/tmp") as tmp:
            target = Path(rootfs) if rootfs is not None else Path(tmp) / "rootfs"
            if not _rootfs_complete(target):
                t0 = time.perf_counter()
                debootstrap(target, mirror or default_mirror())
                steps["debootstrap"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            import_rootfs(client, target, base_tag)
            steps["import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    image_id = _build(client, "Dockerfile", tag, {"BASE": base_tag, "GRADER_VERSION": GRADER_VERSION},
                      network=False)
    steps["build"] = time.perf_counter() - t0
    return BuildInfo(tag=tag, seconds=time.perf_counter() - start, method="offline", image_id=image_id,
                     steps=steps)


def build_online(client: Any, *, force: bool = False, tag: str = IMAGE_TAG) -> BuildInfo:
    """Build the grading image from python:3.11-slim and NumPy from PyPI (needs Docker Hub and PyPI)."""
    start = time.perf_counter()
    if not force and image_present(client, tag):
        return BuildInfo(tag=tag, seconds=0.0, method="present", image_id=str(client.images.get(tag).id))
    image_id = _build(client, "Dockerfile.online", tag, {"GRADER_VERSION": GRADER_VERSION}, network=True)
    seconds = time.perf_counter() - start
    return BuildInfo(tag=tag, seconds=seconds, method="online", image_id=image_id, steps={"build": seconds})
