"""How a batch shows its progress: a rich progress bar on a terminal, plain lines otherwise.

Both are BatchEvent callbacks for `grade_batch(progress=...)` and context managers (the bar must be
stopped to give the terminal back). CI logs get the plain lines: no cursor tricks, one event per line,
and a 'still running' line when nobody finished for a minute. The bar shows the students running now
and an ETA that accounts for them (see runner.estimate_remaining).

Student-controlled text (error messages hold file names) is made one clean line and, for the bar,
escaped from rich markup. The bar never fills the terminal's width: the ^C a terminal echoes on Ctrl-C
must not wrap the line, or the live display loses its place and is drawn twice.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

from rich.console import Console, RenderableType
from rich.constrain import Constrain
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from grader.batch.records import StudentRecord
from grader.batch.runner import BatchEvent, RunningStudent
from grader.textsafe import one_line

STILL_RUNNING_S = 60.0  # plain lines: how long without a finished student before saying who still runs
SHOWN_RUNNING = 6  # running students listed under the bar
MARGIN = 4  # columns the bar leaves free at the right (room for an echoed ^C)


def clock(seconds: float | None) -> str:
    """'1:05', '1:02:03', or '–' for an unknown duration."""
    if seconds is None:
        return "–"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def outcome(record: StudentRecord) -> str:
    """'85/100 passed', '40/100 not passed', 'INVALID SUBMISSION: ...' or 'GRADER ERROR: ...' (one clean line)."""
    if record.report is None:
        label = "INVALID SUBMISSION" if record.status == "invalid_submission" else "GRADER ERROR"
        return one_line(f"{label}: {record.error}", 200)
    verdict = "passed" if record.report.passed else "not passed"
    return f"{record.report.score:g}/{record.report.max_score:g} {verdict}"


def running_line(student: RunningStudent) -> str:
    """'bob 2:31 (limit 6:30) train: epoch 3/10'."""
    activity = f" {one_line(student.activity, 60)}" if student.activity else ""
    return f"{student.student} {clock(student.elapsed_s)} (limit {clock(student.limit_s)}){activity}"


class LineProgress:
    """One line per event, for logs: `[ 3/30] alice: 85/100 passed (4.1 s)`."""

    def __init__(self, stream: TextIO | None = None, still_running_s: float = STILL_RUNNING_S) -> None:
        self.stream = stream or sys.stderr
        self.still_running_s = still_running_s
        self.last_line = time.monotonic()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, event: BatchEvent) -> None:
        if event.kind == "start":
            reused = f", {event.reused} reused from earlier runs" if event.reused else ""
            self._print(f"grading {event.total} submission(s){reused}")
        elif event.kind == "done" and event.record is not None:
            width = len(str(event.total))
            record = event.record
            self._print(f"[{event.done:>{width}}/{event.total}] {record.student}: {outcome(record)} "
                        f"({record.duration_s:.1f} s)")
        elif event.kind == "tick" and event.running and time.monotonic() - self.last_line >= self.still_running_s:
            names = ", ".join(running_line(student) for student in event.running)
            self._print(f"still running: {names}; ETA {clock(event.eta_s)}")
        elif event.kind == "interrupted":
            self._print(f"interrupted after {event.done}/{event.total}: the gradebook holds what is done")

    def _print(self, line: str) -> None:
        self.last_line = time.monotonic()
        print(line, file=self.stream, flush=True)


class _BatchProgress(Progress):
    """A rich Progress kept MARGIN columns narrower than the terminal, with the running students under it."""

    running: tuple[RunningStudent, ...] = ()
    last: str = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        width = max(20, self.live.console.width - MARGIN) if hasattr(self, "live") else 76
        yield Constrain(self.make_tasks_table(self.tasks), width)
        lines = [f"running {running_line(student)}" for student in self.running[:SHOWN_RUNNING]]
        if len(self.running) > SHOWN_RUNNING:
            lines.append(f"and {len(self.running) - SHOWN_RUNNING} more running")
        if self.last:
            lines.append(f"last: {self.last}")
        for line in lines:
            text = Text("  " + line, style="dim", no_wrap=True)
            text.truncate(width, overflow="ellipsis")
            yield text


class BarProgress:
    """A rich progress bar: done/total, not passed / not graded so far, elapsed, ETA, and who is running."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = _BatchProgress(
            BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[not_passed]} not passed[/] [yellow]{task.fields[not_graded]} not "
                       "graded[/]"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
            console=self.console, transient=False, expand=False)
        self.task: TaskID | None = None

    def __enter__(self) -> BarProgress:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.running = ()
        self.progress.stop()

    def __call__(self, event: BatchEvent) -> None:
        if event.kind == "start":
            if event.reused:
                self.console.print(f"{event.reused} submission(s) reused from earlier runs (--resume)")
            self.task = self.progress.add_task("grading", total=event.total, not_passed=0, not_graded=0, eta="–")
        if self.task is None:
            return
        self.progress.running = event.running if event.kind in ("start", "tick", "done") else ()
        if event.record is not None:  # plain Text, never markup: the message is the student's
            self.progress.last = f"{event.record.student}: {outcome(event.record)}"
        self.progress.update(self.task, completed=event.done, not_passed=event.not_passed,
                             not_graded=event.errors + event.invalid,
                             eta=clock(event.eta_s) if event.kind != "finish" else "0:00")
        if event.kind == "interrupted":  # draw the bar one last time, then say so below it
            self.progress.stop()
            self.console.print("[yellow]interrupted: the gradebook holds what is done")
        else:
            self.progress.refresh()


def make_progress(stream: TextIO | None = None) -> LineProgress | BarProgress:
    """A bar when `stream` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress() if stream.isatty() else LineProgress(stream)
