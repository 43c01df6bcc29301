"""The progress shown while `nngrader check` grades: a live line on a terminal, plain lines in a CI log.

Fed with synthetic ProgressEvents, as `grade_submission(on_progress=...)` sends them. The terminal is a
real pseudo-terminal (pty): the renderer must pick the live line by itself, redraw it in place, keep it
within the terminal's width, and erase it when grading ends.
"""

from __future__ import annotations

import io
import os
import pty
import re
from collections.abc import Iterator

import pytest

from grader.models import ProgressEvent
from grader.report.progress import CLEAR_LINE, DownloadBar, LiveLine, PlainLines, Silent, describe, make_progress


def events() -> Iterator[ProgressEvent]:
    """A load stage, then a training run of 3 epochs, reported twice a second."""
    for t in (0.0, 0.5):
        yield ProgressEvent(stage="load", elapsed_s=t, limit_s=30)
    for step in range(8):
        yield ProgressEvent(stage="train", elapsed_s=step * 0.5, limit_s=300, epoch=step * 0.4, epochs=3,
                            message=f"training: epoch {step * 0.4:.1f}/3")


@pytest.fixture()
def terminal() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """(the terminal side a program writes to, the master fd the test reads the screen's bytes from)."""
    master, slave = pty.openpty()
    stream = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8", write_through=True)
    yield stream, master
    if not stream.closed:
        stream.close()
    os.close(master)


def screen(terminal: tuple[io.TextIOWrapper, int]) -> str:
    """Everything written to the terminal: the program side is closed, then the master read to its end."""
    stream, master = terminal
    stream.close()
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed and everything was read
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8")


def test_on_a_terminal_one_line_is_redrawn_then_erased(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, _ = terminal
    progress = make_progress(stream)
    assert isinstance(progress, LiveLine)
    progress.width = 60
    for event in events():
        progress(event)
    progress.close()
    shown = screen(terminal)
    frames = shown.split(CLEAR_LINE)[1:]
    assert len(frames) == 10 + 1  # one redraw per event, then the erase
    assert "\n" not in shown  # never a new line: the same line is redrawn
    assert frames[-1] == ""
    assert all(len(frame) < 60 for frame in frames)
    assert re.search(r"train\s+epoch 2\.8/3\s+4 s of 300 s$", frames[-2])
    assert re.search(r"load\s+0 s of 30 s$", frames[0])


def test_outside_a_terminal_plain_lines_per_stage_and_epoch() -> None:
    out = io.StringIO()
    progress = make_progress(out)
    assert isinstance(progress, PlainLines)
    for event in events():
        progress(event)
    progress.close()
    assert out.getvalue().splitlines() == [
        "nngrader: load stage (limit 30 s)",
        "nngrader: train stage (limit 300 s)",
        "nngrader: train epoch 1/3 (2 s)",
        "nngrader: train epoch 2/3 (2 s)",
    ]


def test_interleaved_stages_are_announced_once_each() -> None:
    out = io.StringIO()
    progress = PlainLines(out)
    for elapsed in (0.0, 0.5, 1.0):  # the speculative training runs beside load, then probe
        progress(ProgressEvent(stage="load", elapsed_s=elapsed, limit_s=30))
        progress(ProgressEvent(stage="train", elapsed_s=elapsed, limit_s=300, epoch=0.0, epochs=10))
    progress(ProgressEvent(stage="probe", elapsed_s=0, limit_s=60))
    progress(ProgressEvent(stage="train", elapsed_s=2, limit_s=300, epoch=1.0, epochs=10))
    assert out.getvalue().splitlines() == ["nngrader: load stage (limit 30 s)", "nngrader: train stage (limit 300 s)",
                                           "nngrader: probe stage (limit 60 s)", "nngrader: train epoch 1/10 (2 s)"]


def test_quiet_shows_nothing() -> None:
    assert isinstance(make_progress(io.StringIO(), quiet=True), Silent)


def test_event_text_is_cleaned() -> None:
    event = ProgressEvent(stage="train\x1b[2J", elapsed_s=1, limit_s=10, message="\x1b]52;c;eA==\x07evil")
    assert "\x1b" not in describe(event) and "\x07" not in describe(event)


def test_events_after_close_are_ignored(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, _ = terminal
    progress = LiveLine(stream, width=80)
    progress(ProgressEvent(stage="load", elapsed_s=0, limit_s=30))
    progress.close()
    progress(ProgressEvent(stage="probe", elapsed_s=0, limit_s=60))  # a late event from the grader thread
    assert "probe" not in screen(terminal)


def test_download_bar_on_a_terminal_and_in_a_log(terminal: tuple[io.TextIOWrapper, int]) -> None:
    stream, _ = terminal
    bar = DownloadBar(stream)
    for done in (0, 5_000_000, 9_912_422):
        bar("train-images-idx3-ubyte", done, 9_912_422)
    bar.finish()
    shown = screen(terminal)
    assert "MNIST train-images-idx3-ubyte [" in shown and "9.9/9.9 MB" in shown
    log = io.StringIO()
    plain = DownloadBar(log)
    for done in (0, 5_000_000, 9_912_422):
        plain("train-images-idx3-ubyte", done, 9_912_422)
    plain.finish()
    assert log.getvalue() == "nngrader: downloading MNIST train-images-idx3-ubyte (9.9 MB)\n"
