"""grade_submission end to end in the local sandbox: the reference, the starter, broken stages, --quick."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import grade_submission
from grader.errors import SubmissionError
from grader.models import Report, Status
from grader.rubric import load_rubric
from tests.conftest import REFERENCE, STARTER

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def reference_report(mnist_data: Path) -> Report:
    return grade_submission(REFERENCE, sandbox="local", data_dir=mnist_data, seed=7)


def test_reference_gets_full_score(reference_report: Report) -> None:
    assert reference_report.score == reference_report.max_score == 100
    assert reference_report.passed
    assert reference_report.check("accuracy").details["accuracy"] >= 0.97  # type: ignore[operator]
    assert len(reference_report.losses) == 10 and reference_report.losses[-1] < reference_report.losses[0]


def test_report_json_round_trips_through_the_model(reference_report: Report) -> None:
    assert Report.model_validate_json(reference_report.model_dump_json()) == reference_report
    env = reference_report.environment
    assert env.seed == 7 and env.rubric_id == "mini_challenge" and len(env.rubric_sha256) == 64
    assert [stage.stage for stage in env.stages] == ["load", "probe", "train"]


def test_starter_says_forward_returned_none(mnist_data: Path) -> None:
    report = grade_submission(STARTER, sandbox="local", data_dir=mnist_data, seed=7)
    assert report.check("forward").status is Status.FAIL
    assert "forward() returned None" in report.check("forward").message
    assert report.check("gradients").status is Status.SKIPPED
    assert "Forward pass" in report.check("gradients").message  # names the check it could not do without
    assert report.check("trained").diagnosis == "not_observable"  # the starter's train() is a stub
    assert report.check("accuracy").status is Status.SKIPPED
    assert not report.passed


def _with_train(tmp_path: Path, body: str) -> Path:
    """The reference solution with its train() replaced by `body`."""
    source = REFERENCE.read_text().replace("    def train(self", "    def _unused_train(self")
    path = tmp_path / "submission.py"
    path.write_text(source + "\n\ndef _train(self, X_train, y_train, epochs=10):\n" + body
                    + "\n\nSimpleNN.train = _train\n")
    return path


def test_infinite_loop_in_train_keeps_earlier_points(tmp_path: Path, mnist_data: Path) -> None:
    """A train() that hangs is stopped when it makes no progress, once: the graded run is not even started."""
    path = _with_train(tmp_path, "    while True:\n        pass\n")
    rubric = load_rubric()
    rubric.rubric.limits.stall_s = 3
    report = grade_submission(path, rubric=rubric, sandbox="local", data_dir=mnist_data, seed=7, speculate=False)
    momentum = report.check("momentum")
    assert momentum.status is Status.TIMEOUT and momentum.diagnosis == "stalled"
    assert "no progress for 3 s" in momentum.message
    for check_id in ("trained", "loss_decrease", "accuracy"):
        assert report.check(check_id).status is Status.SKIPPED
        assert "momentum probe" in report.check(check_id).message
    assert report.check("gradients").status is Status.PASS  # earned before train ran
    assert report.score == 55  # loads, from_scratch, shapes, forward, stability, gradients
    assert [stage.stage for stage in report.environment.stages] == ["load", "probe"]


def test_crash_in_train_is_reported_once_with_the_line(tmp_path: Path, mnist_data: Path) -> None:
    path = _with_train(tmp_path, "    return [1 / 0]\n")
    report = grade_submission(path, sandbox="local", data_dir=mnist_data, seed=7)
    trained = report.check("trained")
    assert trained.status is Status.FAIL and trained.diagnosis == "train_failed"
    assert "ZeroDivisionError" in trained.message and "line" in trained.message
    assert report.check("accuracy").status is Status.SKIPPED  # not a second penalty for the same crash


def test_quick_preview_is_labelled(mnist_data: Path) -> None:
    report = grade_submission(REFERENCE, sandbox="local", data_dir=mnist_data, seed=7, quick=True)
    assert report.environment.quick
    assert any(note.code == "quick_preview" for note in report.notes)
    assert "preview" in report.check("accuracy").message
    assert report.check("gradients").status is Status.PASS


def test_missing_file_is_a_grader_error(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="No such file"):
        grade_submission(tmp_path / "missing.py", sandbox="local")


def test_test_labels_never_enter_a_stage_folder(tmp_path: Path, mnist_data: Path) -> None:
    report = grade_submission(REFERENCE, sandbox="local", data_dir=mnist_data, seed=3, quick=True,
                              keep_workdir=True)
    assert report.score == 100
    workdirs = sorted(Path("/tmp").glob("nngrader-*"), key=lambda p: p.stat().st_mtime)
    names = {path.name for path in workdirs[-1].rglob("*")}
    assert not any("test_labels" in name or "t10k-labels" in name for name in names)


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_speculative_training_is_cancelled_when_not_needed(tmp_path: Path, mnist_data: Path, sandbox: str,
                                                           request: pytest.FixtureRequest) -> None:
    """Training starts beside load/probe; when forward fails its checks are skipped and the run is killed."""
    if sandbox == "docker":
        request.getfixturevalue("docker_ready")
    path = tmp_path / "submission.py"
    path.write_text(STARTER.read_text() + "\n\ndef _train(self, X_train, y_train, epochs=10):\n"
                    "    while True:\n        pass\n\n\nSimpleNN.train = _train\n")
    rubric = load_rubric()
    rubric.rubric.limits.probe_timeout_s = 5  # the momentum probe calls the looping train() too
    report = grade_submission(path, rubric=rubric, sandbox=sandbox, data_dir=mnist_data, seed=7, timeout_s=600)
    assert report.check("forward").diagnosis == "returned_none"
    assert report.check("momentum").diagnosis in ("stalled", "timeout")
    assert report.check("accuracy").status is Status.SKIPPED
    train = [stage for stage in report.environment.stages if stage.stage == "train"]
    assert [stage.status for stage in train] == ["cancelled"]  # killed, not waited for until its 600 s limit
