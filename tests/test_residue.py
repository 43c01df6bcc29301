"""The repository carries nothing of the machine it was built on: no absolute machine paths, no bulky files.

Shared data is found relative to the checkout (../shared/data/mnist) or through NNGRADER_TEST_DATA_DIR /
NNGRADER_DATA_DIR; raw benchmark samples stay in the gitignored benchmarks/raw/, and only their summaries
(benchmarks/summaries/) are committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

# A home or work folder of some machine: the project's own, root's, a user's (Linux and macOS).
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home/[\w.-]+|Users/[\w.-]+)/")
MAX_BYTES = 200 * 1024


def absolute(*parts: str) -> str:
    """An absolute path built from parts, so that this file does not hold the paths it looks for."""
    return "/" + "/".join(parts)


# Paths inside a container image, not of any machine: (file, the exact text), each with its reason.
CONTAINER_PATHS = {
    # The Gradescope attack searches the autograder image, where the grader runs as root.
    ("tests/test_gradescope_e2e.py", absolute("root", ".cache", "**", "*labels*")),
}


def tracked_files() -> list[Path]:
    """Every file git tracks in this checkout that exists in the working tree."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / name for name in listed.decode().split("\0") if name]
    return [path for path in paths if path.is_file()]


def test_no_tracked_file_names_a_machine_path() -> None:
    found = []
    for path in tracked_files():
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_bytes().decode(errors="replace").splitlines(), 1):
            for allowed in (text for where, text in CONTAINER_PATHS if where == name):
                line = line.replace(allowed, "")
            if MACHINE_PATH.search(line):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert found == [], "absolute machine paths (use a path relative to the checkout or an environment " \
                        "variable):\n" + "\n".join(found)


def test_no_tracked_file_is_over_200_kb() -> None:
    bulky = [f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB" for path in tracked_files()
             if path.stat().st_size > MAX_BYTES]
    assert bulky == [], "files over 200 KB (raw data belongs in a gitignored folder):\n" + "\n".join(bulky)


@pytest.mark.parametrize("text", [absolute("work", "shared", "data", "mnist"), f"'{absolute('root', '.cache')}'",
                                  absolute("home", "alice", "x"), absolute("Users", "bob", "mnist", "")])
def test_the_pattern_finds_machine_paths(text: str) -> None:
    assert MACHINE_PATH.search(text)


@pytest.mark.parametrize("text", ["../shared/data/mnist", "/tmp/hostile-canary-nngrader.txt", "/usr/lib/python3",
                                  "framework/x", "~/work/notes", "/in/request.json"])
def test_the_pattern_leaves_other_paths_alone(text: str) -> None:
    assert not MACHINE_PATH.search(text)
