"""The report: what grading one submission produced.

Everything here crosses a boundary (written as JSON, read back by `batch --resume`, turned into
JUnit/Gradescope/GitHub Classroom payloads), so it is a Pydantic model with `extra="forbid"`.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Status(str, Enum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the sandbox could not run the check (crash, memory, output limit)
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # a check it depends on did not pass


class StrictModel(BaseModel):
    """Base for every model: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")  # NaN losses survive JSON


class CheckResult(StrictModel):
    """The verdict of one rubric check."""

    id: str = Field(description="Check id from the rubric, e.g. 'gradients'.")
    title: str = Field(description="Human title of the check.")
    status: Status = Field(description="pass, fail, error, timeout or skipped.")
    points: float = Field(ge=0, description="Points earned.")
    max_points: float = Field(ge=0, description="Points available.")
    message: str = Field(default="", description="What was observed, in one or two sentences.")
    hint: str = Field(default="", description="The likely bug and how to fix it (empty when passed).")
    diagnosis: str | None = Field(
        default=None, description="Machine-readable cause, e.g. 'sum_instead_of_mean' (None when passed)."
    )
    visibility: str = Field(default="visible", description="'visible' or 'hidden' (instructors only).")
    duration_s: float = Field(default=0.0, ge=0, description="Host+sandbox time spent on this check.")
    details: dict[str, float | int | str | bool | None] = Field(
        default_factory=dict, description="Measured figures (errors, ratios, accuracy, losses)."
    )


class Note(StrictModel):
    """A warning about leniency or the environment, shown above the table."""

    code: str = Field(description="Machine-readable code, e.g. 'class_renamed'.")
    message: str = Field(description="What the grader accepted or noticed.")


class StageTiming(StrictModel):
    """Wall time of one sandbox stage."""

    stage: str = Field(description="Stage name: load, probe or train.")
    status: str = Field(description="Sandbox outcome of the stage (ok, timeout, oom, ...).")
    duration_s: float = Field(ge=0, description="Wall time of the stage including sandbox start.")
    sandbox_s: float = Field(default=0.0, ge=0, description="Part spent starting/stopping the sandbox.")


class Environment(StrictModel):
    """Reproducibility receipt: what graded this submission, how."""

    grader_version: str = Field(description="nngrader version.")
    python_version: str = Field(description="Host Python version.")
    numpy_version: str = Field(description="Host NumPy version.")
    sandbox: str = Field(description="Sandbox used: docker or local.")
    sandbox_image: str | None = Field(default=None, description="Docker image, when Docker was used.")
    seed: int = Field(description="Seed for the grader's probes and the student's np.random.")
    rubric_id: str = Field(description="Rubric id.")
    rubric_sha256: str = Field(description="SHA-256 of the rubric file's content.")
    submission_sha256: str = Field(description="SHA-256 of the submission's source.")
    quick: bool = Field(default=False, description="True for a --quick preview (not a grade).")
    stages: list[StageTiming] = Field(default_factory=list, description="Per-stage timings.")
    total_s: float = Field(default=0.0, ge=0, description="Total wall time of grading.")


class ProgressEvent(StrictModel):
    """What grading is doing right now, for a live progress line (`grade_submission(on_progress=...)`)."""

    stage: str = Field(description="Stage running: load, probe or train ('' before the first stage).")
    elapsed_s: float = Field(ge=0, description="Seconds since the stage started.")
    limit_s: float = Field(ge=0, description="The stage's time limit in seconds.")
    epoch: float | None = Field(default=None, description="Epochs of training done so far (fractional), when known.")
    epochs: int | None = Field(default=None, description="Epochs the graded training runs.")
    message: str = Field(default="", description="A short description, e.g. 'training: epoch 3/10'.")


class Report(StrictModel):
    """Everything grading one submission produced. `grade_submission` returns this."""

    submission: str = Field(description="Path of the graded file as given.")
    student: str | None = Field(default=None, description="Student id (batch grading).")
    score: float = Field(ge=0, description="Points earned.")
    max_score: float = Field(ge=0, description="Points available.")
    passed: bool = Field(description="True when the score reaches the pass mark and required checks passed.")
    pass_mark: float = Field(ge=0, description="Points needed to pass.")
    checks: list[CheckResult] = Field(description="One result per rubric check, in rubric order.")
    notes: list[Note] = Field(default_factory=list, description="Leniency and environment warnings.")
    losses: list[float] = Field(default_factory=list, description="Per-epoch losses returned by train().")
    stdout: str = Field(default="", description="Student stdout (bounded), a log only.")
    stderr: str = Field(default="", description="Student stderr (bounded), a log only.")
    environment: Environment = Field(description="How the grading was done.")

    def check(self, check_id: str) -> CheckResult:
        """The result of check `check_id` (KeyError when the rubric has none)."""
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)
