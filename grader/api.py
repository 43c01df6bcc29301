"""grade_submission: grade one submission (a file or a folder) against a rubric and return a Report.

Flow: collect the submission's files -> draw the probes and the hidden task from the seed -> `load` stage
-> `probe` stage -> `train` stage, each a fresh, time-limited sandbox run started only when a check that
needs it can still pass, watched for stalls and hopeless slowness -> every check judged here, on the
host, from the stages' raw outputs. Nothing the submission does raises: it is report data.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import platform
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.base import (
    CheckConfig,
    Evidence,
    HostData,
    StageRun,
    Verdict,
    failed,
    invalid_output,
    skipped,
)
from grader.checks.hints import render
from grader.checks.momentum import MomentumCheck
from grader.checks.registry import KINDS, hint_template
from grader.checks.training import SNAPSHOTS, LossDecreaseCheck
from grader.data import mnist
from grader.models import CheckResult, Environment, Note, ProgressEvent, Report, StageTiming, Status
from grader.probes import write_inputs
from grader.results import StageResults, UntrustedDataError
from grader.rubric import LoadedRubric, load_rubric
from grader.sandbox.base import Sandbox, SandboxLimits, StageOutcome, StageRequest, StageStatus, prepare_stage_dir
from grader.sandbox.cleanup import remove_tree
from grader.sandbox.select import select_sandbox
from grader.submission import SourceError, SubmissionFiles, collect, parse_bounded
from grader.task import build as build_task
from grader.task import secret_key, write_stage_data
from grader.version import __version__
from grader.watch import StageWatch

log = logging.getLogger(__name__)

SKETCH_PER_PARAM = 16  # parameter entries recorded at every backward() call
ProgressCallback = Callable[[ProgressEvent], None]


def stage_limits(loaded: LoadedRubric, stage: str, overrides: dict[str, Any]) -> SandboxLimits:
    limits = loaded.rubric.limits.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    timeout = {"load": limits.load_timeout_s, "probe": limits.probe_timeout_s, "train": limits.train_timeout_s}
    return SandboxLimits(timeout_s=timeout[stage], memory_mb=limits.memory_mb, cpus=limits.cpus, pids=limits.pids,
                         file_mb=limits.file_mb, output_kb=limits.output_kb)


def host_data(loaded: LoadedRubric, arrays: dict[str, np.ndarray], seed: int, quick: bool,
              task_key: bytes) -> HostData:
    """Everything the host draws from the seed: probe inputs, the recorded coordinates, the hidden task
    (hidden with `task_key`, the installation's secret: see grader/task.py)."""
    rubric = loaded.rubric
    rng = np.random.default_rng(seed)
    train_rows = min(rubric.quick_samples, len(arrays["train_labels"])) if quick else len(arrays["train_labels"])
    host = HostData(train_images=arrays["train_images"], train_labels=arrays["train_labels"], train_rows=train_rows)
    for check in rubric.checks:
        kind = KINDS[check.kind]
        if kind.inputs is not None and check.kind not in host.inputs:
            host.inputs[check.kind] = kind.inputs(check, rubric, rng, host)
    shapes = rubric.architecture.parameter_shapes()
    host.sketch = {name: np.sort(rng.choice(int(np.prod(shape)), size=min(SKETCH_PER_PARAM, int(np.prod(shape))),
                                            replace=False)) for name, shape in shapes.items()}
    epochs = rubric.quick_epochs if quick else rubric.epochs
    host.snapshot_at = sorted(int(v) for v in rng.integers(train_rows // 10, max(train_rows // 10 + 1,
                                                           int(train_rows * epochs * 0.9)), size=SNAPSHOTS))
    loss = rubric.get(LossDecreaseCheck)
    subset = min(loss.subset if loss else 2000, train_rows)
    loss_idx = np.sort(rng.choice(train_rows, size=subset, replace=False))
    host.task = build_task(arrays, seed, task_key, loss_idx)
    return host


class _Grading:
    """One grading run: the work folder, the sandbox, the stages run so far and the evidence they left."""

    def __init__(self, submission: SubmissionFiles, loaded: LoadedRubric, sandbox: Sandbox, seed: int, quick: bool,
                 overrides: dict[str, Any], data_dir: Path | None, cancel: threading.Event | None,
                 on_progress: ProgressCallback | None, task_key: bytes | None = None) -> None:
        self.submission, self.loaded, self.rubric = submission, loaded, loaded.rubric
        self.sandbox, self.seed, self.quick, self.overrides = sandbox, seed, quick, overrides
        self.prepared = mnist.prepare(data_dir)
        self.arrays = mnist.load_arrays(self.prepared)
        key = task_key if task_key is not None else secret_key(mnist.default_cache_dir())
        self.host = host_data(loaded, self.arrays, seed, quick, key)
        sources = {path: content.decode("utf-8", "replace") for path, content in submission.files.items()
                   if path.endswith(".py")}
        self.evidence = Evidence(rubric=self.rubric, sources=sources, entry=submission.entry, host=self.host,
                                 quick=quick)
        self.workdir = Path(tempfile.mkdtemp(prefix="nngrader-"))
        self.timings: list[StageTiming] = []
        self.cancel = cancel  # set by the caller (e.g. a batch on Ctrl-C): stops the running stage
        self.on_progress = on_progress
        self.stop_speculation = threading.Event()
        self.pending: dict[str, Future[StageOutcome]] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nngrader-stage")

    def speculate(self, stage: str) -> None:
        """Start `stage` now, in the background, before knowing whether its checks will run.

        The graded training run is by far the longest stage; starting it beside load and probe hides
        their cost. If its checks end up skipped (e.g. the class does not load), close() kills it.
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
        """Kill whatever still runs (results no longer needed)."""
        self.stop_speculation.set()
        for future in self.pending.values():
            with contextlib.suppress(Exception):  # its results are not used
                future.result()
        self.pool.shutdown()

    def request(self, stage: str) -> dict[str, Any]:
        """request.json: what the harness needs to run this stage (no answers, no labels)."""
        probes = [kind for kind in dict.fromkeys(check.kind for check in self.rubric.checks)
                  if KINDS[kind].stage == "probe"]
        momentum = self.rubric.get(MomentumCheck)
        return {"stage": stage, "entry": self.submission.entry, "class_name": self.rubric.architecture.class_name,
                "param_names": list(self.rubric.architecture.parameter_shapes()), "seed": self.seed,
                "probes": probes, "momentum_steps": momentum.steps + 1 if momentum else 0,
                "epochs": self.rubric.quick_epochs if self.quick else self.rubric.epochs,
                "sketch": {name: idx.tolist() for name, idx in self.host.sketch.items()},
                "snapshot_at": self.host.snapshot_at}

    def run_stage(self, stage: str, cancel: threading.Event | None = None) -> StageOutcome:
        stage_dir = self.workdir / stage
        prepare_stage_dir(stage_dir, self.submission.files)
        inputs = {probe: arrays for probe, arrays in self.host.inputs.items() if KINDS[probe].stage == stage}
        write_inputs(stage_dir / "in", self.request(stage), inputs)
        data_dir = None
        if stage == "train":
            assert self.host.task is not None
            data_dir = stage_dir / "data"
            write_stage_data(data_dir, self.arrays, self.host.task, self.host.train_rows)
        limits = stage_limits(self.loaded, stage, self.overrides)
        request = StageRequest(stage=stage, stage_dir=stage_dir, data_dir=data_dir, limits=limits)
        runs = {"momentum": (len(self.host.inputs["momentum"]["X"]), 1)} if "momentum" in self.host.inputs else {}
        if stage == "train":
            runs = {"train": (self.host.train_rows, self.request(stage)["epochs"])}
        watch = StageWatch(stage, stage_dir / "out", limits.timeout_s, self.rubric.limits.stall_s, runs=runs,
                           on_progress=self.on_progress)
        start = time.perf_counter()
        outcome = watch.run(self.sandbox, request, [cancel, self.cancel])
        self.timings.append(StageTiming(stage=stage, status=outcome.status.value,
                                        duration_s=time.perf_counter() - start, sandbox_s=outcome.sandbox_s))
        self.evidence.stages[stage] = StageRun(outcome=outcome, results=StageResults.read(outcome.out_dir))
        return outcome

    def logs(self, name: str) -> str:
        """What the stages printed on `name` (stdout or stderr), within output_kb in all: each stage's share
        keeps its head and tail."""
        texts = {stage: text for stage, run in self.evidence.stages.items() if (text := getattr(run.outcome, name))}
        share = self.rubric.limits.output_kb * 1024 // max(1, len(texts)) - 20
        return "\n".join(f"--- {stage} ---\n{_head_and_tail(text, share)}" for stage, text in texts.items())


def _head_and_tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit} characters dropped ...]\n"
    keep = max(0, limit - len(marker)) // 2
    return text[:keep] + marker + text[len(text) - keep:]


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    """Details as JSON keeps them: a NaN or infinite figure is written as text ('nan', 'inf')."""
    return {k: str(v) if isinstance(v, float) and not math.isfinite(v) else v for k, v in details.items()}


def _skip_reason(check: CheckConfig, results: dict[str, CheckResult], titles: dict[str, str]) -> str | None:
    for dep in check.depends_on:
        result = results[dep]
        if result.status is not Status.PASS:
            if result.status is Status.SKIPPED:
                return result.message  # already names the check that failed first
            return f"skipped: cannot be judged without '{titles[dep]}', which did not pass"
    return None


def _judge(check: CheckConfig, grading: _Grading) -> Verdict:
    """Run one check's host function; nothing it raises escapes (an error of the grader is that check's error)."""
    kind = KINDS[check.kind]
    evidence = grading.evidence
    if kind.stage == "train" and "train_hangs" in evidence.findings:
        return skipped(f"skipped: train() did not finish a one-epoch run in the momentum probe (see "
                       f"'{evidence.findings['train_hangs']}'), so the graded run was not started")
    if kind.stage is not None:
        grading.ensure(kind.stage)
    try:
        return kind.run(check, evidence)
    except UntrustedDataError as exc:
        return invalid_output(str(exc))
    except Exception as exc:  # noqa: BLE001 - a grader bug must cost one check, not the report
        log.exception("check %s failed inside the grader", check.id)
        return failed("grader_error", f"the grader failed while judging this check ({type(exc).__name__}: "
                      f"{str(exc)[:300]})", status=Status.ERROR)


def _evaluate(grading: _Grading, speculate: bool) -> dict[str, CheckResult]:
    results: dict[str, CheckResult] = {}
    rubric = grading.rubric
    titles = {check.id: check.title for check in rubric.checks}
    if speculate and _parses(grading.submission) and any(KINDS[c.kind].stage == "train" for c in rubric.checks):
        grading.speculate("train")
    for check in rubric.checks:
        start = time.perf_counter()
        grading.evidence.current = check.title
        reason = _skip_reason(check, results, titles)
        verdict = skipped(reason) if reason is not None else _judge(check, grading)
        hint = ""
        if verdict.status is not Status.PASS and verdict.diagnosis:
            hint = render(hint_template(check.kind, verdict.diagnosis), rubric)
        results[check.id] = CheckResult(
            id=check.id, title=check.title, status=verdict.status,
            points=check.points if verdict.status is Status.PASS else 0.0, max_points=check.points,
            message=verdict.message, hint=hint, diagnosis=verdict.diagnosis, visibility=check.visibility,
            duration_s=time.perf_counter() - start, details=_plain(verdict.details))
    return results


def _parses(submission: SubmissionFiles) -> bool:
    try:
        parse_bounded(submission.files[submission.entry], submission.entry)
    except SourceError:
        return False
    return True


def _notes(grading: _Grading, run_notes: list[Note]) -> list[Note]:
    notes = list(run_notes)
    evidence = grading.evidence
    notes += [Note(code="submission", message=message) for message in grading.submission.notes]
    meta = evidence.stages.get("load")
    class_name = None
    if meta is not None:
        record = meta.results.records.get("load")
        class_name = record.meta.get("class_name") if record is not None else None
    expected = grading.rubric.architecture.class_name
    if isinstance(class_name, str) and class_name != expected:
        notes.append(Note(code="class_renamed", message=f"no class {expected}; graded {class_name[:100]} instead "
                          "(the only class with the methods the grader needs)"))
    notes += [Note(code=code, message=message) for code, message in evidence.notes]
    probe = evidence.stages.get("probe")
    form = probe.results.records["gradients"].meta.get("form") if probe and "gradients" in probe.results.records \
        else None
    if form in ("tuple", "attributes"):
        notes.append(Note(code=f"gradients_as_{form}", message=f"gradients read from {form} "
                          "(a dict {'W1': ..., 'b1': ...} is the documented form): accepted"))
    if grading.quick:
        notes.append(Note(code="quick_preview", message="--quick preview: short training on a subset; "
                          "this is not a grade"))
    return notes


def _losses(grading: _Grading) -> list[float]:
    run = grading.evidence.stages.get("train")
    record = run.results.records.get("train") if run is not None else None
    losses = record.meta.get("losses") if record is not None else None
    if not isinstance(losses, list):
        return []
    return [float(v) for v in losses[:1000] if isinstance(v, int | float)]


def grade_submission(path: str | Path, *, entry: str | None = None, rubric: str | Path | LoadedRubric | None = None,
                     sandbox: str | Sandbox = "auto", data_dir: str | Path | None = None,
                     seed: int | None = None, quick: bool = False, student: str | None = None,
                     timeout_s: float | None = None, memory_mb: int | None = None,
                     cpus: float | None = None, keep_workdir: bool = False, speculate: bool = True,
                     cancel: threading.Event | None = None, on_progress: ProgressCallback | None = None,
                     task_key: bytes | None = None) -> Report:
    """Grade one submission and return its Report.

    path: the .py (or .ipynb) file that defines the class, or a folder holding it with its helper modules
    (entry: the module to grade, relative to the folder, when the folder has several candidates).
    rubric: a LoadedRubric, a YAML path, or a built-in name (default 'mini_challenge').
    sandbox: 'auto' (Docker when the engine and image are there, else local with a note), 'docker',
    'local', or a Sandbox instance. data_dir: MNIST folder (default: NNGRADER_DATA_DIR or the cache).
    seed: probe, task and training seed (random when None; recorded in the report). quick: a short preview.
    timeout_s / memory_mb / cpus override the rubric's limits (timeout_s: the training stage).
    speculate: start the training stage beside the load/probe stages (faster on 2+ cores; a batch
    that already fills every core passes False). cancel: set it to stop grading promptly (Ctrl-C).
    on_progress: called about twice a second with a ProgressEvent while a stage runs.
    task_key: the secret that hides the task (default: this installation's, kept in the cache); a cluster client
    sends its own with every task, so each worker grades exactly what this machine would.
    Raises GraderError subclasses for problems of the grader's user (missing data, no Docker, bad rubric,
    nothing gradable at `path`); anything the submission does is report data.
    """
    started = time.perf_counter()
    loaded = rubric if isinstance(rubric, LoadedRubric) else load_rubric(rubric)
    submission = collect(Path(path), entry=entry, class_name=loaded.rubric.architecture.class_name)
    box, sandbox_notes = select_sandbox(sandbox) if isinstance(sandbox, str) else (sandbox, [])
    seed = secrets.randbelow(2**31) if seed is None else seed
    overrides = {"train_timeout_s": timeout_s, "memory_mb": memory_mb, "cpus": cpus}
    grading = _Grading(submission, loaded, box, seed, quick, overrides, Path(data_dir) if data_dir else None,
                       cancel, on_progress, task_key)
    try:
        try:
            results = _evaluate(grading, speculate)
        finally:
            grading.close()
        checks = [results[check.id] for check in loaded.rubric.checks]
        score = float(sum(result.points for result in checks))
        required_ok = all(results[c.id].status is Status.PASS for c in loaded.rubric.checks if c.required)
        digest = hashlib.sha256()
        for name in sorted(submission.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(submission.files[name]).digest())
        shown = submission.display
        if Path(path).is_dir():
            shown = f"{shown.rstrip('/')}/{submission.entry}"
        return Report(
            submission=shown, student=student, score=score, max_score=loaded.rubric.max_score,
            passed=score >= loaded.rubric.pass_mark and required_ok,
            pass_mark=loaded.rubric.pass_mark, checks=checks,
            notes=_notes(grading, sandbox_notes), losses=_losses(grading),
            stdout=grading.logs("stdout"), stderr=grading.logs("stderr"),
            environment=Environment(
                grader_version=__version__, python_version=platform.python_version(),
                numpy_version=np.__version__, sandbox=box.name, sandbox_image=box.describe(), seed=seed,
                rubric_id=loaded.rubric.id, rubric_sha256=loaded.sha256,
                submission_sha256=digest.hexdigest(), quick=quick,
                stages=grading.timings, total_s=time.perf_counter() - started))
    finally:
        if not keep_workdir:
            remove_tree(grading.workdir)




__all__ = ["grade_submission", "StageStatus"]
