"""grade_submission: grade one SimpleNN file against a rubric and return a Report.

Flow: static checks on the source (host) -> `load` stage -> `probe` stage -> `train` stage, each a fresh,
time-limited sandbox run started only when a check that needs it can still pass. Every verdict is
computed here, on the host, from the stages' raw outputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks import CHECKS, STAGE_OF, Evidence, Verdict
from grader.checks.loading import bias_is_1d
from grader.checks.static import syntax_error
from grader.data import mnist
from grader.errors import SubmissionError
from grader.models import CheckResult, Environment, Note, Report, StageTiming, Status
from grader.probes import choose, write_stage_inputs
from grader.rubric import LoadedRubric, Rubric, load_rubric
from grader.sandbox.base import Sandbox, SandboxLimits, StageOutcome, StageRequest
from grader.sandbox.results import read_log, read_meta
from grader.sandbox.select import select_sandbox

MAX_SOURCE_BYTES = 1_000_000


def read_source(path: Path) -> str:
    """The submission's text; SubmissionError when it cannot be graded at all."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file")
    if not path.is_file():
        raise SubmissionError(f"{path}: not a file (give the .py file that defines the class)")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path}: {size} bytes is too large for a source file (limit {MAX_SOURCE_BYTES})")
    return path.read_bytes().decode("utf-8", errors="replace")


def stage_limits(rubric: Rubric, stage: str, overrides: dict[str, Any]) -> SandboxLimits:
    limits = rubric.limits.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    timeout = {"load": limits.load_timeout_s, "probe": limits.probe_timeout_s, "train": limits.train_timeout_s}
    return SandboxLimits(timeout_s=timeout[stage], memory_mb=limits.memory_mb, cpus=limits.cpus, pids=limits.pids,
                         file_mb=limits.file_mb, output_kb=limits.output_kb)


class _Grading:
    """One grading run: the work folder, the sandbox and the stages run so far."""

    def __init__(self, source: str, loaded: LoadedRubric, sandbox: Sandbox, seed: int, quick: bool,
                 overrides: dict[str, Any], data_dir: Path | None, filename: str,
                 cancel: threading.Event | None = None) -> None:
        self.source, self.rubric, self.sandbox, self.seed, self.quick = source, loaded.rubric, sandbox, seed, quick
        self.overrides = overrides
        self.prepared = mnist.prepare(data_dir)
        arrays = mnist.load_arrays(self.prepared)
        self.train_samples = self.rubric.quick_samples if quick else len(arrays["train_labels"])
        self.inputs = choose(self.rubric, arrays, seed, train_samples=self.train_samples)
        self.workdir = Path(tempfile.mkdtemp(prefix="nngrader-"))
        self.evidence = Evidence(rubric=self.rubric, source=source, inputs=self.inputs, quick=quick,
                                 filename=filename)
        self.timings: list[StageTiming] = []
        self.cancel = cancel  # set by the caller (e.g. a batch on Ctrl-C): stops the running stage
        self.stop_speculation = threading.Event()
        self.pending: dict[str, Future[StageOutcome]] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nngrader-stage")

    def speculate(self, stage: str) -> None:
        """Start `stage` now, in the background, before knowing whether its checks will run.

        The graded training run is by far the longest stage; starting it beside load and probe hides
        their cost. If its checks end up skipped (e.g. forward failed), close() kills it.
        """
        self.pending[stage] = self.pool.submit(self.run_stage, stage, self.stop_speculation)

    def ensure(self, stage: str) -> None:
        """Make sure `stage` has run (waiting for a speculative run, or running it now)."""
        if stage in self.evidence.stages:
            return
        future = self.pending.pop(stage, None)
        if future is not None:
            future.result()
        else:
            self.run_stage(stage)

    def close(self) -> None:
        """Kill whatever still runs (results no longer needed) and remove the work folder."""
        self.stop_speculation.set()
        for future in self.pending.values():
            with contextlib.suppress(Exception):  # its results are not used
                future.result()
        self.pool.shutdown()

    def request(self, stage: str) -> dict[str, Any]:
        return {"stage": stage, "class_name": self.rubric.architecture.class_name,
                "param_names": list(self.rubric.architecture.parameter_shapes()), "seed": self.seed,
                "momentum_steps": getattr(self.rubric.get("momentum"), "steps", 6) + 1,
                "epochs": self.rubric.quick_epochs if self.quick else self.rubric.epochs,
                "train_samples": self.rubric.quick_samples if self.quick else None}

    def run_stage(self, stage: str, cancel: threading.Event | None = None) -> StageOutcome:
        stage_dir = self.workdir / stage
        (stage_dir / "out").mkdir(parents=True)
        (stage_dir / "out").chmod(0o777)  # the sandbox user is not us
        write_stage_inputs(stage_dir / "in", self.request(stage), self.inputs, stage)
        (stage_dir / "submission.py").write_text(self.source)
        (stage_dir / "submission.py").chmod(0o644)
        data_dir = self.prepared.public_dir if stage == "train" else None
        limits = stage_limits(self.rubric, stage, self.overrides)
        start = time.perf_counter()
        request = StageRequest(stage=stage, stage_dir=stage_dir, data_dir=data_dir, limits=limits)
        outcome = self.sandbox.run_stage(request, cancel or self.cancel)
        self.timings.append(StageTiming(stage=stage, status=outcome.status.value,
                                        duration_s=time.perf_counter() - start, sandbox_s=outcome.sandbox_s))
        self.evidence.stages[stage] = outcome
        return outcome

    def logs(self, name: str) -> str:
        limit = self.rubric.limits.output_kb * 1024
        parts = [f"--- {stage} ---\n{text}" for stage, outcome in self.evidence.stages.items()
                 if (text := read_log(outcome.out_dir, name, limit // 3))]
        return "\n".join(parts)[:limit]


def _skip_reason(check_deps: list[str], results: dict[str, CheckResult]) -> str | None:
    for dep in check_deps:
        result = results[dep]
        if result.status is Status.SKIPPED:
            return result.message  # already names the check that failed first
        if result.status is not Status.PASS:
            because = f" ({result.message})" if result.message else ""
            return f"skipped: '{dep}' did not pass{because}"
    return None


def _evaluate(grading: _Grading, speculate: bool) -> dict[str, CheckResult]:
    results: dict[str, CheckResult] = {}
    if speculate and syntax_error(grading.source) is None and any(
            STAGE_OF.get(check.kind) == "train" for check in grading.rubric.checks):
        grading.speculate("train")
    for check in grading.rubric.checks:
        start = time.perf_counter()
        reason = _skip_reason(check.depends_on, results)
        if reason is not None:
            verdict = Verdict(Status.SKIPPED, reason)
        else:
            stage = STAGE_OF.get(check.kind)
            if stage is not None:
                grading.ensure(stage)
            verdict = CHECKS[check.kind](check, grading.evidence)
        results[check.id] = CheckResult(
            id=check.id, title=check.title, status=verdict.status,
            points=check.points if verdict.status is Status.PASS else 0.0, max_points=check.points,
            message=verdict.message, hint=verdict.hint if verdict.status is not Status.PASS else "",
            diagnosis=verdict.diagnosis, visibility=check.visibility,
            duration_s=time.perf_counter() - start, details=verdict.details)
    return results


def _notes(grading: _Grading) -> list[Note]:
    notes: list[Note] = []
    evidence = grading.evidence
    if "load" in evidence.stages:
        try:
            meta = read_meta(evidence.stages["load"].out_dir, "load")
        except Exception:  # noqa: BLE001 - a missing/forged file only means there is nothing to note
            meta = None
        expected = grading.rubric.architecture.class_name
        if meta is not None and meta.class_name and meta.class_name != expected:
            notes.append(Note(code="class_renamed", message=f"no class {expected}; graded {meta.class_name} "
                              f"instead (the only class with forward, backward and train)"))
    if bias_is_1d(evidence):
        notes.append(Note(code="bias_shape_1d", message="biases have shape (n,) instead of (1, n): accepted"))
    if "probe" in evidence.stages:
        try:
            form = read_meta(evidence.stages["probe"].out_dir, "gradients").form
        except Exception:  # noqa: BLE001
            form = None
        if form in ("tuple", "attributes"):
            notes.append(Note(code=f"gradients_as_{form}", message=f"gradients read from {form} "
                              "(a dict {'W1': ..., 'b1': ...} is the documented form): accepted"))
    if grading.quick:
        notes.append(Note(code="quick_preview", message="--quick preview: short training on a subset; "
                          "this is not a grade"))
    return notes


def _losses(grading: _Grading) -> list[float]:
    if "train" not in grading.evidence.stages:
        return []
    try:
        losses = read_meta(grading.evidence.stages["train"].out_dir, "train").losses
    except Exception:  # noqa: BLE001
        return []
    return [float(v) for v in losses[:1000]]


def grade_submission(path: str | Path, *, rubric: str | Path | LoadedRubric | None = None,
                     sandbox: str | Sandbox = "auto", data_dir: str | Path | None = None,
                     seed: int | None = None, quick: bool = False, student: str | None = None,
                     timeout_s: float | None = None, memory_mb: int | None = None,
                     cpus: float | None = None, keep_workdir: bool = False, speculate: bool = True,
                     cancel: threading.Event | None = None) -> Report:
    """Grade one submission file and return its Report.

    rubric: a LoadedRubric, a YAML path, or a built-in name (default 'mini_challenge').
    sandbox: 'auto' (Docker when the engine and image are there, else local with a note), 'docker',
    'local', or a Sandbox instance. data_dir: MNIST folder (default: NNGRADER_DATA_DIR or the cache).
    seed: probe and training seed (random when None; recorded in the report). quick: a short preview run.
    timeout_s / memory_mb / cpus override the rubric's limits (timeout_s: the training stage).
    speculate: start the training stage beside the load/probe stages (faster on 2+ cores; a batch
    that already fills every core passes False). cancel: set it to stop grading promptly (Ctrl-C).
    Raises GraderError subclasses for problems of the grader's user (missing data, no Docker, bad rubric);
    anything the submission does wrong is report data.
    """
    started = time.perf_counter()
    submission = Path(path)
    source = read_source(submission)
    loaded = rubric if isinstance(rubric, LoadedRubric) else load_rubric(rubric)
    box, sandbox_notes = select_sandbox(sandbox) if isinstance(sandbox, str) else (sandbox, [])
    seed = secrets.randbelow(2**31) if seed is None else seed
    overrides = {"train_timeout_s": timeout_s, "memory_mb": memory_mb, "cpus": cpus}
    grading = _Grading(source, loaded, box, seed, quick, overrides, Path(data_dir) if data_dir else None,
                       submission.name, cancel)
    try:
        try:
            results = _evaluate(grading, speculate)
        finally:
            grading.close()
        checks = [results[check.id] for check in loaded.rubric.checks]
        score = float(sum(result.points for result in checks))
        required_ok = all(results[c.id].status is Status.PASS for c in loaded.rubric.checks if c.required)
        return Report(
            submission=str(path), student=student, score=score, max_score=loaded.rubric.max_score,
            passed=score >= loaded.rubric.pass_mark and required_ok,
            pass_mark=loaded.rubric.pass_mark, checks=checks,
            notes=sandbox_notes + _notes(grading), losses=_losses(grading),
            stdout=grading.logs("stdout.log"), stderr=grading.logs("stderr.log"),
            environment=Environment(
                grader_version=_version(), python_version=platform.python_version(),
                numpy_version=np.__version__, sandbox=box.name, sandbox_image=box.describe(), seed=seed,
                rubric_id=loaded.rubric.id, rubric_sha256=loaded.sha256,
                submission_sha256=hashlib.sha256(source.encode()).hexdigest(), quick=quick,
                stages=grading.timings, total_s=time.perf_counter() - started))
    finally:
        if not keep_workdir:
            shutil.rmtree(grading.workdir, ignore_errors=True)


def _version() -> str:
    from grader import __version__

    return __version__
