"""Batch grading: discovery of every layout, the gradebook files, resume, failures and Ctrl-C.

Discovery and gradebook tests are fast and need nothing. Tests marked `mnist` grade for real with the
local sandbox and --quick (scores do not matter there, statuses and bookkeeping do); in CI (CI=true)
missing MNIST fails them instead of skipping.
"""

from __future__ import annotations

import ast
import csv
import importlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader import submission as submission_module
from grader.batch import BatchEvent, StudentRecord, Submission, grade_batch
from grader.batch import runner as runner_module
from grader.batch.discover import classroom_students, discover, student_id
from grader.cli import main
from grader.models import Report
from grader.sandbox.local import running_stages
from tests.conftest import REFERENCE, ROOT, STARTER

discover_module = importlib.import_module("grader.batch.discover")  # `grader.batch.discover` is the function
REFERENCE_CODE = REFERENCE.read_text()
STARTER_CODE = STARTER.read_text()
# Two bugs students make, written inline so the test does not depend on tests/mutants/.
SUM_NOT_MEAN = REFERENCE_CODE.replace("dz2 = (probs - y) / n", "dz2 = (probs - y)")
NO_MAX_SHIFT = REFERENCE_CODE.replace("z2 = z2 - z2.max(axis=1, keepdims=True)", "pass")
HELPER = "def relu(x):\n    return x\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My digits")] +
                                        [nbformat.v4.new_code_cell(cell) for cell in cells])
    nbformat.write(notebook, str(path))
    return path


def reference_notebook(path: Path) -> Path:
    """The reference split into cells, with the line magics and shell lines notebooks are full of."""
    class_code = REFERENCE_CODE[REFERENCE_CODE.index("class SimpleNN"):REFERENCE_CODE.index('if __name__')]
    return make_notebook(path, ["%matplotlib inline\n!pip install numpy\nimport numpy as np", class_code,
                                "%%time\nmodel = SimpleNN()\nmodel.train(X, Y)"])


def make_zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def by_student(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["student"]: row for row in rows}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------------------------- discovery
def graded_files(submission: Submission) -> list[str]:
    """The files of a submission's clean copy in the work folder, relative and sorted."""
    assert submission.path is not None, submission.error
    return sorted(path.relative_to(submission.path).as_posix() for path in submission.path.rglob("*")
                  if path.is_file())


def test_one_file_per_student(tmp_path: Path) -> None:
    write(tmp_path / "alice.py", REFERENCE_CODE)
    write(tmp_path / "bob.py", STARTER_CODE)
    write(tmp_path / "README.md", "not a submission")
    write(tmp_path / ".hidden.py", REFERENCE_CODE)
    found = discover(tmp_path, work_dir=tmp_path / "work")
    assert [(s.student, s.origin, s.path, s.entry) for s in found] == [
        ("alice", "file", tmp_path / "work" / "alice", "alice.py"),
        ("bob", "file", tmp_path / "work" / "bob", "bob.py")]
    assert (tmp_path / "work" / "alice" / "alice.py").read_text() == REFERENCE_CODE
    assert graded_files(found[0]) == ["alice.py"]  # bob.py is another student, never alice's module


def test_a_folder_is_graded_as_a_folder_with_its_helper_modules(tmp_path: Path) -> None:
    write(tmp_path / "carol" / "src" / "network.py", REFERENCE_CODE)
    write(tmp_path / "carol" / "utils.py", HELPER)
    write(tmp_path / "carol" / "train_script.py", "import numpy as np\nprint('training')\n")
    write(tmp_path / "carol" / "__pycache__" / "x.py", REFERENCE_CODE)  # caches never count
    write(tmp_path / "carol" / "data.csv", "1,2,3")
    [found] = discover(tmp_path, work_dir=tmp_path / "work")
    assert (found.student, found.origin, found.error, found.entry) == ("carol", "folder", None, "src/network.py")
    assert graded_files(found) == ["src/network.py", "train_script.py", "utils.py"]
    assert "graded src/network.py (2 other .py files available to import)" in found.notes


def test_folder_with_one_file_that_is_not_a_network_is_still_graded(tmp_path: Path) -> None:
    write(tmp_path / "dan" / "solution.py", "this is not python (\n")
    [found] = discover(tmp_path, work_dir=tmp_path / "work")
    assert found.entry == "solution.py" and found.error is None  # the report will say "syntax error"


def test_ambiguous_folder_is_an_error_naming_the_candidates(tmp_path: Path) -> None:
    write(tmp_path / "eve" / "v1.py", REFERENCE_CODE)
    write(tmp_path / "eve" / "v2.py", STARTER_CODE)
    [found] = discover(tmp_path, work_dir=tmp_path / "work")
    assert found.path is None and found.error is not None
    assert "v1.py" in found.error and "v2.py" in found.error and "--entry" in found.error


def test_the_entry_option_picks_the_file_in_every_folder(tmp_path: Path) -> None:
    write(tmp_path / "eve" / "v1.py", REFERENCE_CODE)
    write(tmp_path / "eve" / "simple_nn.py", STARTER_CODE)
    make_zip(tmp_path / "fay.zip", {"hw/simple_nn.py": STARTER_CODE, "hw/other.py": REFERENCE_CODE})
    write(tmp_path / "gus.py", REFERENCE_CODE)  # a single file is its own entry
    found = {s.student: s for s in discover(tmp_path, work_dir=tmp_path / "work", entry="simple_nn.py")}
    assert (found["eve"].entry, found["fay"].entry, found["gus"].entry) == ("simple_nn.py", "hw/simple_nn.py",
                                                                          "gus.py")


def test_github_classroom_folders_become_usernames(tmp_path: Path) -> None:
    for user in ("alice", "bob", "mary-jane"):
        write(tmp_path / f"digits-{user}" / "simple_nn.py", REFERENCE_CODE)
    write(tmp_path / "zed" / "simple_nn.py", REFERENCE_CODE)
    found = {s.student: s for s in discover(tmp_path, work_dir=tmp_path / "work")}
    assert sorted(found) == ["alice", "bob", "mary-jane", "zed"]
    assert found["mary-jane"].origin == "classroom" and found["zed"].origin == "folder"
    assert found["alice"].source == tmp_path / "digits-alice" and found["alice"].entry == "simple_nn.py"


def test_classroom_prefix_rules() -> None:
    assert classroom_students(["mnist-digits-ann", "mnist-digits-bo"]) == {"mnist-digits-ann": "ann",
                                                                          "mnist-digits-bo": "bo"}
    assert classroom_students(["digits-alice"]) == {}  # a lone folder's prefix is unknowable
    assert classroom_students(["alice", "bob"]) == {}


def test_zip_is_read_safely(tmp_path: Path) -> None:
    classdir = tmp_path / "class"
    classdir.mkdir()
    make_zip(classdir / "bob.zip", {
        "bob/simple_nn.py": REFERENCE_CODE, "bob/helpers.py": HELPER, "__MACOSX/bob/._simple_nn.py": "junk",
        "../escaped.py": "print('zip slip')", "/abs_path.py": "print('absolute')"})
    with zipfile.ZipFile(classdir / "bob.zip", "a") as archive:  # a symlink entry pointing out of the work dir
        link = zipfile.ZipInfo("bob/link.py")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    [found] = discover(classdir, work_dir=tmp_path / "work")
    assert (found.student, found.origin, found.error, found.entry) == ("bob", "zip", None, "bob/simple_nn.py")
    assert graded_files(found) == ["bob/helpers.py", "bob/simple_nn.py"]
    notes = " | ".join(found.notes)
    assert "skipped paths leaving the archive: ../escaped.py" in notes
    assert "skipped absolute paths: /abs_path.py" in notes and "skipped symbolic links: bob/link.py" in notes
    assert not (tmp_path / "escaped.py").exists() and not list((tmp_path / "work").rglob("escaped.py"))


def test_zip_bombs_and_floods_are_invalid_submissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "class").mkdir()
    make_zip(tmp_path / "class" / "big.zip", {"simple_nn.py": REFERENCE_CODE + "#" * 5000})
    make_zip(tmp_path / "class" / "many.zip", {f"f{i}.py": "" for i in range(30)})
    write(tmp_path / "class" / "broken.zip", "this is not a zip archive")
    monkeypatch.setattr(submission_module, "MAX_SOURCE_BYTES", 4000)
    monkeypatch.setattr(submission_module, "MAX_SCANNED", 20)
    found = {s.student: s.error or "" for s in discover(tmp_path / "class", work_dir=tmp_path / "work")}
    assert "simple_nn.py: expands to more than 4000 bytes" in found["big"]
    assert "30 members (limit 20)" in found["many"]
    assert "not a readable zip archive" in found["broken"]


def test_notebook_code_cells_without_magics(tmp_path: Path) -> None:
    (tmp_path / "class").mkdir()
    make_notebook(tmp_path / "class" / "carol.ipynb", [
        "%matplotlib inline\n!pip install numpy\nimport numpy as np",
        REFERENCE_CODE[REFERENCE_CODE.index("class SimpleNN"):REFERENCE_CODE.index("if __name__")],
        "%%time\nfor i in range(3):\n    print(i)",
        "if True:\n    !ls\nx = 1"])
    [found] = discover(tmp_path / "class", work_dir=tmp_path / "work")
    assert (found.student, found.origin, found.error, found.entry) == ("carol", "notebook", None, "carol.py")
    assert found.path is not None and found.path.is_relative_to(tmp_path / "work")
    code = (found.path / "carol.py").read_text()
    ast.parse(code)  # dropping an indented `!ls` must leave valid Python (it becomes `pass`)
    assert "%matplotlib" not in code and "%%time" not in code and "!pip" not in code and "!ls" not in code
    assert "print(i)" not in code  # a %% cell magic drops its whole cell
    assert "class SimpleNN" in code
    assert "dropped 6 magic/shell lines" in found.notes  # 2 + the 3-line %%time cell + `!ls`


def test_broken_notebook_is_an_error_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path / "class" / "dora.ipynb", "{ not json")
    [found] = discover(tmp_path / "class", work_dir=tmp_path / "work")
    assert found.path is None and "not a readable Jupyter notebook" in (found.error or "")


def test_entries_that_would_share_an_id_get_ids_of_their_own(tmp_path: Path) -> None:
    write(tmp_path / "alice.py", REFERENCE_CODE)
    make_zip(tmp_path / "Alice.zip", {"simple_nn.py": STARTER_CODE})
    write(tmp_path / "bob smith.py", REFERENCE_CODE)
    write(tmp_path / "bob_smith.py", STARTER_CODE)
    found = {s.student: s for s in discover(tmp_path, work_dir=tmp_path / "work")}
    assert sorted(found) == ["Alice.zip", "alice.py", "bob_smith.py", "bob_smith.py-2"]
    assert found["alice.py"].flags == ["student id collision: Alice.zip, alice.py would all be 'Alice'; graded "
                                       "separately as Alice.zip, alice.py"]
    assert (found["bob_smith.py"].source.name, found["bob_smith.py-2"].source.name) == ("bob smith.py",
                                                                                        "bob_smith.py")
    work_folders = {s.path for s in found.values()}
    assert len(work_folders) == 4  # never one work folder for two students
    assert (found["Alice.zip"].path / "simple_nn.py").read_text() == STARTER_CODE  # type: ignore[operator]


def test_entries_whose_work_folders_used_to_clash_stay_apart(tmp_path: Path) -> None:
    make_zip(tmp_path / "ann.lee.zip", {"simple_nn.py": REFERENCE_CODE})
    make_zip(tmp_path / "ann_lee.zip", {"simple_nn.py": STARTER_CODE})
    reference_notebook(tmp_path / "eve.ipynb")
    write(tmp_path / "eve_ipynb" / "simple_nn.py", STARTER_CODE)
    found = {s.student: s for s in discover(tmp_path, work_dir=tmp_path / "work")}
    assert sorted(found) == ["ann.lee", "ann_lee", "eve", "eve_ipynb"]
    assert len({s.path for s in found.values()}) == 4
    assert (tmp_path / "work" / "ann.lee" / "simple_nn.py").read_text() == REFERENCE_CODE
    assert (tmp_path / "work" / "ann_lee" / "simple_nn.py").read_text() == STARTER_CODE
    assert graded_files(found["eve"]) == ["eve.py"] and graded_files(found["eve_ipynb"]) == ["simple_nn.py"]


def test_output_folder_inside_the_class_folder_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "alice.py", REFERENCE_CODE)
    write(tmp_path / "results" / "reports" / "x.py", REFERENCE_CODE)
    found = discover(tmp_path, work_dir=tmp_path / "results" / "work", exclude=[tmp_path / "results"])
    assert [s.student for s in found] == ["alice"]


def test_the_digest_covers_every_graded_file(tmp_path: Path) -> None:
    write(tmp_path / "carol" / "model.py", "from utils import relu\n" + REFERENCE_CODE)
    write(tmp_path / "carol" / "utils.py", HELPER)
    [before] = discover(tmp_path, work_dir=tmp_path / "work")
    write(tmp_path / "carol" / "utils.py", HELPER + "# changed\n")
    [after] = discover(tmp_path, work_dir=tmp_path / "work")
    assert before.digest != after.digest  # --resume regrades a student whose helper module changed


def test_a_grader_bug_while_reading_one_entry_does_not_stop_discovery(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "class" / "ann.py", REFERENCE_CODE)
    write(tmp_path / "class" / "ben.py", REFERENCE_CODE)
    real = discover_module.collect

    def collect(path: Path, **kwargs: object) -> object:
        if path.name == "ben.py":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(discover_module, "collect", collect)
    found = {s.student: s for s in discover(tmp_path / "class", work_dir=tmp_path / "work")}
    assert found["ann"].error is None
    assert found["ben"].error == "could not be read (unexpected RecursionError: maximum recursion depth exceeded)"


@pytest.mark.parametrize(("name", "expected"), [("alice", "alice"), ("=HYPERLINK(x)", "HYPERLINK_x_"),
                                                ("../../etc", "etc"), ("bob smith", "bob_smith"), ("...", "student")])
def test_student_ids_are_safe_file_names(name: str, expected: str) -> None:
    assert student_id(name) == expected


# ------------------------------------------------------------------------------------------- real batches
def mixed_class(root: Path) -> Path:
    """reference, starter, two buggy variants, a notebook, a zip and an ambiguous folder."""
    write(root / "ref.py", REFERENCE_CODE)
    write(root / "starter.py", STARTER_CODE)
    write(root / "summer.py", SUM_NOT_MEAN)
    write(root / "overflow.py", NO_MAX_SHIFT)
    reference_notebook(root / "nb.ipynb")
    make_zip(root / "zipped.zip", {"hw/simple_nn.py": REFERENCE_CODE, "hw/README.md": "hi"})
    write(root / "twofiles" / "a.py", REFERENCE_CODE)
    write(root / "twofiles" / "b.py", REFERENCE_CODE)
    return root


@pytest.mark.mnist
def test_cli_batch_of_a_mixed_class(tmp_path: Path, mnist_data: Path) -> None:
    classdir = mixed_class(tmp_path / "class")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(classdir), "--out", str(out), "--jobs", "2", "--sandbox", "local",
                                       "--data-dir", str(mnist_data), "--quick",
                                       "--canvas-assignment", "Digit recognizer (42)"])
    assert result.exit_code == 0, result.output
    assert "7/7 submissions" in result.stdout
    assert "1 invalid submission(s), 0 grader error(s)" in result.stdout
    rows = by_student(read_csv(out / "grades.csv"))
    assert sorted(rows) == ["nb", "overflow", "ref", "starter", "summer", "twofiles", "zipped"]
    for student in ("ref", "nb", "zipped"):
        assert rows[student]["forward_status"] == "pass" and rows[student]["gradients_status"] == "pass"
    assert rows["starter"]["forward_status"] == "fail"
    assert rows["summer"]["gradients_status"] == "fail" and rows["summer"]["forward_status"] == "pass"
    assert rows["overflow"]["stability_status"] == "fail"
    assert rows["twofiles"]["score"] == "" and "a.py" in rows["twofiles"]["error"]
    assert rows["twofiles"]["status"] == "invalid_submission" and rows["ref"]["status"] == "graded"
    canvas = read_csv(out / "canvas.csv")
    assert canvas[0]["Student"] == "Points Possible" and len(canvas) == 8
    page = (out / "summary.html").read_text()
    for student in rows:
        assert f">{student}<" in page
    record = StudentRecord.model_validate_json((out / "reports" / "nb.json").read_text())
    assert "dropped 5 magic/shell lines" in record.submission.notes


def small_class(root: Path) -> Path:
    write(root / "ann.py", REFERENCE_CODE)
    write(root / "ben.py", SUM_NOT_MEAN)
    write(root / "cy.py", STARTER_CODE)
    return root


def graded_students(events: list[BatchEvent]) -> list[str]:
    return sorted(e.record.student for e in events if e.kind == "done" and e.record is not None)


@pytest.mark.mnist
def test_resume_regrades_only_what_is_missing(tmp_path: Path, mnist_data: Path) -> None:
    classdir, out = small_class(tmp_path / "class"), tmp_path / "out"
    events: list[BatchEvent] = []
    kwargs = dict(out_dir=out, sandbox="local", data_dir=mnist_data, quick=True, jobs=2, progress=events.append)
    first = grade_batch(classdir, **kwargs)  # type: ignore[arg-type]
    assert graded_students(events) == ["ann", "ben", "cy"] and first.graded_now == 3
    gradebook = (out / "grades.csv").read_text()
    (out / "reports" / "ben.json").unlink()
    events.clear()
    second = grade_batch(classdir, resume=True, **kwargs)  # type: ignore[arg-type]
    assert graded_students(events) == ["ben"]
    assert (second.graded_now, second.reused) == (1, 2)
    assert (out / "grades.csv").read_text() == gradebook  # per-student seeds: the same grades again
    write(classdir / "cy.py", REFERENCE_CODE)  # a new submission invalidates its stored report
    events.clear()
    grade_batch(classdir, resume=True, **kwargs)  # type: ignore[arg-type]
    assert graded_students(events) == ["cy"]


@pytest.mark.mnist
def test_a_crash_for_one_student_does_not_stop_the_others(tmp_path: Path, mnist_data: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    classdir, out = small_class(tmp_path / "class"), tmp_path / "out"
    real = runner_module.grade_submission

    def flaky(path: Path, **kwargs: object) -> Report:
        if kwargs.get("student") == "ben":
            raise RuntimeError("grader bug")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module, "grade_submission", flaky)
    result = grade_batch(classdir, out_dir=out, sandbox="local", data_dir=mnist_data, quick=True, jobs=2)
    records = {r.student: r for r in result.records}
    assert records["ben"].status == "grader_error" and records["ben"].retry
    assert "unexpected RuntimeError: grader bug" in (records["ben"].error or "")
    assert records["ann"].status == records["cy"].status == "graded"
    monkeypatch.setattr(runner_module, "grade_submission", real)
    events: list[BatchEvent] = []
    grade_batch(classdir, out_dir=out, sandbox="local", data_dir=mnist_data, quick=True, resume=True,
                progress=events.append)
    assert graded_students(events) == ["ben"]  # a failed grading is retried on --resume


@pytest.mark.mnist
def test_interrupt_keeps_what_is_done_and_exits_130(tmp_path: Path, mnist_data: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    classdir, out = small_class(tmp_path / "class"), tmp_path / "out"
    write(classdir / "dee.py", REFERENCE_CODE)
    from grader.batch.progress import LineProgress

    original = LineProgress.__call__

    def interrupt_after_first(self: LineProgress, event: BatchEvent) -> None:
        original(self, event)
        if event.kind == "done":
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread

    monkeypatch.setattr(LineProgress, "__call__", interrupt_after_first)
    result = CliRunner().invoke(main, ["batch", str(classdir), "--out", str(out), "--jobs", "1", "--sandbox", "local",
                                       "--data-dir", str(mnist_data), "--quick"])
    assert result.exit_code == 130, result.output
    assert "interrupted: 1/4 submissions" in result.stdout
    assert len(read_csv(out / "grades.csv")) == 1 and len(list((out / "reports").glob("*.json"))) == 1
    assert not running_stages()  # no local stage of this process is left


@pytest.mark.mnist
def test_sigint_stops_a_running_batch_without_leftovers(tmp_path: Path, mnist_data: Path) -> None:
    """A real Ctrl-C (SIGINT) while full gradings run: exit 130, no stage process, no work folder left."""
    classdir, out, scratch = small_class(tmp_path / "class"), tmp_path / "out", tmp_path / "tmp"
    # dee's train() never returns: the batch cannot be over before the signal, however fast the others are
    write(classdir / "dee.py", REFERENCE_CODE + "\n\nimport time as _time\n\n\ndef _forever(self, *a, **k):\n"
          "    while True:\n        _time.sleep(1)\n\n\nSimpleNN.train = _forever\n")
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}  # stage folders land in `scratch`
    process = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(classdir), "--out", str(out),
                                "--jobs", "2", "--sandbox", "local", "--data-dir", str(mnist_data)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(scratch.glob("nngrader-*/train")):
        assert process.poll() is None and time.monotonic() < deadline, "no training stage seen"
        time.sleep(0.1)  # wait until a training stage is running
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and (out / "grades.csv").is_file() and (out / "summary.html").is_file()
    leftovers = subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout.split()
    assert leftovers == [] and list(scratch.iterdir()) == []


@pytest.mark.mnist
@pytest.mark.docker
def test_docker_batch(tmp_path: Path, mnist_data: Path, docker_ready: str) -> None:
    classdir, out = small_class(tmp_path / "class"), tmp_path / "out"
    result = grade_batch(classdir, out_dir=out, sandbox=docker_ready, data_dir=mnist_data, quick=True, jobs=2)
    assert [r.status for r in result.records] == ["graded"] * 3, [r.error for r in result.records]
    rows = by_student(read_csv(out / "grades.csv"))
    assert rows["ann"]["gradients_status"] == "pass" and rows["ben"]["gradients_status"] == "fail"
    assert all(r.report is not None and r.report.environment.sandbox == "docker" for r in result.records)


@pytest.mark.mnist
def test_cli_batch_with_a_roster_and_an_entry(tmp_path: Path, mnist_data: Path) -> None:
    """Classroom clones joined to a Canvas export: canvas.csv carries Canvas ids; the unmatched are listed."""
    classdir, out = tmp_path / "class", tmp_path / "out"
    for user in ("ann", "bo", "stranger"):
        write(classdir / f"digits-{user}" / "simple_nn.py", REFERENCE_CODE)
        write(classdir / f"digits-{user}" / "experiments.py", REFERENCE_CODE)  # ambiguous without --entry
    roster = write(tmp_path / "canvas_export.csv",
                   "Student,ID,SIS User ID,SIS Login ID,Section,Digits (42),github_username\n"
                   "    Points Possible,,,,,100,\n"
                   '"Lee, Ann",1001,S-1,ann@uni.edu,A,,Ann\n"Ray, Bo",1002,S-2,bo@uni.edu,B,,@bo\n'
                   '"Ng, Cy",1003,S-3,cy@uni.edu,A,,cy\n')
    result = CliRunner().invoke(main, ["batch", str(classdir), "--out", str(out), "--sandbox", "local", "--quick",
                                       "--data-dir", str(mnist_data), "--roster", str(roster), "--entry",
                                       "simple_nn.py", "--canvas-assignment", "Digits (42)"])
    assert result.exit_code == 0, result.output
    assert "not on the roster (1): stranger" in result.stdout
    assert "roster rows without a submission (1): Ng, Cy (cy)" in result.stdout
    canvas = read_csv(out / "canvas.csv")
    assert [(row["Student"], row["ID"], row["SIS Login ID"], row["Section"]) for row in canvas[1:]] == [
        ("Lee, Ann", "1001", "ann@uni.edu", "A"), ("Ray, Bo", "1002", "bo@uni.edu", "B")]
    grades = by_student(read_csv(out / "grades.csv"))
    assert grades["ann"]["name"] == "Lee, Ann" and grades["stranger"]["notes"] == "not on the roster"
    assert all(row["status"] == "graded" for row in grades.values())
    page = (out / "summary.html").read_text()
    assert "Roster rows without a submission" in page and "Ng, Cy (cy)" in page


@pytest.mark.mnist
def test_folders_are_graded_with_their_helper_modules(tmp_path: Path, mnist_data: Path) -> None:
    """A sibling import, a package-relative import, and a zip with a helper: each helper reaches the sandbox."""
    classdir = tmp_path / "class"
    helper = "import numpy as np\n\ndef relu(x):\n    return np.maximum(0, x)\n"

    def importing(line: str) -> str:  # the reference with an import of a local module, after __future__
        future = "from __future__ import annotations\n"
        return REFERENCE_CODE.replace(future, future + line + "\n", 1)

    write(classdir / "sib" / "simple_nn.py", importing("from utils import relu"))
    write(classdir / "sib" / "utils.py", helper)
    write(classdir / "pkg" / "hw" / "__init__.py", "")
    write(classdir / "pkg" / "hw" / "model.py", importing("from .utils import relu"))
    write(classdir / "pkg" / "hw" / "utils.py", helper)
    make_zip(classdir / "zipped.zip", {"hw/simple_nn.py": importing("import layers"), "hw/layers.py": helper})
    result = grade_batch(classdir, out_dir=tmp_path / "out", sandbox="local", data_dir=mnist_data, quick=True, jobs=2)
    rows = by_student(read_csv(tmp_path / "out" / "grades.csv"))
    for student in ("sib", "pkg", "zipped"):
        assert rows[student]["loads_status"] == rows[student]["forward_status"] == "pass", (student, rows[student])
    assert {r.student: r.submission.entry for r in result.records} == {"pkg": "hw/model.py",
                                                                      "sib": "simple_nn.py",
                                                                      "zipped": "hw/simple_nn.py"}
