"""Choose a sandbox by name: 'docker', 'local', or 'auto' (Docker when it can run, else local with a note);
and list each backend's contribution to `nngrader doctor`.

The backends are imported here, when chosen, and nowhere else outside grader/sandbox: the grading code and
the batch drive whichever they get through the Sandbox protocol.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from grader.errors import SandboxError
from grader.models import Note
from grader.sandbox.base import DoctorItem, Sandbox

SANDBOXES = ("auto", "docker", "local")


def _local() -> tuple[Sandbox, list[Note]]:
    from grader.sandbox.local import LocalSandbox

    box = LocalSandbox()
    if box.users is not None:
        return box, [Note(code="not_isolated", message="graded with --sandbox local as root: the submission ran as "
                          f"an unprivileged user ({box.users.describe()}) without Docker's network, memory and "
                          "file-system isolation")]
    return box, [Note(code="not_isolated", message="graded with --sandbox local: the submission ran as a plain "
                      "child process with your user's rights, not isolated")]


def select_sandbox(name: str) -> tuple[Sandbox, list[Note]]:
    """The sandbox for `name`, plus notes for the report (e.g. that `auto` fell back to local)."""
    if name == "local":
        return _local()
    if name not in SANDBOXES:
        raise SandboxError(f"unknown sandbox {name!r}: use one of {', '.join(SANDBOXES)}")
    from grader.sandbox import docker as docker_sandbox

    if name == "docker":
        return docker_sandbox.DockerSandbox(), []
    try:
        return docker_sandbox.DockerSandbox(), []
    except SandboxError as exc:
        box, _ = _local()
        isolation = "runs the submission as an unprivileged user, without Docker's isolation" if os.geteuid() == 0 \
            else "does NOT isolate the submission"
        return box, [Note(code="not_isolated", message=f"Docker unavailable ({exc}); fell back to --sandbox local, "
                          f"which {isolation}")]


def doctor_contributions() -> list[tuple[str, Callable[[], list[DoctorItem]]]]:
    """(backend name, its doctor check) for every backend; Docker's module is imported only here."""
    from grader.sandbox import docker as docker_sandbox
    from grader.sandbox import local

    return [("docker", docker_sandbox.doctor_items), ("local", local.doctor_items)]
