"""What a stage container is: its settings, its mounts and its command (no engine calls here).

One fresh container of the grading image per stage: no network, a read-only root, no capabilities,
no-new-privileges, a non-root user, memory = swap, a CPU quota, a pids limit, nofile/fsize/core ulimits,
private IPC, tini as PID 1, a small noexec /tmp (also HOME and the working folder), and the `none` log
driver (stdout/stderr are drained through the attach stream, never stored by the engine).

Mounted: /in, /sub, /harness/harness.py and, for the train stage, /data, all read-only; and the two
pre-created output files /out/results.bin and /out/progress.txt, read-write, each bounded by fsize. /out
itself is a folder of the read-only root: the stage cannot create a file there, nor anywhere on the host.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from docker.types import LogConfig, Mount, Ulimit

from grader.errors import SandboxError
from grader.sandbox.base import (
    DATA_DIR,
    IN_DIR,
    OUT_FILES,
    SUB_DIR,
    SandboxLimits,
    StageRequest,
    check_data_dir,
    check_stage_dir,
    out_file,
    seal_inputs,
)
from grader.sandbox.docker_engine import LABEL, OWNER_LABEL, STAGE_LABEL, owner_label
from grader.sandbox.image import SANDBOX_USER
from grader.sandbox.local import thread_env

PATH_ENV = "/usr/local/bin:/usr/bin:/bin"
NOFILE = 256


def image_user(image: Any) -> str:
    """The image's configured non-root user, else the `student` uid; never root."""
    user = str((image.attrs.get("Config") or {}).get("User") or "")
    if user.split(":")[0] in ("", "0", "root"):
        return SANDBOX_USER
    return user


def _uid_gid(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return (int(uid) if uid.isdigit() else -1, int(gid) if gid.isdigit() else -1)


def ready_for_container(request: StageRequest, harness: Path, user: str = SANDBOX_USER) -> None:
    """Check the stage folder's layout and make its inputs read-only and readable by the container's user.

    Refuses symlinked or missing stage paths, an unreadable harness, and a data folder that holds the hidden
    test labels or that the user cannot read.
    """
    stage_dir = request.stage_dir
    check_stage_dir(stage_dir)
    info = os.lstat(harness) if harness.exists() else None
    if info is None or not stat.S_ISREG(info.st_mode):
        raise SandboxError(f"the harness {harness} is missing or not a regular file")
    try:
        for name in (IN_DIR, SUB_DIR, DATA_DIR):
            if (stage_dir / name).is_dir():
                seal_inputs(stage_dir / name)
        for name in OUT_FILES:
            os.chmod(out_file(stage_dir, name), 0o666)
    except OSError as exc:
        raise SandboxError(f"cannot open the stage folder {stage_dir} to the sandbox user: {exc}") from exc
    if info.st_mode & 0o004 == 0:
        raise SandboxError(f"the harness {harness} is not readable by the sandbox user {user}: "
                           f"`chmod a+r {harness}` (or reinstall nngrader with a normal umask)")
    if request.data_dir is not None:
        check_data_dir(request.data_dir, *_uid_gid(user))


def stage_command(has_data: bool) -> list[str]:
    """The harness run: `python3 -I harness.py IN_DIR OUT_DIR SUB_DIR [DATA_DIR]`."""
    return ["python3", "-I", "/harness/harness.py", "/in", "/out", "/sub"] + (["/data"] if has_data else [])


def stage_mounts(request: StageRequest, harness: Path) -> list[Any]:
    """Bind mounts of one stage: inputs read-only, the two output files read-write, nothing else."""
    stage_dir = request.stage_dir.resolve()
    mounts = [
        Mount("/in", str(stage_dir / IN_DIR), type="bind", read_only=True),
        Mount("/sub", str(stage_dir / SUB_DIR), type="bind", read_only=True),
        Mount("/harness/harness.py", str(harness.resolve()), type="bind", read_only=True),
    ]
    mounts += [Mount(f"/out/{name}", str(out_file(stage_dir, name)), type="bind", read_only=False)
               for name in OUT_FILES]
    if request.data_dir is not None:
        mounts.append(Mount("/data", str(request.data_dir.resolve()), type="bind", read_only=True))
    return mounts


def container_settings(limits: SandboxLimits, *, image: str, user: str, command: list[str],
                       mounts: list[Any], stage: str) -> dict[str, Any]:
    """Arguments of `client.containers.create` for one locked-down run (see the module docstring)."""
    file_bytes = limits.file_mb * 2**20
    return {
        "image": image,
        "command": command,
        "user": user,
        "environment": {"PATH": PATH_ENV, "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
                        **thread_env(limits.cpus)},
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
            Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
            Ulimit(name="fsize", soft=file_bytes, hard=file_bytes),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "ipc_mode": "private",
        "init": True,
        "privileged": False,
        "log_config": LogConfig(type="none"),
        "mounts": mounts,
        "stdin_open": False,
        "tty": False,
        "auto_remove": False,
    }
