"""What a batch stores per student and returns: StudentRecord (reports/<student>.json), BatchResult.

A StudentRecord wraps the Report with the cache key it was graded under, so `--resume` can tell a
finished, still-valid grade from one made with another rubric, grader version or submission.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from grader.batch.discover import Submission
from grader.fileio import atomic_write
from grader.models import Report, StrictModel


class CacheKey(StrictModel):
    """Everything a grade depends on; a stored record is reused only when all of it is equal."""

    submission_sha256: str = Field(description="SHA-256 of the graded files and entry (or of the discovery error).")
    rubric_sha256: str = Field(description="SHA-256 of the rubric file.")
    grader_version: str = Field(description="nngrader version.")
    sandbox: str = Field(description="Sandbox the batch asked for (docker or local).")
    quick: bool = Field(description="A --quick preview is not a grade.")
    seed: int | None = Field(description="Seed given on the command line (None: derived per student).")


class StudentRecord(StrictModel):
    """One student's outcome in a batch: a Report, or the reason there is none."""

    student: str = Field(description="Student id.")
    status: Literal["graded", "invalid_submission", "grader_error"] = Field(
        description="graded: `report` is set. invalid_submission: nothing gradable was found (a FIFO, an ambiguous "
                    "folder, a zip bomb...); grader_error: grading failed on the grader's side. Both set `error`.")
    key: CacheKey = Field(description="What the grade depends on (for --resume).")
    submission: Submission = Field(description="Where the submission was found and what discovery did.")
    report: Report | None = Field(default=None, description="The report, when graded.")
    error: str | None = Field(default=None, description="Why it could not be graded.")
    retry: bool = Field(default=False, description="A grader_error worth retrying on --resume (not an "
                                                   "invalid_submission, which only a new submission changes).")
    duration_s: float = Field(default=0.0, ge=0, description="Wall time spent on this student in the batch.")


class BatchResult(StrictModel):
    """What `grade_batch` did and where it wrote the gradebook."""

    out_dir: Path = Field(description="Output folder.")
    rubric_id: str = Field(description="Rubric id.")
    records: list[StudentRecord] = Field(description="Finished students, sorted by id.")
    discovered: int = Field(description="Submissions found.")
    graded_now: int = Field(description="Students graded in this run.")
    reused: int = Field(description="Students whose stored record was reused (--resume).")
    interrupted: bool = Field(default=False, description="Stopped by Ctrl-C: the gradebook holds what is done.")
    grades_csv: Path = Field(description="grades.csv path.")
    canvas_csv: Path | None = Field(default=None, description="canvas.csv path, when requested.")
    summary_html: Path = Field(description="summary.html path.")
    duration_s: float = Field(default=0.0, ge=0, description="Wall time of the batch.")

    unmatched_submissions: list[str] = Field(default_factory=list,
                                             description="With a roster: students whose submission no roster row "
                                                         "names.")
    unmatched_roster: list[str] = Field(default_factory=list,
                                        description="With a roster: roster rows (name and key) without a submission.")

    @property
    def errors(self) -> int:
        """Students recorded as grader_error."""
        return sum(record.status == "grader_error" for record in self.records)

    @property
    def invalid(self) -> int:
        """Students recorded as invalid_submission."""
        return sum(record.status == "invalid_submission" for record in self.records)

    @property
    def passed(self) -> int:
        """Students whose report passed the rubric."""
        return sum(record.report is not None and record.report.passed for record in self.records)


def record_path(out_dir: Path, student: str) -> Path:
    """Where a student's record lives."""
    return out_dir / "reports" / f"{student}.json"


def _scrub(value: Any) -> Any:
    """A JSON-ready value with every string made valid UTF-8 (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def write_record(out_dir: Path, record: StudentRecord) -> Path:
    """Store a record atomically; return its path.

    Text a student controls can hold lone surrogates (a JSON escape like "\\ud800" in a stage's output),
    which JSON encoders refuse: such a record is stored with those characters replaced.
    """
    path = record_path(out_dir, record.student)
    try:
        text = record.model_dump_json(indent=2)
    except ValueError:  # PydanticSerializationError: surrogates not allowed
        text = json.dumps(_scrub(record.model_dump(mode="json")), indent=2, ensure_ascii=False)
    atomic_write(path, text)
    return path


def read_record(out_dir: Path, student: str) -> StudentRecord | None:
    """The stored record of `student`, or None when missing or unreadable (it is then graded again)."""
    path = record_path(out_dir, student)
    try:
        return StudentRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
