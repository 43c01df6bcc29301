"""What a check kind declares (CheckKind), receives (Evidence) and returns (Verdict).

A check kind is declared once, in its own module, as a `CheckKind`: its rubric model, the sandbox stage
and the harness records it reads, the host function that judges them, and the diagnoses it can give with
their hints. grader/checks/registry.py collects them; the rubric schema, the harness's probes and the hint
table are all derived from (and tested against) that one registry.

Checks are pure host-side functions: they read the raw outputs of sandbox stages as untrusted data and
compare them with what the host computed itself. They never run student code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from pydantic import Field

from grader.models import Status, StrictModel
from grader.results import RecordMeta, Shape, StageResults, UntrustedDataError, last_probe
from grader.sandbox.base import StageOutcome, StageStatus

if TYPE_CHECKING:
    from grader.rubric import Rubric

Detail = float | int | str | bool | None
Stage = Literal["load", "probe", "train"]
M = TypeVar("M", bound=RecordMeta)


class CheckConfig(StrictModel):
    """The fields every rubric check has; each kind's model adds its own parameters and `kind`."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Unique id, used in reports and depends_on.")
    kind: str = Field(description="What the check verifies: one of the registered kinds (see `rubric schema`).")
    title: str = Field(description="Shown to students.")
    points: float = Field(ge=0, description="Points for passing.")
    depends_on: list[str] = Field(
        default_factory=list,
        description="Checks without which this one cannot be judged: when one of them did not pass, this one "
                    "is skipped (it earns nothing and says why). Not a way to punish the same bug twice.")
    visibility: Literal["visible", "hidden"] = Field(
        default="visible", description="'hidden' checks are shown to instructors only (Gradescope: after_published).")
    required: bool = Field(default=False, description="The submission cannot pass the rubric without this check.")


@dataclass
class Verdict:
    """A check's outcome before points are attached."""

    status: Status
    message: str = ""
    diagnosis: str | None = None
    details: dict[str, Detail] = field(default_factory=dict)


def passed(message: str, **details: Detail) -> Verdict:
    return Verdict(Status.PASS, message, details=details)


def failed(diagnosis: str, message: str, *, status: Status = Status.FAIL,
           details: Mapping[str, Detail] | None = None, **more: Detail) -> Verdict:
    """A failure with its diagnosis code (the hint is looked up from the code when the report is made)."""
    return Verdict(status, message, diagnosis=diagnosis, details={**(details or {}), **more})


def skipped(message: str) -> Verdict:
    return Verdict(Status.SKIPPED, message)


@dataclass(frozen=True)
class CheckKind:
    """Everything about one kind of check, declared in one place."""

    kind: str
    config: type[CheckConfig]
    run: Callable[[Any, Evidence], Verdict]
    diagnoses: Mapping[str, str]  # diagnosis code -> hint template (fields: grader.checks.hints.context)
    stage: Stage | None = None  # the sandbox stage whose records it reads (None: the source alone)
    records: tuple[str, ...] = ()  # harness records it reads from that stage
    inputs: Callable[[Any, Rubric, np.random.Generator, HostData], dict[str, np.ndarray]] | None = None


@dataclass
class Task:
    """The graded task as the host keeps it: hidden permutations and the data the sandbox never gets."""

    pixel_perm: np.ndarray  # new pixel j is original pixel pixel_perm[j]
    class_perm: np.ndarray  # original class c is shown to the sandbox as class_perm[c]
    loss_X: np.ndarray  # a fixed training subset, permuted, float32 in [0, 1]
    loss_y: np.ndarray  # its one-hot labels, permuted
    test_X: np.ndarray  # the test images, permuted, float32 in [0, 1]
    test_y: np.ndarray  # the test labels, permuted (never written anywhere the sandbox can read)


@dataclass
class HostData:
    """Everything the host chose and keeps for one grading."""

    train_images: np.ndarray  # MNIST (memory-mapped, unpermuted)
    train_labels: np.ndarray
    inputs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # probe -> name -> array (in/)
    task: Task | None = None
    train_rows: int = 0  # training samples the graded run gets
    sketch: dict[str, np.ndarray] = field(default_factory=dict)  # parameter -> flat indices recorded each step
    snapshot_at: list[int] = field(default_factory=list)  # sample counts after which full snapshots are taken


@dataclass
class StageRun:
    """A stage's outcome (how the process ended) and the index of what it wrote."""

    outcome: StageOutcome
    results: StageResults


@dataclass
class Evidence:
    """The sandbox stages' outcomes plus the host's own data: all a check may look at."""

    rubric: Rubric
    sources: dict[str, str]  # the submission's .py files: relative path -> text
    entry: str
    host: HostData
    stages: dict[str, StageRun] = field(default_factory=dict)
    quick: bool = False
    findings: dict[str, Any] = field(default_factory=dict)  # facts a check leaves for later ones
    notes: list[tuple[str, str]] = field(default_factory=list)  # (code, message) for the report's notes
    current: str = ""  # title of the check being judged (a stage failure is reported under the first one)
    pinned: dict[tuple[str, str], str] = field(default_factory=dict)  # (stage, record) -> check it was reported on

    def record(self, stage: str, name: str, model: type[M]) -> M | Verdict:
        """Record `name` of a stage, validated by `model`, or the Verdict saying why there is none."""
        run = self.stages.get(stage)
        if run is None:
            return skipped(f"skipped: the {stage} stage did not run")
        if name in run.results.records:
            try:
                return run.results.meta(name, model)
            except UntrustedDataError as exc:
                return invalid_output(str(exc))
        return self._missing(run, name)

    def array(self, stage: str, name: str, key: str, shapes: Iterable[Shape], *, integer: bool = False) -> np.ndarray:
        """An array of a record, refused (UntrustedDataError) unless its shape is one of `shapes`."""
        return self.stages[stage].results.array(name, key, shapes, integer=integer)

    def _missing(self, run: StageRun, name: str) -> Verdict:
        outcome = run.outcome
        running = last_probe(outcome.out_dir)
        if outcome.status is StageStatus.OK:
            problem = f" ({run.results.problem})" if run.results.problem else ""
            return invalid_output(f"the {outcome.stage} stage finished without a result for {name}{problem}")
        if running in (name, "build") or (running is None and name in ("load", "build")):
            key = (outcome.stage, running or name)
            if key in self.pinned:  # one failure, reported once: the other checks that needed it are skipped
                return skipped(f"skipped: {outcome.message} (reported under '{self.pinned[key]}')")
            self.pinned[key] = self.current
            if outcome.stage == "probe" and name == "momentum" and outcome.status in (StageStatus.TIMEOUT,
                                                                                     StageStatus.STOPPED):
                self.findings["train_hangs"] = self.current
            return stage_failure(outcome)
        return skipped(f"skipped: not run, the sandbox stopped earlier ({outcome.message})")


def invalid_output(message: str) -> Verdict:
    return failed("invalid_output", f"the stage's output was refused: {message}")


def stage_failure(outcome: StageOutcome) -> Verdict:
    """The verdict for the check whose probe was running when the stage ended abnormally."""
    if outcome.status is StageStatus.TIMEOUT:
        return failed("timeout", outcome.message, status=Status.TIMEOUT)
    if outcome.status is StageStatus.STOPPED and outcome.stop is not None:
        return failed(outcome.stop.code, outcome.stop.message, status=Status.TIMEOUT)
    if outcome.status is StageStatus.EXITED:
        return failed("exited_early", outcome.message, status=Status.ERROR)
    return failed("sandbox_error", outcome.message, status=Status.ERROR, sandbox=outcome.status.value)
