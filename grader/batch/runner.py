"""grade_batch: grade every submission in a class folder, in parallel, resumable, interruptible.

Flow: validate rubric, data and sandbox once (a problem there stops the batch with a GraderError) ->
discover submissions -> reuse stored records whose cache key still matches (--resume) -> grade the
rest with an Executor -> write each record as soon as it is done -> write the gradebook.

Two executors grade with the same function: the local thread pool here (each grading runs its stages in
separate sandbox processes/containers, so threads only wait), and grader.cluster's Dask executor, which
ships each student's files to a worker that grades them there. The batch never learns which sandbox runs.

One student never stops the batch: an entry with nothing gradable (a FIFO, a zip bomb, an ambiguous folder)
becomes an `invalid_submission` record, any exception while grading a `grader_error` record, and the
gradebook is always written. About twice a second the caller gets a 'tick' event with the students still
running and an ETA that accounts for them and their time limits.
Ctrl-C stops new work, kills the running sandboxes, writes the gradebook of what is done and returns
a result with `interrupted=True` (the CLI exits 130).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from grader.api import grade_submission
from grader.batch.discover import Submission, discover
from grader.batch.gradebook import canvas_rows, grades_rows, to_csv
from grader.batch.records import (
    BatchResult,
    CacheKey,
    StudentRecord,
    read_record,
    write_record,
)
from grader.batch.roster import Roster, RosterMatch, match_roster, read_roster
from grader.batch.summary import render_summary
from grader.data import mnist
from grader.errors import GraderError, SandboxError
from grader.fileio import atomic_write
from grader.models import Note, ProgressEvent, Report
from grader.rubric import LoadedRubric, load_rubric
from grader.sandbox.base import DoctorItem, Sandbox, StageOutcome, StageRequest, Watch
from grader.sandbox.select import select_sandbox
from grader.version import __version__

STOP_TIMEOUT_S = 30.0  # how long Ctrl-C waits for running gradings to wind down
TICK_S = 0.5  # how often the progress callback hears about running students

EventKind = Literal["start", "tick", "done", "interrupted", "finish"]


@dataclass(frozen=True)
class RunningStudent:
    """A student being graded right now."""

    student: str
    elapsed_s: float
    limit_s: float  # the most its grading can take: the sum of the rubric's stage time limits
    activity: str = ""  # e.g. 'train: epoch 3/10', when the grader reports it


@dataclass(frozen=True)
class BatchEvent:
    """Progress of a batch, sent to the `progress` callback (always from the calling thread).

    kind: 'start' (nothing graded yet), 'tick' (about every TICK_S: `running` and `eta_s` refreshed),
    'done' (`record` just finished), 'interrupted', 'finish'. total counts the students to grade in this
    run; reused ones (--resume) are in `reused` only. eta_s: seconds left, None until one student is done.
    """

    kind: EventKind
    total: int
    done: int = 0
    errors: int = 0
    invalid: int = 0
    not_passed: int = 0
    reused: int = 0
    record: StudentRecord | None = None
    running: tuple[RunningStudent, ...] = ()
    eta_s: float | None = None


ProgressCallback = Callable[[BatchEvent], None]


@dataclass(frozen=True)
class GradingJob:
    """One student to grade: the collected submission, what its grade depends on, and its seed."""

    submission: Submission
    key: CacheKey
    seed: int


@dataclass(frozen=True)
class BatchSettings:
    """What every student's grading shares, wherever it runs."""

    rubric: LoadedRubric
    quick: bool
    data_dir: Path | None


class Executor(Protocol):
    """Grades jobs somewhere: the local thread pool, or a cluster (grader.cluster.DaskExecutor).

    sandbox_name: the sandbox the gradings use, recorded in each cache key. slots: gradings at once (for the ETA).
    Both grade through `grade_files`, so a student's grade does not depend on where it was computed.
    run: grade every job, calling on_done(record) in the calling thread as each finishes and on_tick() about
    every TICK_S; stop on KeyboardInterrupt (leaving nothing running) and return True if interrupted. A
    GraderError means the executor itself was lost (the gradebook of what is done is still written).
    """

    sandbox_name: str
    slots: int

    def running(self) -> tuple[RunningStudent, ...]:
        """The students being graded right now (for progress and the ETA; () when the executor cannot tell)."""
        ...

    def run(self, jobs: list[GradingJob], settings: BatchSettings, on_done: Callable[[StudentRecord], None],
            on_tick: Callable[[], None]) -> bool: ...


class BatchCancelled(Exception):
    """Raised inside a worker when the batch was interrupted before its next sandbox stage."""


class CancellableSandbox:
    """The batch's sandbox, refusing to start a new stage once the batch is cancelled."""

    def __init__(self, inner: Sandbox, cancel: threading.Event) -> None:
        self.inner, self.cancel, self.name = inner, cancel, inner.name

    def describe(self) -> str | None:
        return self.inner.describe()

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None,
                  watch: Watch | None = None) -> StageOutcome:
        if self.cancel.is_set():
            raise BatchCancelled
        return self.inner.run_stage(request, cancel or self.cancel, watch)

    def stop_all(self) -> None:
        self.inner.stop_all()

    def sweep(self) -> int:
        return self.inner.sweep()

    def doctor(self) -> list[DoctorItem]:
        return self.inner.doctor()


class _Running:
    """The students being graded now (written by worker threads, read by the calling thread)."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s, self.lock = limit_s, threading.Lock()
        self.started: dict[str, float] = {}
        self.activity: dict[str, str] = {}

    def start(self, student: str) -> None:
        with self.lock:
            self.started[student] = time.monotonic()

    def report(self, student: str, event: ProgressEvent) -> None:
        with self.lock:
            self.activity[student] = event.message or event.stage

    def finish(self, student: str) -> None:
        with self.lock:
            self.started.pop(student, None)
            self.activity.pop(student, None)

    def snapshot(self) -> tuple[RunningStudent, ...]:
        now = time.monotonic()
        with self.lock:
            return tuple(RunningStudent(student, now - started, self.limit_s, self.activity.get(student, ""))
                         for student, started in sorted(self.started.items(), key=lambda item: item[1]))


def estimate_remaining(*, queued: int, running: Sequence[RunningStudent], typical_s: float | None,
                       jobs: int) -> float | None:
    """Seconds until the batch is done, scheduling `queued` students on `jobs` slots after the running ones.

    typical_s: the median duration of the students graded so far (None before the first: no estimate).
    A running student still within typical_s needs the rest of it; one past it (a slow or stuck one)
    is expected to need as much again as it has overrun, but never more than its time limit allows.
    """
    if typical_s is None:
        return None
    slots = []
    for student in running:
        overrun = student.elapsed_s - typical_s
        expected = -overrun if overrun < 0 else min(overrun, student.limit_s - student.elapsed_s)
        slots.append(max(0.0, expected))
    slots += [0.0] * max(0, jobs - len(slots))
    heapq.heapify(slots)
    for _ in range(queued):
        heapq.heappush(slots, heapq.heappop(slots) + typical_s)
    return max(slots, default=0.0)


@dataclass
class _Context:
    """What every student's grading shares."""

    settings: BatchSettings
    sandbox: CancellableSandbox
    sandbox_notes: list[Note]
    cancel: threading.Event  # shared with `sandbox`: set by Ctrl-C
    running: _Running
    speculate: bool = False  # start training early: only when one grading at a time leaves cores free


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
    """What is graded: the digest of the collected files and entry, or of the reason there are none."""
    return submission.digest or hashlib.sha256(f"error:{submission.error}".encode()).hexdigest()


def _unfinished(submission: Submission, key: CacheKey, message: str, *, status: Literal["invalid_submission",
                "grader_error"], duration_s: float = 0.0) -> StudentRecord:
    """A record without a report: an invalid submission (kept on --resume) or a grader error (retried)."""
    return StudentRecord(student=submission.student, status=status, key=key, submission=submission, error=message,
                         retry=status == "grader_error", duration_s=duration_s)


def error_record(job: GradingJob, message: str, duration_s: float = 0.0) -> StudentRecord:
    """A grader_error record: the grading failed on the grader's side (retried on --resume)."""
    return _unfinished(job.submission, job.key, message, status="grader_error", duration_s=duration_s)


def graded_record(job: GradingJob, report: Report, duration_s: float) -> StudentRecord:
    """The record of a finished grading."""
    return StudentRecord(student=job.submission.student, status="graded", key=job.key, submission=job.submission,
                         report=report, duration_s=duration_s)


def grading_failure(exc: BaseException) -> str:
    """What a grader_error record says about an exception raised while grading."""
    return str(exc) if isinstance(exc, GraderError) else f"unexpected {type(exc).__name__}: {exc}"


def grade_files(path: Path, entry: str, student: str, seed: int, settings: BatchSettings, *, sandbox: Sandbox,
                sandbox_notes: list[Note], speculate: bool = False, cancel: threading.Event | None = None,
                on_progress: Callable[[ProgressEvent], None] | None = None, task_key: bytes | None = None) -> Report:
    """The grading function of every executor: grade_submission on one student's folder, with the sandbox's notes.

    Tried once more when the sandbox itself failed (a transient engine error); student behaviour never raises
    SandboxError (it is report data), so a retry cannot hide it.
    """
    for attempt in (1, 2):
        try:
            report = grade_submission(path, entry=entry, rubric=settings.rubric, sandbox=sandbox,
                                      data_dir=settings.data_dir, seed=seed, quick=settings.quick, student=student,
                                      speculate=speculate, cancel=cancel, on_progress=on_progress,
                                      task_key=task_key)
            return report.model_copy(update={"notes": sandbox_notes + report.notes})
        except SandboxError:
            if attempt == 2 or (cancel is not None and cancel.is_set()):
                raise
    raise AssertionError("unreachable")


def _grade_one(job: GradingJob, ctx: _Context) -> StudentRecord | None:
    """Grade one student in a worker thread; None when the batch was cancelled meanwhile."""
    submission = job.submission
    assert submission.path is not None and submission.entry is not None
    started = time.perf_counter()
    ctx.running.start(submission.student)
    try:
        report = grade_files(submission.path, submission.entry, submission.student, job.seed, ctx.settings,
                             sandbox=ctx.sandbox, sandbox_notes=ctx.sandbox_notes, speculate=ctx.speculate,
                             cancel=ctx.cancel, on_progress=lambda event: ctx.running.report(submission.student,
                                                                                              event))
    except BatchCancelled:
        return None
    except Exception as exc:  # noqa: BLE001 - one student's crash of the grader must not stop the class
        if ctx.cancel.is_set():  # its sandbox was killed by Ctrl-C: not this student's outcome
            return None
        return error_record(job, grading_failure(exc), time.perf_counter() - started)
    finally:
        ctx.running.finish(submission.student)
    if ctx.cancel.is_set():  # a stage was killed under it: the report is not a real grade
        return None
    return graded_record(job, report, time.perf_counter() - started)


def _reusable(stored: StudentRecord, key: CacheKey) -> bool:
    """A stored record stands when it was graded under the same key and is not a retryable error."""
    return stored.key == key and not stored.retry


class _Tally:
    """Counts for progress events; updated only by the calling thread."""

    def __init__(self, total: int, reused: int, progress: ProgressCallback | None,
                 running: Callable[[], tuple[RunningStudent, ...]], jobs: int) -> None:
        self.total, self.reused, self.progress, self.running, self.jobs = total, reused, progress, running, jobs
        self.done = self.errors = self.invalid = self.not_passed = 0
        self.durations: list[float] = []

    def emit(self, kind: EventKind, record: StudentRecord | None = None) -> None:
        if record is not None:
            self.done += 1
            self.errors += record.status == "grader_error"
            self.invalid += record.status == "invalid_submission"
            self.not_passed += record.report is not None and not record.report.passed
            if record.status != "invalid_submission":  # those take no time: they would make the ETA too short
                self.durations.append(record.duration_s)
        if self.progress is None:
            return
        running = self.running()
        queued = self.total - self.done - len(running)
        typical = statistics.median(self.durations) if self.durations else None
        eta = estimate_remaining(queued=max(0, queued), running=running, typical_s=typical, jobs=self.jobs) \
            if kind in ("start", "tick", "done") else None
        self.progress(BatchEvent(kind=kind, total=self.total, done=self.done, errors=self.errors, invalid=self.invalid,
                                 not_passed=self.not_passed, reused=self.reused, record=record, running=running,
                                 eta_s=eta))


def _kill_running_stages(sandbox: Sandbox) -> None:
    """Stop every stage the batch has running; the sandbox knows its own (process groups, uids, containers)."""
    sandbox.stop_all()


@contextlib.contextmanager
def ignore_interrupts() -> Iterator[None]:
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
def interrupt_on_signals() -> Iterator[None]:
    """While a batch runs, SIGINT and SIGTERM (Ctrl-C, a cancelled CI job, `kill`) raise KeyboardInterrupt, so it
    stops cleanly. SIGINT too, explicitly: a process started in the background by a script inherits SIGINT
    ignored, and Python then installs no Ctrl-C handler of its own (`kill -INT` would do nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wind_down(futures: list[Future[StudentRecord | None]], ctx: _Context) -> None:
    """After Ctrl-C: keep killing the running stages until every started grading has returned."""
    inner = ctx.sandbox.inner
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        running = [future for future in futures if not future.done()]
        if not running:
            break
        _kill_running_stages(inner)
        wait(running, timeout=0.25)
    _kill_running_stages(inner)  # whatever happened above, nothing of ours keeps running
    with contextlib.suppress(GraderError):  # an engine gone meanwhile: the next grader's sweep removes it
        inner.sweep()


def _run_pool(todo: list[GradingJob], ctx: _Context, jobs: int,
              on_done: Callable[[StudentRecord], None], on_tick: Callable[[], None]) -> bool:
    """Grade `todo` on `jobs` threads, calling on_done in this thread as each finishes and on_tick about every
    TICK_S; True if interrupted."""
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nngrader-batch")
    futures = [pool.submit(_grade_one, job, ctx) for job in todo]
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=TICK_S, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=futures.index):
                record = future.result()
                if record is not None:
                    on_done(record)
            on_tick()
    except KeyboardInterrupt:
        with ignore_interrupts():
            ctx.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            _wind_down(futures, ctx)
        return True
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return False


class LocalPool:
    """The local executor: `jobs` threads on this machine, each grading in its own sandbox stages."""

    def __init__(self, sandbox: str | Sandbox = "auto", jobs: int | None = None) -> None:
        self.box, self.notes = select_sandbox(sandbox) if isinstance(sandbox, str) else (sandbox, [])
        self.sandbox_name = self.box.name
        self.jobs = jobs
        self.slots = jobs or 1
        self._running: _Running | None = None

    def running(self) -> tuple[RunningStudent, ...]:
        return self._running.snapshot() if self._running is not None else ()

    def run(self, jobs: list[GradingJob], settings: BatchSettings, on_done: Callable[[StudentRecord], None],
            on_tick: Callable[[], None]) -> bool:
        self._running = _Running(settings.rubric.rubric.limits.stages_s)
        cancel = threading.Event()
        ctx = _Context(settings=settings, sandbox=CancellableSandbox(self.box, cancel), sandbox_notes=self.notes,
                       cancel=cancel, running=self._running, speculate=self.slots == 1)
        return _run_pool(jobs, ctx, self.slots, on_done, on_tick)


def write_gradebook(out_dir: Path, records: list[StudentRecord], rubric: LoadedRubric, *,
                    canvas_assignment: str | None, interrupted: bool = False, discovered: int | None = None,
                    roster: RosterMatch | None = None) -> tuple[Path, Path | None, Path]:
    """Write grades.csv, canvas.csv (when an assignment is given) and summary.html; return their paths."""
    grades = out_dir / "grades.csv"
    atomic_write(grades, to_csv(grades_rows(records, rubric.rubric, roster)))
    canvas = None
    if canvas_assignment:
        canvas = out_dir / "canvas.csv"
        atomic_write(canvas, to_csv(canvas_rows(records, rubric.rubric, canvas_assignment, roster)))
    summary = out_dir / "summary.html"
    atomic_write(summary, render_summary(records, rubric, interrupted=interrupted, discovered=discovered,
                                              roster=roster))
    return grades, canvas, summary


@dataclass
class _Prepared:
    """What was checked once before any grading."""

    rubric: LoadedRubric
    executor: Executor
    roster: Roster | None = None


def _prepare(rubric: str | Path | LoadedRubric | None, sandbox: str | Sandbox, jobs: int | None,
             executor: Executor | None, data_dir: Path | None, canvas_assignment: str | None,
             roster: str | Path | None) -> _Prepared:
    """Everything that would fail for every student, checked once before any grading."""
    loaded = rubric if isinstance(rubric, LoadedRubric) else load_rubric(rubric)
    if canvas_assignment:
        canvas_rows([], loaded.rubric, canvas_assignment)  # a malformed title fails now, not after an hour
    read = read_roster(roster) if roster is not None else None
    if executor is None:  # a cluster's workers bring their own data and sandboxes (and check them on start-up)
        mnist.prepare(data_dir)
        executor = LocalPool(sandbox, max(1, jobs if jobs is not None else default_jobs(loaded)))
    return _Prepared(loaded, executor, read)


def _split(submissions: list[Submission], key: Callable[[str], CacheKey], seed: int | None, out: Path, *,
           resume: bool) -> tuple[list[StudentRecord], list[GradingJob]]:
    """Stored records still valid (only with resume), and the submissions to grade as jobs."""
    reused: list[StudentRecord] = []
    todo: list[GradingJob] = []
    for submission in submissions:
        job_key = key(_fingerprint(submission))
        stored = read_record(out, submission.student) if resume else None
        if stored is not None and _reusable(stored, job_key):
            reused.append(stored)
        else:
            todo.append(GradingJob(submission, job_key, seed if seed is not None else
                                   student_seed(job_key.submission_sha256, job_key.rubric_sha256)))
    return reused, todo


def grade_batch(class_dir: str | Path, *, out_dir: str | Path, rubric: str | Path | LoadedRubric | None = None,
                sandbox: str | Sandbox = "auto", data_dir: str | Path | None = None, jobs: int | None = None,
                resume: bool = False, seed: int | None = None, quick: bool = False,
                progress: ProgressCallback | None = None, canvas_assignment: str | None = None,
                roster: str | Path | None = None, entry: str | None = None,
                executor: Executor | None = None) -> BatchResult:
    """Grade every submission under `class_dir`; write reports and the gradebook into `out_dir`.

    out_dir gets reports/<student>.json (a StudentRecord, written as soon as the student is done),
    grades.csv, summary.html, canvas.csv (when `canvas_assignment="Title (id)"` is given) and work/
    (each student's collected files, as graded). jobs: parallel gradings (default: cores // rubric CPU
    quota). resume: reuse stored records graded under the same cache key. seed: one seed for every student
    (default: derived from each submission and the rubric, so re-runs give the same grades).
    roster: a Canvas gradebook export or GitHub Classroom roster (see grader.batch.roster): canvas.csv
    gets real Canvas ids, and the result lists what did not match. entry: the entry's path inside every
    student folder or archive (overrides the rule). progress: called from this thread with a BatchEvent
    at start, about twice a second ('tick'), after each student, and at the end.
    executor: where the gradings run (default: a LocalPool of `jobs` threads with `sandbox`; a
    grader.cluster.DaskExecutor grades on a Dask cluster, whose workers bring their own sandbox and data).
    Raises GraderError only for problems that stop the whole batch (rubric, data, sandbox, roster, class
    folder, a lost cluster); nothing a student submits does. The gradebook of what is done is written first.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    data = Path(data_dir) if data_dir else None
    prepared = _prepare(rubric, sandbox, jobs, executor, data, canvas_assignment, roster)
    loaded, run_on = prepared.rubric, prepared.executor
    submissions = discover(class_dir, work_dir=out / "work", class_name=loaded.rubric.architecture.class_name,
                           entry=entry, exclude=[out])
    matched = match_roster(prepared.roster, submissions) if prepared.roster is not None else None

    def key(submission_sha256: str) -> CacheKey:
        return CacheKey(submission_sha256=submission_sha256, rubric_sha256=loaded.sha256, grader_version=__version__,
                        sandbox=run_on.sandbox_name, quick=quick, seed=seed)

    records, todo = _split(submissions, key, seed, out, resume=resume)
    tally = _Tally(total=len(todo), reused=len(records), progress=progress, running=run_on.running,
                   jobs=run_on.slots)
    tally.emit("start")

    def on_done(record: StudentRecord) -> None:
        write_record(out, record)
        records.append(record)
        tally.emit("done", record)

    def finish(interrupted: bool) -> tuple[Path, Path | None, Path]:
        records.sort(key=lambda record: record.student)
        return write_gradebook(out, records, loaded, canvas_assignment=canvas_assignment, interrupted=interrupted,
                               discovered=len(submissions), roster=matched)

    for job in [job for job in todo if job.submission.error is not None]:  # nothing to grade: no executor
        on_done(_unfinished(job.submission, job.key, job.submission.error or "", status="invalid_submission"))
    gradable = [job for job in todo if job.submission.error is None]
    try:
        interrupted = run_on.run(gradable, BatchSettings(loaded, quick, data), on_done,
                                 lambda: tally.emit("tick")) if gradable else False
    except GraderError:
        finish(interrupted=True)  # the executor was lost: what is done is kept, --resume grades the rest
        raise
    grades, canvas, summary = finish(interrupted)
    tally.emit("interrupted" if interrupted else "finish")
    return BatchResult(out_dir=out, rubric_id=loaded.rubric.id, records=records, discovered=len(submissions),
                       graded_now=tally.done, reused=tally.reused, interrupted=interrupted, grades_csv=grades,
                       canvas_csv=canvas, summary_html=summary, duration_s=time.perf_counter() - started,
                       unmatched_submissions=matched.unmatched_submissions if matched else [],
                       unmatched_roster=[row.label() for row in matched.unmatched_rows] if matched else [])
