"""Every check is proven both ways: the reference passes it, and a mutant wrong in exactly that way fails it.

tests/mutants/corpus.yaml holds each mutant as a base (the reference, the starter or a student's solution)
plus its edit, beside the checks that fail (with their diagnosis), the checks that are skipped, and the
notes (leniency warnings) the report must carry; every other check must pass. Each case is built into a
complete file in tmp_path and graded in the local sandbox and in Docker with the same expectations, so
both give the same verdicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader import grade_submission
from grader.models import Report, Status
from tests.conftest import MUTANTS, REFERENCE, STARTER
from tests.corpus import Corpus

CORPUS = Corpus(MUTANTS / "corpus.yaml")
EXPECTED: dict[str, dict[str, Any]] = {name: CORPUS.expect(name) for name in CORPUS.names}
CASES = sorted(EXPECTED)
SEED = 1234
EXPECT_KEYS = {"fails", "skipped", "warnings"}


def source_of(name: str, folder: Path) -> Path:
    """The reference itself, or the mutant built into `folder`."""
    return REFERENCE if name == "reference" else CORPUS.write(name, folder)


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
    assert len(mutants) >= 35
    assert not list(MUTANTS.glob("*.py")), "cases live in corpus.yaml, built into tmp_path when graded"
    for name in CASES:
        assert set(EXPECTED[name]) <= EXPECT_KEYS, f"{name}: unknown keys {set(EXPECTED[name]) - EXPECT_KEYS}"
    failed_checks = {check for name in mutants for check in (EXPECTED[name].get("fails") or {})}
    assert failed_checks >= {"from_scratch", "loads", "shapes", "forward", "stability", "gradients", "momentum",
                             "trained", "loss_decrease", "accuracy"}


@pytest.mark.parametrize("name", CASES)
def test_every_case_builds(name: str, tmp_path: Path) -> None:
    """Each edit applies to its base (Corpus raises otherwise) and changes the code, not only the docstring."""
    built = CORPUS.write(name, tmp_path)
    base = {"reference": REFERENCE, "starter": STARTER}.get(CORPUS.base_of(name))
    if name == "reference" or name == "starter_copy":
        assert base is not None and code_of(built.read_text()) == code_of(base.read_text())
    elif base is not None:
        assert code_of(built.read_text()) != code_of(base.read_text()), f"{name} grades its base unchanged"
    if "syntax_error" not in (EXPECTED[name].get("fails") or {}).values():
        compile(built.read_text(), str(built), "exec")


def code_of(source: str) -> str:
    """The source without its module docstring (the part a case's description replaces)."""
    return source[source.index('"""', 3) + 3:].lstrip()


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_mutant_local(name: str, mnist_data: Path, tmp_path: Path) -> None:
    report = grade_submission(source_of(name, tmp_path), sandbox="local", data_dir=mnist_data, seed=SEED)
    assert_matches(report, EXPECTED[name])


@pytest.mark.docker
@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_mutant_docker(name: str, mnist_data: Path, docker_ready: str, tmp_path: Path) -> None:
    report = grade_submission(source_of(name, tmp_path), sandbox="docker", data_dir=mnist_data, seed=SEED)
    assert report.environment.sandbox == "docker"
    assert_matches(report, EXPECTED[name])
