"""One student never stops a batch: a class folder holding every attack on discovery still gets a complete
gradebook, and the honest students in it keep their scores.

The class is generated into tmp_path and graded for real (--sandbox local, and Docker; --quick; the real MNIST).
Each hostile entry has its exact expected status and message; `--resume` then reuses every record.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import REFERENCE, STARTER
from tests.test_batch import SUM_NOT_MEAN, make_zip, reference_notebook, write
from tests.test_submission import deep  # noqa: F401 - the fixture that makes (and removes) 1,100-level trees

REFERENCE_CODE = REFERENCE.read_text()
LATIN1_NAME = b"jos\xe9.py"  # josé.py written by a Windows or old Mac zip tool: not UTF-8


def latin1(folder: Path, name: bytes = LATIN1_NAME) -> Path:
    return Path(os.fsdecode(bytes(folder) + b"/" + name))


def honest_class(root: Path) -> Path:
    write(root / "ann.py", REFERENCE_CODE)
    write(root / "ben.py", SUM_NOT_MEAN)
    return root


def hostile_class(root: Path, make_deep: Callable[[Path, int], Path]) -> Path:
    """Two honest students, and beside them every entry that used to stop a batch or mix students up."""
    honest_class(root)
    write(make_deep(root / "deep", 1100) / "simple_nn.py", REFERENCE_CODE)  # nothing within reach
    write(root / "deepish" / "simple_nn.py", REFERENCE_CODE)  # gradable, with a deep tree beside it
    make_deep(root / "deepish", 1100)
    make_zip(root / "deepzip.zip", {"/".join(["d"] * 1100) + "/simple_nn.py": REFERENCE_CODE})
    os.mkfifo(root / "zed.py")  # opening it would block the batch forever
    write(root / "fifo_inside" / "simple_nn.py", REFERENCE_CODE)
    os.mkfifo(root / "fifo_inside" / "utils.py")
    write(latin1(root), REFERENCE_CODE)
    write(latin1(root / "latin"), REFERENCE_CODE)  # the only file has an undecodable name
    write(root / "bomb.py", "x = " + "+".join(["1"] * 150_000) + "\n" + REFERENCE_CODE)
    write(root / "bombhelper" / "simple_nn.py", REFERENCE_CODE)
    write(root / "bombhelper" / "helper.py", "y = " + "-" * 150_000 + "1\n")
    with zipfile.ZipFile(root / "zbomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("simple_nn.py", REFERENCE_CODE + "#" * 50_000_000)  # 50 MB from about 50 kB
    write(root / "nbbomb.ipynb", "[" * 200_000 + "]" * 200_000)
    (root / "link.py").symlink_to("/etc/passwd")
    for i in range(250):
        write(root / "venv_student" / "lib" / f"m{i}.py", "")
    make_zip(root / "ann.lee.zip", {"hw/simple_nn.py": REFERENCE_CODE})
    make_zip(root / "ann_lee.zip", {"simple_nn.py": STARTER.read_text()})
    reference_notebook(root / "eve.ipynb")
    write(root / "eve_ipynb" / "simple_nn.py", STARTER.read_text())
    write(root / "alice.py", REFERENCE_CODE)
    make_zip(root / "Alice.zip", {"simple_nn.py": STARTER.read_text()})
    write(root / "evil\x1b[2J\x1b]52;c;cGF5bG9hZA==\x07.py", STARTER.read_text())
    return root


INVALID = {
    "deep": "no .py or .ipynb file found; skipped folders deeper than 12 levels: d/d/d/d/d/d/d/d/d/d/d/d/d",
    "deepzip": "no .py or .ipynb file found; skipped folders deeper than 12 levels: d/d/d/d/d/d/d/d/d/d/d/",
    "zed": "zed.py: a FIFO, not a file or folder",
    "latin": "no .py or .ipynb file found; skipped names that are not valid UTF-8: jos\\xe9.py",
    "bomb": "bomb.py: nested too deeply to analyse (more than 200 levels): cannot be graded",
    "bombhelper": "helper.py: nested too deeply to analyse (more than 200 levels): cannot be graded",
    "zbomb": "simple_nn.py: expands to more than 1000000 bytes",
    "nbbomb": "nbbomb.ipynb: not a readable Jupyter notebook",
    "link": "link.py: a symbolic link, not followed",
    "venv_student": "more than 200 .py files: is a virtualenv or a data set included?",
}
GRADED_REFERENCE = ["ann", "deepish", "fifo_inside", "jos_xe9", "ann.lee", "eve", "alice.py"]
GRADED_OTHERS = ["ben", "ann_lee", "eve_ipynb", "Alice.zip", "evil__2J__52_c_cGF5bG9hZA___"]


def batch(classdir: Path, out: Path, mnist: Path, sandbox: str, *more: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(main, ["batch", str(classdir), "--out", str(out), "--sandbox", sandbox, "--quick",
                                       "--jobs", "2", "--data-dir", str(mnist), *more])
    assert result.exception is None and result.exit_code == 0, result.output
    with open(out / "grades.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def outcome(row: dict[str, str]) -> dict[str, str]:
    """A row without its notes: what a student's grade is."""
    return {column: value for column, value in row.items() if column != "notes"}


@pytest.mark.mnist
@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_hostile_class_gets_a_complete_gradebook(tmp_path: Path, mnist_data: Path, sandbox: str,
                                                  request: pytest.FixtureRequest,
                                                  deep: Callable[[Path, int], Path]) -> None:  # noqa: F811
    if sandbox == "docker":
        request.getfixturevalue("docker_ready")
    baseline = {row["student"]: row for row in batch(honest_class(tmp_path / "honest"), tmp_path / "honest_out",
                                                     mnist_data, sandbox)}
    classdir, out = hostile_class(tmp_path / "class", deep), tmp_path / "out"
    rows = {row["student"]: row for row in batch(classdir, out, mnist_data, sandbox)}

    assert sorted(rows) == sorted([*INVALID, *GRADED_REFERENCE, *GRADED_OTHERS])
    for student, message in INVALID.items():
        assert rows[student]["status"] == "invalid_submission", (student, rows[student])
        assert rows[student]["error"].startswith(message), (student, rows[student]["error"])
        assert rows[student]["score"] == ""
    for student in GRADED_REFERENCE + GRADED_OTHERS:
        assert rows[student]["status"] == "graded", (student, rows[student]["error"])
    for student in GRADED_REFERENCE:  # the reference, whatever the layout around it
        assert rows[student]["forward_status"] == rows[student]["gradients_status"] == "pass", student
    for student in ("ann", "ben"):  # the honest students keep their scores
        assert outcome(rows[student]) == outcome(baseline[student])

    assert rows["alice.py"]["notes"] == rows["Alice.zip"]["notes"] == (
        "student id collision: Alice.zip, alice.py would all be 'Alice'; graded separately as Alice.zip, alice.py")
    assert rows["jos_xe9"]["notes"] == "the name is not valid UTF-8: shown as jos\\xe9.py"
    deepish = json.loads((out / "reports" / "deepish.json").read_text())
    assert any(note.startswith("skipped folders deeper than 12 levels") for note in deepish["submission"]["notes"])
    fifo_inside = json.loads((out / "reports" / "fifo_inside.json").read_text())
    assert "skipped FIFOs: utils.py" in fifo_inside["submission"]["notes"]

    page = (out / "summary.html").read_text()
    assert "\x1b" not in page and "\x07" not in page
    for student in rows:
        assert f'href="reports/{student}.json"' in page
    assert sorted(path.name for path in (out / "work").iterdir()) == sorted(GRADED_REFERENCE + GRADED_OTHERS)

    records_before = {path.name: path.read_text() for path in (out / "reports").iterdir()}
    resumed = CliRunner().invoke(main, ["batch", str(classdir), "--out", str(out), "--sandbox", sandbox, "--quick",
                                        "--data-dir", str(mnist_data), "--resume"])
    assert resumed.exit_code == 0 and resumed.exception is None, resumed.output
    assert f"(0 graded now, {len(rows)} reused)" in resumed.stdout
    assert {path.name: path.read_text() for path in (out / "reports").iterdir()} == records_before
