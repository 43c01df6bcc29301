"""What is graded: the submission's files and its entry module (interim version; the batch helper's
grader/submission.py replaces it with the full, bounded rule shared by check, batch and Gradescope)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from grader.errors import SubmissionError
from grader.models import StrictModel

MAX_SOURCE_BYTES = 1_000_000


class SubmissionFiles(StrictModel):
    """The files of one submission, read once."""

    display: str = Field(description="What the user gave, for reports.")
    entry: str = Field(description="Relative posix path of the module that defines the class.")
    files: dict[str, bytes] = Field(description="Relative posix path -> content, entry included.")
    notes: list[str] = Field(default_factory=list, description="What collection did.")


def collect(path: Path, *, entry: str | None = None, class_name: str = "SimpleNN") -> SubmissionFiles:
    """A single .py file (interim)."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file")
    if not path.is_file():
        raise SubmissionError(f"{path}: not a file (give the .py file that defines the class)")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path}: {size} bytes is too large for a source file (limit {MAX_SOURCE_BYTES})")
    name = path.name if path.suffix == ".py" else "submission.py"
    return SubmissionFiles(display=str(path), entry=name, files={name: path.read_bytes()})
