"""How a batch shows its progress: a rich progress bar on a terminal, one plain line per student otherwise.

Both are BatchEvent callbacks for `grade_batch(progress=...)` and context managers (the bar must be
stopped to give the terminal back). CI logs get the plain lines: no cursor tricks, one event per line.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader.batch.records import StudentRecord
from grader.batch.runner import BatchEvent


def outcome(record: StudentRecord) -> str:
    """'85/100 passed', '40/100 not passed' or 'GRADER ERROR: <message>' for a log line."""
    if record.report is None:
        return f"GRADER ERROR: {record.error}"
    verdict = "passed" if record.report.passed else "not passed"
    return f"{record.report.score:g}/{record.report.max_score:g} {verdict}"


class LineProgress:
    """One line per event, for logs: `[ 3/30] alice: 85/100 passed (4.1 s)`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

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
        elif event.kind == "interrupted":
            self._print(f"interrupted after {event.done}/{event.total}: the gradebook holds what is done")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class BarProgress:
    """A rich progress bar: done/total, passed/not passed/errors so far, elapsed and ETA."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]grading"), BarColumn(bar_width=None), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[not_passed]} not passed[/] · [yellow]{task.fields[errors]} errors[/]"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("[dim]{task.fields[last]}"), console=self.console, transient=False)
        self.task: TaskID | None = None

    def __enter__(self) -> BarProgress:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def __call__(self, event: BatchEvent) -> None:
        if event.kind == "start":
            if event.reused:
                self.console.print(f"{event.reused} submission(s) reused from earlier runs (--resume)")
            self.task = self.progress.add_task("grading", total=event.total, not_passed=0, errors=0, last="")
            return
        if self.task is None:
            return
        self.progress.update(self.task, completed=event.done, not_passed=event.not_passed, errors=event.errors)
        if event.record is not None:  # keep showing the last student after the final event
            self.progress.update(self.task, last=f"{event.record.student}: {outcome(event.record)}"[:60])
        if event.kind == "interrupted":
            self.console.print("[yellow]interrupted: the gradebook holds what is done")


def make_progress(stream: TextIO | None = None) -> LineProgress | BarProgress:
    """A bar when `stream` (default stderr) is a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress() if stream.isatty() else LineProgress(stream)
