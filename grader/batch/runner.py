"""grade_batch: grade every submission in a class folder, in parallel, resumable, interruptible.

Flow: validate rubric, data and sandbox once (a problem there stops the batch with a GraderError) ->
discover submissions -> reuse stored records whose cache key still matches (--resume) -> grade the
rest on a thread pool (each grading runs its stages in separate sandbox processes/containers, so
threads only wait) -> write each record as soon as it is done -> write the gradebook.

One student's failure never stops the batch: any exception becomes a `grader_error` record.
Ctrl-C stops new work, kills the running sandboxes, writes the gradebook of what is done and returns
a result with `interrupted=True` (the CLI exits 130).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.api import grade_submission
from grader.batch.discover import Submission, discover
from grader.batch.gradebook import canvas_rows, grades_rows, to_csv
from grader.batch.records import (
    BatchResult,
    CacheKey,
    StudentRecord,
    atomic_write_text,
    read_record,
    write_record,
)
from grader.batch.summary import render_summary
from grader.data import mnist
from grader.errors import GraderError, SandboxError
from grader.harness import HARNESS_PATH
from grader.models import Note, Report
from grader.rubric import LoadedRubric, load_rubric
from grader.sandbox.base import Sandbox, StageOutcome, StageRequest
from grader.sandbox.select import select_sandbox

STOP_TIMEOUT_S = 30.0  # how long Ctrl-C waits for running gradings to wind down


@dataclass(frozen=True)
class BatchEvent:
    """Progress of a batch, sent to the `progress` callback (always from the calling thread).

    kind: 'start' (nothing graded yet), 'done' (`record` just finished), 'interrupted', 'finish'.
    total counts the students to grade in this run; reused ones (--resume) are in `reused` only.
    """

    kind: Literal["start", "done", "interrupted", "finish"]
    total: int
    done: int = 0
    errors: int = 0
    not_passed: int = 0
    reused: int = 0
    record: StudentRecord | None = None


ProgressCallback = Callable[[BatchEvent], None]


class BatchCancelled(Exception):
    """Raised inside a worker when the batch was interrupted before its next sandbox stage."""


class _CancellableSandbox:
    """The batch's sandbox, refusing to start a new stage once the batch is cancelled."""

    def __init__(self, inner: Sandbox, cancel: threading.Event) -> None:
        self.inner, self.cancel, self.name = inner, cancel, inner.name

    def describe(self) -> str | None:
        return self.inner.describe()

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None) -> StageOutcome:
        if self.cancel.is_set():
            raise BatchCancelled
        return self.inner.run_stage(request, cancel or self.cancel)


@dataclass
class _Context:
    """What every student's grading shares."""

    rubric: LoadedRubric
    sandbox: _CancellableSandbox
    sandbox_notes: list[Note]
    data_dir: Path | None
    seed: int | None
    quick: bool
    cancel: threading.Event  # shared with `sandbox`: set by Ctrl-C
    speculate: bool = False  # start training early: only when one grading at a time leaves cores free

    def key(self, submission_sha256: str, sandbox_name: str) -> CacheKey:
        from grader import __version__

        return CacheKey(submission_sha256=submission_sha256, rubric_sha256=self.rubric.sha256,
                        grader_version=__version__, sandbox=sandbox_name, quick=self.quick, seed=self.seed)


def default_jobs(rubric: LoadedRubric) -> int:
    """Parallel gradings the machine can hold: usable cores // the rubric's CPU quota per sandbox."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, int(cores // rubric.rubric.limits.cpus))


def student_seed(submission_sha256: str, rubric_sha256: str) -> int:
    """A seed fixed by the submission and rubric: re-running a batch gives the same gradebook."""
    digest = hashlib.sha256(f"{submission_sha256}:{rubric_sha256}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def _fingerprint(submission: Submission) -> str:
    """SHA-256 of what is graded: the file's bytes, or the discovery error when there is no file."""
    if submission.path is None:
        return hashlib.sha256(f"error:{submission.error}".encode()).hexdigest()
    try:
        return hashlib.sha256(submission.path.read_bytes()).hexdigest()
    except OSError as exc:
        return hashlib.sha256(f"unreadable:{exc}".encode()).hexdigest()


def _error_record(submission: Submission, key: CacheKey, message: str, *, retry: bool,
                  duration_s: float = 0.0) -> StudentRecord:
    return StudentRecord(student=submission.student, status="grader_error", key=key, submission=submission,
                         error=message, retry=retry, duration_s=duration_s)


def _grade_with_retry(path: Path, ctx: _Context, seed: int, student: str) -> Report:
    """grade_submission, tried once more when the sandbox itself failed (a transient engine error).

    Student behaviour never raises SandboxError (it is report data), so a retry cannot hide it.
    """
    for attempt in (1, 2):
        try:
            return grade_submission(path, rubric=ctx.rubric, sandbox=ctx.sandbox, data_dir=ctx.data_dir, seed=seed,
                                    quick=ctx.quick, student=student, speculate=ctx.speculate, cancel=ctx.cancel)
        except SandboxError:
            if attempt == 2 or ctx.cancel.is_set():
                raise
    raise AssertionError("unreachable")


def _grade_one(submission: Submission, key: CacheKey, ctx: _Context) -> StudentRecord | None:
    """Grade one student in a worker thread; None when the batch was cancelled meanwhile."""
    if submission.path is None:
        return _error_record(submission, key, submission.error or "no file to grade", retry=False)
    started = time.perf_counter()
    seed = ctx.seed if ctx.seed is not None else student_seed(key.submission_sha256, key.rubric_sha256)
    try:
        report = _grade_with_retry(submission.path, ctx, seed, submission.student)
    except BatchCancelled:
        return None
    except Exception as exc:  # noqa: BLE001 - one student's crash of the grader must not stop the class
        if ctx.cancel.is_set():  # its sandbox was killed by Ctrl-C: not this student's outcome
            return None
        message = str(exc) if isinstance(exc, GraderError) else f"unexpected {type(exc).__name__}: {exc}"
        return _error_record(submission, key, message, retry=True, duration_s=time.perf_counter() - started)
    if ctx.cancel.is_set():  # a stage was killed under it: the report is not a real grade
        return None
    report = report.model_copy(update={"notes": ctx.sandbox_notes + report.notes})
    return StudentRecord(student=submission.student, status="graded", key=key, submission=submission,
                         report=report, duration_s=time.perf_counter() - started)


def _reusable(stored: StudentRecord, key: CacheKey) -> bool:
    """A stored record stands when it was graded under the same key and is not a retryable error."""
    return stored.key == key and not stored.retry


class _Tally:
    """Counts for progress events; updated only by the calling thread."""

    def __init__(self, total: int, reused: int, progress: ProgressCallback | None) -> None:
        self.total, self.reused, self.progress = total, reused, progress
        self.done = self.errors = self.not_passed = 0

    def emit(self, kind: Literal["start", "done", "interrupted", "finish"],
             record: StudentRecord | None = None) -> None:
        if record is not None:
            self.done += 1
            self.errors += record.status == "grader_error"
            self.not_passed += record.report is not None and not record.report.passed
        if self.progress is not None:
            self.progress(BatchEvent(kind=kind, total=self.total, done=self.done, errors=self.errors,
                                     not_passed=self.not_passed, reused=self.reused, record=record))


def _harness_children() -> Iterator[int]:
    """PIDs of this process's children running the harness (local sandbox stages)."""
    me, marker = os.getpid(), str(HARNESS_PATH).encode()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == me and marker in (entry / "cmdline").read_bytes():
                yield int(entry.name)
        except (OSError, IndexError, ValueError):  # the process ended while we looked
            continue


def _kill_running_stages(sandbox: Sandbox) -> None:
    """Stop every stage the batch has running: local process groups, or this process's containers."""
    for pid in _harness_children():
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # each stage is a session leader: its group is the whole stage
    if sandbox.name == "docker":
        _own_containers(sandbox, remove=False)


def _own_containers(sandbox: Sandbox, *, remove: bool) -> None:
    """Kill (remove=False) or force-remove the nngrader containers this process started.

    Killing lets each grading thread remove its own container as usual; removing is the final sweep.
    docker.sweep_leftovers spares containers whose owner is alive, and the interrupted batch is alive,
    so ours are found by the owner label. Imported lazily: the local sandbox needs no Docker.
    """
    try:
        from grader.sandbox import docker as docker_sandbox

        client = getattr(sandbox, "client", None) or docker_sandbox.connect()
        labels = [f"{docker_sandbox.LABEL}=1", f"{docker_sandbox.OWNER_LABEL}={docker_sandbox.owner_label()}"]
        for container in client.containers.list(all=True, filters={"label": labels}, ignore_removed=True):
            with contextlib.suppress(Exception):  # it exited or was removed meanwhile
                if remove:
                    container.remove(force=True)
                else:
                    container.kill()
        if remove:
            docker_sandbox.sweep_leftovers(client)
    except Exception:  # noqa: BLE001 - no module, no engine: nothing left that we could stop
        pass


@contextlib.contextmanager
def _ignore_interrupts() -> Iterator[None]:
    """A second Ctrl-C (or a SIGTERM) during cleanup must not leave sandboxes running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (a cancelled CI job, `kill`) like Ctrl-C while a batch runs, so it still cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wind_down(futures: list[Future[StudentRecord | None]], ctx: _Context) -> None:
    """After Ctrl-C: keep killing the running stages until every started grading has returned."""
    inner = ctx.sandbox.inner
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        running = [future for future in futures if not future.done()]
        if not running:
            break
        _kill_running_stages(inner)
        wait(running, timeout=0.5 if inner.name == "docker" else 0.1)
    if inner.name == "docker":
        _own_containers(inner, remove=True)  # whatever happened above, no container outlives the batch


def _run_pool(todo: list[tuple[Submission, CacheKey]], ctx: _Context, jobs: int,
              on_done: Callable[[StudentRecord], None]) -> bool:
    """Grade `todo` on `jobs` threads, calling on_done in this thread as each finishes; True if interrupted."""
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nngrader-batch")
    futures = [pool.submit(_grade_one, submission, key, ctx) for submission, key in todo]
    try:
        for future in as_completed(futures):
            record = future.result()
            if record is not None:
                on_done(record)
    except KeyboardInterrupt:
        with _ignore_interrupts():
            ctx.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            _wind_down(futures, ctx)
        return True
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return False


def write_gradebook(out_dir: Path, records: list[StudentRecord], rubric: LoadedRubric, *,
                    canvas_assignment: str | None, interrupted: bool = False,
                    discovered: int | None = None) -> tuple[Path, Path | None, Path]:
    """Write grades.csv, canvas.csv (when an assignment is given) and summary.html; return their paths."""
    grades = out_dir / "grades.csv"
    atomic_write_text(grades, to_csv(grades_rows(records, rubric.rubric)))
    canvas = None
    if canvas_assignment:
        canvas = out_dir / "canvas.csv"
        atomic_write_text(canvas, to_csv(canvas_rows(records, rubric.rubric, canvas_assignment)))
    summary = out_dir / "summary.html"
    atomic_write_text(summary, render_summary(records, rubric, interrupted=interrupted, discovered=discovered))
    return grades, canvas, summary


def _prepare(rubric: str | Path | LoadedRubric | None, sandbox: str | Sandbox, data_dir: Path | None,
             canvas_assignment: str | None) -> tuple[LoadedRubric, Sandbox, list[Note]]:
    """Everything that would fail for every student, checked once before any grading."""
    loaded = rubric if isinstance(rubric, LoadedRubric) else load_rubric(rubric)
    if canvas_assignment:
        canvas_rows([], loaded.rubric, canvas_assignment)  # a malformed title fails now, not after an hour
    mnist.prepare(data_dir)
    box, notes = select_sandbox(sandbox) if isinstance(sandbox, str) else (sandbox, [])
    return loaded, box, notes


def _split(submissions: list[Submission], ctx: _Context, out: Path, *, resume: bool,
           sandbox_name: str) -> tuple[list[StudentRecord], list[tuple[Submission, CacheKey]]]:
    """Stored records still valid (only with resume), and the submissions to grade with their keys."""
    reused: list[StudentRecord] = []
    todo: list[tuple[Submission, CacheKey]] = []
    for submission in submissions:
        key = ctx.key(_fingerprint(submission), sandbox_name)
        stored = read_record(out, submission.student) if resume else None
        if stored is not None and _reusable(stored, key):
            reused.append(stored)
        else:
            todo.append((submission, key))
    return reused, todo


def grade_batch(class_dir: str | Path, *, out_dir: str | Path, rubric: str | Path | LoadedRubric | None = None,
                sandbox: str | Sandbox = "auto", data_dir: str | Path | None = None, jobs: int | None = None,
                resume: bool = False, seed: int | None = None, quick: bool = False,
                progress: ProgressCallback | None = None, canvas_assignment: str | None = None) -> BatchResult:
    """Grade every submission under `class_dir`; write reports and the gradebook into `out_dir`.

    out_dir gets reports/<student>.json (a StudentRecord, written as soon as the student is done),
    grades.csv, summary.html, canvas.csv (when `canvas_assignment="Title (id)"` is given) and work/
    (extracted archives and notebooks). jobs: parallel gradings (default: cores // rubric CPU quota).
    resume: reuse stored records graded under the same cache key. seed: one seed for every student
    (default: derived from each submission and the rubric, so re-runs give the same grades).
    progress: called from this thread with a BatchEvent at start, after each student, and at the end.
    Raises GraderError only for problems that stop the whole batch (rubric, data, sandbox, class folder).
    """
    started = time.perf_counter()
    out = Path(out_dir)
    data = Path(data_dir) if data_dir else None
    loaded, box, sandbox_notes = _prepare(rubric, sandbox, data, canvas_assignment)
    submissions = discover(class_dir, work_dir=out / "work", class_name=loaded.rubric.architecture.class_name,
                           exclude=[out])
    cancel = threading.Event()
    ctx = _Context(rubric=loaded, sandbox=_CancellableSandbox(box, cancel), sandbox_notes=sandbox_notes,
                   data_dir=data, seed=seed, quick=quick, cancel=cancel)
    records, todo = _split(submissions, ctx, out, resume=resume, sandbox_name=box.name)
    tally = _Tally(total=len(todo), reused=len(records), progress=progress)
    tally.emit("start")

    def on_done(record: StudentRecord) -> None:
        write_record(out, record)
        records.append(record)
        tally.emit("done", record)

    jobs = max(1, jobs if jobs is not None else default_jobs(loaded))
    ctx.speculate = jobs == 1
    interrupted = _run_pool(todo, ctx, jobs, on_done) if todo else False
    records.sort(key=lambda record: record.student)
    grades, canvas, summary = write_gradebook(out, records, loaded, canvas_assignment=canvas_assignment,
                                              interrupted=interrupted, discovered=len(submissions))
    tally.emit("interrupted" if interrupted else "finish")
    return BatchResult(out_dir=out, rubric_id=loaded.rubric.id, records=records, discovered=len(submissions),
                       graded_now=tally.done, reused=tally.reused, interrupted=interrupted, grades_csv=grades,
                       canvas_csv=canvas, summary_html=summary, duration_s=time.perf_counter() - started)
