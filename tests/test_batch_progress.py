"""What a batch shows while it runs: the ETA, the students running now, plain lines for logs, the bar.

The ETA is a pure function (tested as arithmetic). The bar is rendered into a fake terminal of 80, 100 and
120 columns. One test runs grade_batch with a grading stand-in that waits until the progress callback
has seen it running, so the 'tick' events are observed without any timing assumption.
"""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from rich.console import Console

from grader.batch import BatchEvent, RunningStudent, grade_batch
from grader.batch import runner as runner_module
from grader.batch.progress import MARGIN, BarProgress, LineProgress, clock
from grader.batch.runner import estimate_remaining
from tests.test_batch_gradebook import fake_record

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def running(elapsed: float, limit: float = 390.0, name: str = "bob") -> RunningStudent:
    return RunningStudent(student=name, elapsed_s=elapsed, limit_s=limit)


# ------------------------------------------------------------------------------------------- the ETA
def test_no_eta_before_the_first_student_is_done() -> None:
    assert estimate_remaining(queued=10, running=[running(5)], typical_s=None, jobs=2) is None


def test_queued_students_fill_the_free_slots() -> None:
    assert estimate_remaining(queued=4, running=[], typical_s=10, jobs=2) == 20
    assert estimate_remaining(queued=3, running=[], typical_s=10, jobs=2) == 20
    assert estimate_remaining(queued=0, running=[], typical_s=10, jobs=2) == 0


def test_running_students_count_with_what_they_still_need() -> None:
    # one slot frees in 4 s (6 of 10 done), the other is free now: 3 queued take 10 s each
    assert estimate_remaining(queued=3, running=[running(6)], typical_s=10, jobs=2) == 20
    assert estimate_remaining(queued=0, running=[running(6), running(1)], typical_s=10, jobs=2) == 9


def test_a_stuck_student_is_expected_to_run_on_but_never_past_its_limit() -> None:
    """The bug this replaces: 'ETA 0:00:03' for six minutes while one student ran into its time limit."""
    etas = [estimate_remaining(queued=0, running=[running(elapsed, limit=390)], typical_s=10, jobs=2)
            for elapsed in (10, 40, 100, 200, 300, 380, 390, 400)]
    assert etas == [0, 30, 90, 190, 90, 10, 0, 0]


def test_clock() -> None:
    assert [clock(None), clock(5), clock(65.4), clock(3723)] == ["–", "0:05", "1:05", "1:02:03"]


# ------------------------------------------------------------------------------------------- plain lines
def test_plain_lines_for_logs() -> None:
    stream = io.StringIO()
    lines = LineProgress(stream, still_running_s=0)
    lines(BatchEvent(kind="start", total=3, reused=1))
    lines(BatchEvent(kind="tick", total=3, running=(running(151, name="bob"),), eta_s=200))
    lines(BatchEvent(kind="done", total=3, done=1, record=fake_record("ann", 85)))
    lines(BatchEvent(kind="done", total=3, done=2,
                     record=fake_record("cy", None, "x.py: a FIFO\x1b[2J\nnot a file", status="invalid_submission")))
    lines(BatchEvent(kind="interrupted", total=3, done=2))
    assert stream.getvalue().splitlines() == [
        "grading 3 submission(s), 1 reused from earlier runs",
        "still running: bob 2:31 (limit 6:30); ETA 3:20",
        "[1/3] ann: 85/100 passed (0.0 s)",
        "[2/3] cy: INVALID SUBMISSION: x.py: a FIFO not a file (0.0 s)",
        "interrupted after 2/3: the gradebook holds what is done"]


def test_plain_lines_stay_quiet_while_students_finish() -> None:
    stream = io.StringIO()
    lines = LineProgress(stream)  # a minute without a finished student before 'still running'
    lines(BatchEvent(kind="start", total=3))
    lines(BatchEvent(kind="tick", total=3, running=(running(1),)))
    assert stream.getvalue().splitlines() == ["grading 3 submission(s)"]


# ------------------------------------------------------------------------------------------- the bar
def render_bar(width: int, events: list[BatchEvent]) -> list[str]:
    """The lines a terminal of `width` columns received (escape sequences removed, redraws split)."""
    buffer = io.StringIO()
    bar = BarProgress(Console(file=buffer, force_terminal=True, width=width, color_system=None))
    with bar:
        for event in events:
            bar(event)
    return [line for line in ANSI.sub("", buffer.getvalue()).replace("\r", "\n").split("\n") if line.strip()]


EVENTS = [
    BatchEvent(kind="start", total=30),
    BatchEvent(kind="tick", total=30, running=(running(151, name="a" * 120), running(3, name="bob")), eta_s=600),
    BatchEvent(kind="done", total=30, done=1, invalid=1, running=(running(152, name="bob"),), eta_s=590,
               record=fake_record("zed", None, "[/] [bold red]Score: 100/100 PASSED[/] " + "x" * 300,
                                  status="invalid_submission")),
    BatchEvent(kind="interrupted", total=30, done=1, invalid=1),
]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_bar_leaves_room_for_an_echoed_ctrl_c(width: int) -> None:
    """A full-width line would wrap when the terminal echoes ^C, and the live display would be drawn twice."""
    lines = render_bar(width, EVENTS)
    assert max(len(line) for line in lines) <= width - MARGIN


def test_the_bar_shows_running_students_and_the_eta() -> None:
    lines = render_bar(100, EVENTS[:2])
    assert any("0/30" in line and "ETA 10:00" in line for line in lines)
    assert any(line.startswith("  running aaaa") and line.endswith("…") for line in lines)
    assert "  running bob 0:03 (limit 6:30)" in lines


def test_student_text_is_shown_as_text_never_as_markup() -> None:
    lines = render_bar(120, EVENTS)
    assert any("last: zed: INVALID SUBMISSION: [/] [bold red]Score: 100/100 PASSED[/]" in line for line in lines)


def test_on_interrupt_the_bar_is_drawn_once_then_the_message() -> None:
    lines = render_bar(100, EVENTS)
    message = lines.index("interrupted: the gradebook holds what is done")
    assert message == len(lines) - 1  # nothing is drawn after it
    assert "1/30" in lines[message - 2] and lines[message - 1].startswith("  last: zed")  # the last frame, once
    assert not any("running" in line for line in lines[message - 2:])


# ------------------------------------------------------------------------------------------- ticks
class FakeSandbox:
    """Never runs anything: the grading stand-in below does not call it."""

    name = "fake"

    def describe(self) -> str | None:
        return None

    def run_stage(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("not used")


@pytest.mark.mnist
def test_ticks_report_the_students_running_now(tmp_path: Path, mnist_data: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    classdir = tmp_path / "class"
    for name in ("ann", "ben"):
        (classdir / name).mkdir(parents=True)
        (classdir / name / "simple_nn.py").write_text("class SimpleNN: pass\n")
    seen_running = {"ann": threading.Event(), "ben": threading.Event()}

    def grading(path: Path, **kwargs: object) -> object:
        student = str(kwargs["student"])
        assert seen_running[student].wait(timeout=120), f"no tick showed {student} running"
        return fake_record(student, 80).report

    events: list[BatchEvent] = []

    def progress(event: BatchEvent) -> None:
        events.append(event)
        if event.kind == "tick":
            for student in event.running:
                seen_running[student.student].set()

    monkeypatch.setattr(runner_module, "grade_submission", grading)
    result = grade_batch(classdir, out_dir=tmp_path / "out", sandbox=FakeSandbox(),  # type: ignore[arg-type]
                         data_dir=mnist_data, jobs=1, progress=progress)
    assert [record.status for record in result.records] == ["graded", "graded"]
    ticks = [event for event in events if event.kind == "tick" and event.running]
    assert ticks[0].running[0].student == "ann" and ticks[0].running[0].limit_s == 390  # 30 + 60 + 300 s
    assert ticks[0].eta_s is None  # nobody finished yet
    after_first = [event for event in events if event.kind == "tick" and event.done == 1]
    assert [event.running[0].student for event in after_first][:1] == ["ben"]
    assert all(event.eta_s is not None for event in after_first)
    assert [event.kind for event in events][-1] == "finish"
