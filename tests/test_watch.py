"""The stage watch stops what cannot finish, early, and says why: stalled, too slow, runaway.

Unit cases drive StageWatch.poll with a written progress.txt and a fake clock; end-to-end cases grade the
reference with one change in the local sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import grade_submission
from grader.models import ProgressEvent, Status
from grader.watch import StageWatch
from tests.test_integrity import reference_with


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("grader.watch.time.monotonic", fake)
    return fake


def watch(tmp_path: Path, stage: str = "train", events: list[ProgressEvent] | None = None) -> StageWatch:
    (tmp_path / "progress.txt").write_text("stage train\n")
    return StageWatch(stage, tmp_path, limit_s=300, stall_s=10, runs={"train": (60000, 10)},
                      on_progress=events.append if events is not None else None)


def beat(tmp_path: Path, line: str) -> None:
    with open(tmp_path / "progress.txt", "a") as f:
        f.write(line + "\n")


def test_no_progress_for_stall_s_stops_the_stage(tmp_path: Path, clock: Clock) -> None:
    w = watch(tmp_path)
    beat(tmp_path, "probe train")
    beat(tmp_path, "beat 0.5 3 192 1.25")
    assert w.poll() is None
    clock.now += 9.9
    beat(tmp_path, "beat 10.4 3 192 1.25")  # the heartbeat alone is not progress
    assert w.poll() is None
    clock.now += 0.2
    reason = w.poll()
    assert reason is not None and reason.code == "stalled" and "while train was running" in reason.message


def test_changing_weights_count_as_progress(tmp_path: Path, clock: Clock) -> None:
    w = watch(tmp_path)
    beat(tmp_path, "probe train")
    for step in range(30):
        clock.now += 1
        beat(tmp_path, f"beat {step} 3 192 {step * 0.5}")  # no call, but the weights move (inline training)
        assert w.poll() is None


def test_a_pace_that_cannot_finish_is_stopped_with_the_projection(tmp_path: Path, clock: Clock) -> None:
    events: list[ProgressEvent] = []
    w = watch(tmp_path, events=events)
    beat(tmp_path, "probe train")
    assert w.poll() is None
    clock.now += 12
    beat(tmp_path, "beat 12 500 24000 3.0")  # 0.4 of 10 epochs in 12 s: about 300 s in all
    assert w.poll() is None
    assert events[-1].epoch == pytest.approx(0.4) and events[-1].epochs == 10
    clock.now += 12
    beat(tmp_path, "beat 24 520 25000 3.1")  # the pace collapsed: 0.42 epochs in 24 s -> 570 s
    reason = w.poll()
    assert reason is not None and reason.code == "too_slow"
    assert "needs about 57" in reason.message and "300 s limit" in reason.message


def test_a_loop_that_does_not_stop_is_a_runaway(tmp_path: Path, clock: Clock) -> None:
    w = watch(tmp_path)
    beat(tmp_path, "probe train")
    clock.now += 1
    beat(tmp_path, f"beat 1 10000 {60000 * 16} 3.0")
    reason = w.poll()
    assert reason is not None and reason.code == "runaway" and "16.0 epochs" in reason.message


def test_the_load_stage_is_left_to_its_time_limit(tmp_path: Path, clock: Clock) -> None:
    w = watch(tmp_path, stage="load")
    clock.now += 25
    assert w.poll() is None


@pytest.mark.mnist
@pytest.mark.slow
def test_a_graded_run_that_hangs_is_stopped_early(tmp_path: Path, mnist_data: Path) -> None:
    path = reference_with(tmp_path, "hangs", replace={
        "        return losses\n": "        if n > 10000:\n            import time\n            time.sleep(10**6)\n"
        "        return losses\n"})
    report = grade_submission(path, sandbox="local", data_dir=mnist_data, seed=1)
    trained = report.check("trained")
    assert trained.status is Status.TIMEOUT and trained.diagnosis == "stalled"
    assert report.check("accuracy").status is Status.SKIPPED
    train = next(stage for stage in report.environment.stages if stage.stage == "train")
    assert train.status == "stopped" and train.duration_s < 60  # not the 300 s limit


@pytest.mark.mnist
@pytest.mark.slow
def test_a_slow_train_is_stopped_with_the_projection(tmp_path: Path, mnist_data: Path) -> None:
    path = reference_with(tmp_path, "slow", replace={
        "                Xb, yb = X_train[idx], y_train[idx]":
        "                Xb, yb = X_train[idx], y_train[idx]\n                if n > 10000:\n"
        "                    __import__('time').sleep(0.05)"})
    report = grade_submission(path, sandbox="local", data_dir=mnist_data, seed=1)
    trained = report.check("trained")
    assert trained.diagnosis == "too_slow" and "over its 300 s limit" in trained.message
    assert report.check("momentum").status is Status.PASS
