"""The machine a benchmark ran on: CPU, cores, RAM, OS, Python, NumPy + BLAS, Docker, git commit, load."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import docker
import numpy as np
from common import REPO

# Prints the NumPy version and the BLAS libraries actually mapped into the process (works on any NumPy).
BLAS_PROBE = (
    "import numpy as np, json, re; np.dot(np.ones((64, 64)), np.ones((64, 64)));"
    "libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if re.search('blas|lapack|mkl', l)});"
    "print(json.dumps({'numpy': np.__version__, 'blas_libraries': libs}))"
)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def _os_name() -> str:
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        name = fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        name = ""
    return f"{name or platform.system()} (kernel {platform.release()})"


def _host_blas() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except (TypeError, KeyError):
        return "unknown"


def _git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return commit + (" (+ uncommitted changes)" if dirty else "")


def _docker(image: str) -> dict[str, Any]:
    """Docker server version and the grading image's NumPy/BLAS, or why they are unknown."""
    try:
        client = docker.from_env(timeout=10)
        server = str(client.version().get("Version", "unknown"))
        output = client.containers.run(image, ["python3", "-I", "-c", BLAS_PROBE], remove=True,
                                       network_mode="none", user="1000:1000")
        probe: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
        client.close()
        return {"server_version": server, "image": image, "image_numpy": probe["numpy"],
                "image_blas": probe["blas_libraries"]}
    except Exception as exc:  # noqa: BLE001 - any failure only means "unknown" here
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def describe(with_docker: bool, image: str) -> dict[str, Any]:
    """Everything the results need to be compared across machines."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gb": _ram_gb(), "os": _os_name(),
        "python": platform.python_version(), "numpy": np.__version__, "blas": _host_blas(),
        "git_commit": _git_commit(), "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }
    if with_docker:
        info["docker"] = _docker(image)
    return info
