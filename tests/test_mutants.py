"""Every check is proven both ways: the reference passes it, and a mutant wrong in exactly that way fails it.

tests/mutants/expected.yaml lists, per mutant, the checks that fail (with their diagnosis), the checks that
are skipped, and the notes (leniency warnings) the report must carry; every other check must pass. The
corpus runs in the local sandbox and in Docker with the same expectations, so both give the same verdicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from grader import grade_submission
from grader.models import Report, Status
from tests.conftest import MUTANTS, REFERENCE

EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((MUTANTS / "expected.yaml").read_text())
CASES = sorted(EXPECTED)
SEED = 1234


def source_of(name: str) -> Path:
    return REFERENCE if name == "reference" else MUTANTS / f"{name}.py"


def assert_matches(report: Report, expected: dict[str, Any]) -> None:
    fails: dict[str, str] = expected.get("fails") or {}
    skipped: list[str] = expected.get("skipped") or []
    for check in report.checks:
        where = f"{check.id}: {check.status.value} {check.diagnosis} — {check.message}"
        if check.id in fails:
            assert check.status in (Status.FAIL, Status.ERROR, Status.TIMEOUT), where
            assert check.diagnosis == fails[check.id], where
            assert check.hint, where  # every failure carries a hint
            assert check.points == 0
        elif check.id in skipped:
            assert check.status is Status.SKIPPED, where
            assert check.message.startswith("skipped:"), where
        else:
            assert check.status is Status.PASS, where
            assert check.points == check.max_points
    notes = {note.code for note in report.notes}
    for warning in expected.get("warnings") or []:
        assert warning in notes, f"missing note {warning}: {notes}"


def test_corpus_is_large_and_covers_every_check() -> None:
    mutants = [name for name in CASES if name != "reference"]
    assert len(mutants) >= 15
    assert {path.stem for path in MUTANTS.glob("*.py")} == set(mutants)
    failed_checks = {check for name in mutants for check in (EXPECTED[name].get("fails") or {})}
    assert failed_checks >= {"from_scratch", "loads", "shapes", "forward", "stability", "gradients", "momentum",
                             "loss_decrease", "accuracy"}


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_mutant_local(name: str, mnist_data: Path) -> None:
    report = grade_submission(source_of(name), sandbox="local", data_dir=mnist_data, seed=SEED)
    assert_matches(report, EXPECTED[name])


@pytest.mark.docker
@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_mutant_docker(name: str, mnist_data: Path, docker_ready: str) -> None:
    report = grade_submission(source_of(name), sandbox="docker", data_dir=mnist_data, seed=SEED)
    assert report.environment.sandbox == "docker"
    assert_matches(report, EXPECTED[name])
