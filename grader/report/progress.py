"""What `nngrader check` shows while it grades: a live line on a terminal, plain lines elsewhere (CI logs).

Both are fed by `grade_submission(on_progress=...)` with `ProgressEvent`s, called from a grader thread
about twice a second while a stage runs. They write to a stream (stderr: stdout carries the report).

* `LiveLine` (a TTY): one line redrawn in place, e.g.
  `⠹ train   epoch 3.2/10   41 s of 300 s`, cut to the terminal's width; `close()` erases it.
* `PlainLines` (not a TTY): one line when a stage starts and one per whole epoch, nothing in between, so a
  CI log stays short: `nngrader: train stage (limit 300 s)`, `nngrader: train epoch 3/10 (41 s)`.

Text in an event is cleaned (`textsafe.one_line`) before it is shown.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import Protocol, TextIO

from grader.models import ProgressEvent
from grader.textsafe import one_line

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
CLEAR_LINE = "\r\x1b[2K"


class Progress(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...

    def close(self) -> None: ...


def _epochs(event: ProgressEvent, whole: bool) -> str:
    if event.epoch is None:
        return ""
    done = f"{int(event.epoch)}" if whole else f"{event.epoch:.1f}"
    return f"epoch {done}/{event.epochs}" if event.epochs else f"epoch {done}"


def describe(event: ProgressEvent) -> str:
    """The live line's text, without the spinner: stage, epoch, elapsed time against the limit."""
    parts = [f"{one_line(event.stage, 20) or 'preparing':<7}"]
    epoch = _epochs(event, whole=False)
    if epoch:
        parts.append(epoch)
    elif event.message:
        parts.append(one_line(event.message, 60))
    parts.append(f"{event.elapsed_s:.0f} s of {event.limit_s:.0f} s" if event.limit_s else f"{event.elapsed_s:.0f} s")
    return "   ".join(parts)


class LiveLine:
    """One line on a terminal, redrawn on every event, erased by close()."""

    def __init__(self, stream: TextIO, width: int | None = None) -> None:
        self.stream = stream
        self.width = width or shutil.get_terminal_size((80, 24)).columns
        self.lock = threading.Lock()
        self.frame = 0
        self.shown = False
        self.closed = False

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            if self.closed:
                return
            line = f"{SPINNER[self.frame % len(SPINNER)]} {describe(event)}"[: max(1, self.width - 1)]
            self.frame += 1
            self.stream.write(CLEAR_LINE + line)
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        with self.lock:
            if self.shown and not self.closed:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()
            self.closed = True


class PlainLines:
    """A line when each stage starts and per whole epoch, never redrawn: readable in a CI log.

    Stages can run side by side (the training stage starts speculatively beside load and probe), so their
    events interleave: each stage is announced once, and its epochs are counted on their own.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.epochs: dict[str, int | None] = {}  # stage -> last whole epoch printed
        self.closed = False

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            if self.closed:
                return
            stage = one_line(event.stage, 20) or "preparing"
            lines = []
            if stage not in self.epochs:
                self.epochs[stage] = None
                limit = f" (limit {event.limit_s:.0f} s)" if event.limit_s else ""
                lines.append(f"nngrader: {stage} stage{limit}")
            if event.epoch is not None and int(event.epoch) > 0 and int(event.epoch) != self.epochs[stage]:
                self.epochs[stage] = int(event.epoch)
                lines.append(f"nngrader: {stage} {_epochs(event, whole=True)} ({event.elapsed_s:.0f} s)")
            for line in lines:
                self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        with self.lock:
            self.closed = True


class Silent:
    """No progress at all (--quiet)."""

    def __call__(self, event: ProgressEvent) -> None:
        return None

    def close(self) -> None:
        return None


def make_progress(stream: TextIO, *, quiet: bool = False) -> Progress:
    """LiveLine on a terminal, PlainLines elsewhere, Silent when quiet."""
    if quiet:
        return Silent()
    if stream.isatty():
        return LiveLine(stream)
    return PlainLines(stream)


class DownloadBar:
    """`grader.data.download.fetch(progress=...)`: a bar per file on a terminal, a line per file elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.width = shutil.get_terminal_size((80, 24)).columns
        self.current: str | None = None
        self.last_draw = 0.0

    def __call__(self, name: str, done: int, total: int) -> None:
        if name != self.current:
            self.finish()
            self.current = name
            if not self.tty:
                size = f" ({total / 1e6:.1f} MB)" if total else ""
                self.stream.write(f"nngrader: downloading MNIST {name}{size}\n")
                self.stream.flush()
        if not self.tty or (time.monotonic() - self.last_draw < 0.1 and done != total):
            return
        self.last_draw = time.monotonic()
        label = f"MNIST {name} "
        figures = f" {done / 1e6:5.1f}/{total / 1e6:.1f} MB" if total else f" {done / 1e6:5.1f} MB"
        room = max(10, min(40, self.width - len(label) - len(figures) - 4))
        filled = int(room * done / total) if total else 0
        self.stream.write(f"{CLEAR_LINE}{label}[{'█' * filled}{' ' * (room - filled)}]{figures}")
        self.stream.flush()

    def finish(self) -> None:
        """End the current file's bar (the checksum is verified before the file is kept)."""
        if self.tty and self.current is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.current = None
