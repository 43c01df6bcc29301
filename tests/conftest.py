"""Shared fixtures. Real MNIST and a real Docker engine: in CI (CI=true) missing ones FAIL, never skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference_solution" / "simple_nn.py"
STARTER = ROOT / "starter" / "simple_nn.py"
MUTANTS = ROOT / "tests" / "mutants"


def mutant_source(name: str) -> str:
    """The complete source of mutant `name`, built from its base and edit in tests/mutants/corpus.yaml."""
    from tests.corpus import Corpus

    return Corpus(MUTANTS / "corpus.yaml").source(name)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI (a missing dependency there is a broken pipeline), skip on a laptop."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required)", pytrace=False)
    pytest.skip(reason)


def find_mnist() -> Path:
    candidates = [os.environ.get("NNGRADER_TEST_DATA_DIR"), os.environ.get("NNGRADER_DATA_DIR"),
                  str(ROOT.parent / "shared" / "data" / "mnist")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").is_file():
            return Path(candidate)
    unavailable("MNIST not found: set NNGRADER_TEST_DATA_DIR to a folder with the four .gz files")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def mnist_data() -> Path:
    """The real MNIST folder (the four IDX .gz files)."""
    return find_mnist()


@pytest.fixture(scope="session")
def docker_ready() -> str:
    """'docker' when an engine answers and the grading image exists; else fail (CI) or skip."""
    try:
        from grader.sandbox.docker import DockerSandbox

        DockerSandbox()
    except Exception as exc:  # noqa: BLE001 - any reason Docker cannot run is the same verdict here
        unavailable(f"Docker sandbox unavailable: {exc}")
    return "docker"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="Rewrite tests/golden/* from the current renderers instead of comparing with them.")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when pytest ran with --update-goldens: golden-file tests rewrite their files."""
    return bool(request.config.getoption("--update-goldens"))
