"""What every check receives (Evidence) and returns (Verdict).

Checks are pure host-side functions: they read the raw outputs of sandbox stages as untrusted data and
compare them with what the host computed itself. They never run student code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.checks.hints import hint
from grader.models import Status
from grader.rubric import Rubric
from grader.sandbox.base import StageOutcome, StageStatus
from grader.sandbox.results import ProbeMeta, UntrustedDataError, read_array, read_meta, read_progress

Detail = float | int | str | bool | None


@dataclass
class Verdict:
    """A check's outcome before points are attached."""

    status: Status
    message: str = ""
    diagnosis: str | None = None
    hint: str = ""
    details: dict[str, Detail] = field(default_factory=dict)


def passed(message: str, **details: Detail) -> Verdict:
    return Verdict(Status.PASS, message, details=details)


def failed(diagnosis: str, message: str, *, status: Status = Status.FAIL,
           details: Mapping[str, Detail] | None = None, **more: Detail) -> Verdict:
    """A failure with its diagnosis code and the matching hint."""
    return Verdict(status, message, diagnosis=diagnosis, hint=hint(diagnosis), details={**(details or {}), **more})


@dataclass
class ProbeInputs:
    """Everything the host chose and keeps: probe parameters, batches, and the hidden test labels."""

    params: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # probe -> name -> array
    batches: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. "forward_X", "gradients_y"
    loss_idx: np.ndarray | None = None
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None  # never written into a stage folder


@dataclass
class Evidence:
    """The sandbox stages' outcomes plus the host's inputs: all a check may look at."""

    rubric: Rubric
    source: str
    inputs: ProbeInputs
    stages: dict[str, StageOutcome] = field(default_factory=dict)
    quick: bool = False
    filename: str = "submission.py"

    def probe(self, stage: str, probe: str) -> ProbeMeta | Verdict:
        """The probe's metadata, or a Verdict explaining why there is none (timeout, crash, ...)."""
        outcome = self.stages.get(stage)
        if outcome is None:
            return Verdict(Status.SKIPPED, f"the {stage} stage did not run")
        if outcome.status is StageStatus.OUTPUT_LIMIT:
            # The stage broke a limit: whatever it wrote, none of its results count (like a judge's OLE).
            return failed("sandbox_error", outcome.message, status=Status.ERROR, sandbox=outcome.status.value)
        try:
            return read_meta(outcome.out_dir, probe)
        except UntrustedDataError as exc:
            return self._missing(outcome, probe, str(exc))

    def array(self, stage: str, meta: ProbeMeta, name: str) -> np.ndarray:
        """An array a probe saved (raises UntrustedDataError when missing or malformed)."""
        return read_array(self.stages[stage].out_dir, meta, name)

    def _missing(self, outcome: StageOutcome, probe: str, problem: str) -> Verdict:
        started = read_progress(outcome.out_dir)
        running = started[-1] if started else None
        if outcome.status is StageStatus.OK:
            return failed("sandbox_error", f"no result for {probe}: {problem}", status=Status.ERROR)
        if running == probe or (running is None and probe in ("load", "build")):
            if outcome.status is StageStatus.TIMEOUT:
                return failed("timeout", outcome.message, status=Status.TIMEOUT)
            if outcome.status is StageStatus.EXITED:
                return failed("exited_early", outcome.message, status=Status.ERROR)
            return failed("sandbox_error", outcome.message, status=Status.ERROR, sandbox=outcome.status.value)
        return Verdict(Status.SKIPPED, f"not run: the sandbox stopped earlier ({outcome.message})")


def out_dir(evidence: Evidence, stage: str) -> Path:
    return evidence.stages[stage].out_dir
