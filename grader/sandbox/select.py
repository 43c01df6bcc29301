"""Choose a sandbox by name: 'docker', 'local', or 'auto' (Docker when it can run, else local with a note)."""

from __future__ import annotations

from grader.errors import SandboxError
from grader.models import Note
from grader.sandbox.base import Sandbox
from grader.sandbox.local import LocalSandbox

SANDBOXES = ("auto", "docker", "local")


def select_sandbox(name: str) -> tuple[Sandbox, list[Note]]:
    """The sandbox for `name`, plus notes for the report (e.g. that `auto` fell back to local)."""
    if name == "local":
        return LocalSandbox(), [Note(code="not_isolated", message="graded with --sandbox local: the submission "
                                     "ran as a plain child process, not isolated")]
    if name not in SANDBOXES:
        raise SandboxError(f"unknown sandbox {name!r}: use one of {', '.join(SANDBOXES)}")
    from grader.sandbox import docker as docker_sandbox

    if name == "docker":
        return docker_sandbox.DockerSandbox(), []
    try:
        return docker_sandbox.DockerSandbox(), []
    except SandboxError as exc:
        return LocalSandbox(), [Note(code="not_isolated", message=f"Docker unavailable ({exc}); fell back to "
                                     "--sandbox local, which does NOT isolate the submission")]
