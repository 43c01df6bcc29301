"""Output formats: golden files for every format, then each consumer's contract, then the CLI and packaging.

Goldens: two fixed Reports (one full score; one with fail, skipped, timeout, error, a hidden check, notes,
losses and control characters in the logs) rendered in every format and compared with tests/golden/
<case>.<format>.<ext>. JUnit gets a fixed `timestamp`; everything else is already deterministic because
the Reports carry fixed timings and versions. Refresh with `pytest tests/test_formats.py --update-goldens`.

Contracts, written from the consumers' sources rather than from our own renderers:
* GitHub Classroom: classroom-resources/autograding-grading-reporter v1 (dist/main.js): decode, fields,
  points = Σ tests[].score / Σ max_score.
* Gradescope: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (no official schema exists).
* JUnit: pytest's junit-10.xsd (tests/schemas/) with xmlschema, and junitparser's reading of the counts.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pytest
import xmlschema
import yaml
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.cli import main
from grader.errors import GraderError
from grader.gradescope_package import build_autograder_zip
from grader.models import CheckResult, Environment, Note, Report, StageTiming, Status
from grader.report import FORMATS, render
from grader.report.github_classroom import HIDDEN_FEEDBACK, points
from grader.report.junit import render_junit
from grader.rubric import builtin_rubrics
from tests.conftest import REFERENCE, ROOT

GOLDEN = Path(__file__).parent / "golden"
JUNIT_XSD = Path(__file__).parent / "schemas" / "junit-10.xsd"
WORKFLOW = ROOT / "starter" / ".github" / "workflows" / "classroom.yml"
FIXED_TIMESTAMP = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
EXTENSION = {"text": "txt", "json": "json", "github-classroom": "b64", "gradescope": "json", "junit": "xml"}


# --------------------------------------------------------------------------- fixed reports


def environment(*, seed: int) -> Environment:
    return Environment(
        grader_version="0.1.0", python_version="3.11.7", numpy_version="2.1.0", sandbox="docker",
        sandbox_image="nngrader-sandbox:0.1.0", seed=seed, rubric_id="mini_challenge", rubric_sha256="a" * 64,
        submission_sha256="b" * 64,
        stages=[StageTiming(stage="load", status="ok", duration_s=0.8, sandbox_s=0.5),
                StageTiming(stage="probe", status="ok", duration_s=1.2, sandbox_s=0.5),
                StageTiming(stage="train", status="ok", duration_s=9.5, sandbox_s=0.5)],
        total_s=12.345)


def check(check_id: str, title: str, status: Status, max_points: float, message: str, *, hint: str = "",
          diagnosis: str | None = None, visibility: str = "visible", duration_s: float = 0.25,
          details: dict[str, float | int | str | bool | None] | None = None) -> CheckResult:
    return CheckResult(id=check_id, title=title, status=status,
                       points=max_points if status is Status.PASS else 0.0, max_points=max_points,
                       message=message, hint=hint, diagnosis=diagnosis, visibility=visibility,
                       duration_s=duration_s, details=details or {})


def full_report() -> Report:
    """Every check passes; the accuracy check measured 97.12%."""
    checks = [
        check("from_scratch", "Only NumPy and the standard library", Status.PASS, 5,
              "only NumPy and the standard library are imported", duration_s=0.002),
        check("loads", "File imports and SimpleNN() builds", Status.PASS, 5, "class SimpleNN imported and built"),
        check("shapes", "Parameter shapes", Status.PASS, 5, "W1 (784, 64), b1 (1, 64), W2 (64, 10), b2 (1, 10)"),
        check("forward", "Forward pass (ReLU + softmax)", Status.PASS, 15,
              "matches ReLU + softmax (max abs error 1.4e-17)"),
        check("stability", "Softmax is numerically stable", Status.PASS, 5,
              "finite and correct with logits around 2000"),
        check("gradients", "Gradients of the mean cross-entropy", Status.PASS, 20,
              "all 4 gradients match (largest relative error 3.1e-09; returned as dict)"),
        check("momentum", "SGD with momentum", Status.PASS, 10,
              "each update carries about 0.90 of the previous one (momentum)", visibility="hidden"),
        check("loss_decrease", "Loss decreases during training", Status.PASS, 10, "loss fell from 2.448 to 0.275"),
        check("accuracy", "Test accuracy above 90%", Status.PASS, 25, "test accuracy 97.12% (goal > 90%)",
              duration_s=9.5, details={"accuracy": 0.9712}),
    ]
    return Report(submission="simple_nn.py", score=100, max_score=100, passed=True, pass_mark=70, checks=checks,
                  losses=[0.412, 0.201, 0.153, 0.126, 0.108, 0.095, 0.085, 0.077, 0.07, 0.064],
                  environment=environment(seed=1234))


def mixed_report() -> Report:
    """Fail, skipped, timeout and error checks; a hidden check; notes; logs with control characters."""
    checks = [
        check("from_scratch", "Only NumPy and the standard library", Status.PASS, 5,
              "only NumPy and the standard library are imported"),
        check("loads", "File imports and SimpleNN() builds", Status.PASS, 5, "class MyNet imported and built"),
        check("shapes", "Parameter shapes", Status.PASS, 5, "W1 (784, 64), b1 (64,), W2 (64, 10), b2 (10,)"),
        check("forward", "Forward pass (ReLU + softmax)", Status.PASS, 15,
              "matches ReLU + softmax (max abs error 2.2e-16)"),
        check("stability", "Softmax is numerically stable", Status.FAIL, 5,
              "NaN/inf in the probabilities when logits are around 2000",
              hint="Softmax overflows for large logits: subtract the row max first, "
                   "z - z.max(axis=1, keepdims=True), before np.exp.", diagnosis="softmax_overflow"),
        check("gradients", "Gradients of the mean cross-entropy", Status.ERROR, 20,
              "backward() crashed: the probe stage ran out of memory (limit 2048 MB)",
              hint="The sandbox stopped your code: see the message (memory, output or process limits).",
              diagnosis="sandbox_error"),
        check("momentum", "SGD with momentum", Status.FAIL, 10,
              "updates carry 0.00 of the previous one (plain SGD)",
              hint="The updates are plain SGD: keep a velocity per parameter, v = beta * v - lr * grad; "
                   "W += v (beta about 0.9).", diagnosis="no_momentum", visibility="hidden"),
        check("loss_decrease", "Loss decreases during training", Status.TIMEOUT, 10,
              "train() did not finish within 300 s", hint="It ran past the time limit: look for an infinite loop.",
              diagnosis="timeout", duration_s=300.5),
        check("accuracy", "Test accuracy above 90%", Status.SKIPPED, 25,
              "skipped: 'loss_decrease' did not pass (train() did not finish within 300 s)"),
    ]
    notes = [Note(code="class_renamed", message="no class SimpleNN; graded MyNet instead (the only class with "
                                                "forward, backward and train)"),
             Note(code="bias_shape_1d", message="biases have shape (n,) instead of (1, n): accepted")]
    return Report(submission="submissions/s123/my_nn.py", student="s123", score=30, max_score=100, passed=False,
                  pass_mark=70, checks=checks, notes=notes, losses=[2.302, 1.95, 1.71],
                  stdout="epoch 1 loss 2.302\n\x1b[31mwarning\x1b[0m \x00 <done> & more\n",
                  stderr="RuntimeWarning: overflow encountered in exp\n", environment=environment(seed=42))


REPORTS: dict[str, Callable[[], Report]] = {"full": full_report, "mixed": mixed_report}


def renderer(fmt: str) -> Callable[[Report], str]:
    """The format's renderer, with JUnit's timestamp pinned so the golden file is stable."""
    if fmt == "junit":
        return partial(render_junit, timestamp=FIXED_TIMESTAMP)
    return partial(render, fmt=fmt)


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("case", sorted(REPORTS))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(fmt: str, case: str, update_goldens: bool) -> None:
    output = renderer(fmt)(REPORTS[case]())
    path = GOLDEN / f"{case}.{fmt}.{EXTENSION[fmt]}"
    if update_goldens:
        path.parent.mkdir(exist_ok=True)
        path.write_text(output, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run pytest --update-goldens"
    assert output == path.read_text(encoding="utf-8"), f"{path} differs: review, then run pytest --update-goldens"


def test_every_format_has_goldens() -> None:
    assert set(EXTENSION) == set(FORMATS)


# --------------------------------------------------------------------------- GitHub Classroom contract


class ReporterTest(BaseModel):
    """One entry of `tests`, as the reporter's dist/main.js reads it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: Literal["pass", "fail", "error"]
    score: int | float
    message: str
    test_code: str
    filename: str
    line_no: Literal[0]  # anything but 0 prints "name - line N"
    execution_time: int | float


class ReporterPayload(BaseModel):
    """The decoded `result` output of a grader step."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    status: Literal["pass", "fail", "error"]
    max_score: float = Field(gt=0)  # 0 or missing: the reporter leaves the runner out of the points
    tests: list[ReporterTest] = Field(min_length=1)


def decode_like_reporter(encoded: str) -> ReporterPayload:
    """Buffer.from(value, 'base64').toString('utf-8') then JSON.parse, then the field contract."""
    return ReporterPayload.model_validate(json.loads(base64.b64decode(encoded, validate=True).decode("utf-8")))


@pytest.mark.parametrize("case", sorted(REPORTS))
def test_github_classroom_contract(case: str) -> None:
    report = REPORTS[case]()
    encoded = FORMATS["github-classroom"](report)
    assert "\n" not in encoded  # one line: it goes to $GITHUB_OUTPUT as result=<value>
    payload = decode_like_reporter(encoded)
    # NotifyClassroom: "Points Σscore/Σmax" is what Classroom records.
    assert sum(test.score for test in payload.tests) == report.score
    assert payload.max_score == report.max_score
    assert payload.status == ("pass" if report.passed else ("error" if case == "mixed" else "fail"))
    for test, result in zip(payload.tests, report.checks, strict=True):
        assert test.score == (result.max_points if test.status == "pass" else 0)
        assert (test.status == "pass") == (result.status is Status.PASS)
        assert test.filename == report.submission


def test_github_classroom_status_mapping_and_hidden_feedback() -> None:
    payload = decode_like_reporter(FORMATS["github-classroom"](mixed_report()))
    by_name = {test.name: test for test in payload.tests}
    assert by_name["Softmax is numerically stable"].status == "fail"
    assert by_name["Gradients of the mean cross-entropy"].status == "error"
    assert by_name["Loss decreases during training"].status == "fail"  # timeout
    assert by_name["Test accuracy above 90%"].status == "fail"  # skipped
    # The reporter prints `message` only for errors, `test_code` for all: failing feedback must be in it.
    assert "subtract the row max" in by_name["Softmax is numerically stable"].test_code
    errored = by_name["Gradients of the mean cross-entropy"]
    assert "out of memory" in errored.message and errored.test_code == ""  # printed once, as "Error: ..."
    hidden = by_name["SGD with momentum"]
    assert hidden.message == hidden.test_code == HIDDEN_FEEDBACK


@pytest.mark.parametrize(("value", "expected"), [(5.0, 5), (2.5, 2.5), (0.1 + 0.2, 0.3), (1 / 3, 0.33)])
def test_github_classroom_points_are_rounded(value: float, expected: float) -> None:
    assert points(value) == expected
    assert isinstance(points(value), int) == float(expected).is_integer()


REPORTER_JS = """
// The reporter's decoding and point sums (classroom-resources/autograding-grading-reporter@v1, dist/main.js).
const runners = process.env.INPUT_RUNNERS.split(",").map((e) => {
  const t = process.env[`${e.trim().toUpperCase()}_RESULTS`];
  return { runner: e, results: JSON.parse(Buffer.from(t, "base64").toString("utf-8")) };
});
const { totalPoints, maxPoints } = runners.reduce((acc, { results }) => {
  if (results.max_score) {
    acc.maxPoints += results.max_score;
    results.tests.forEach(({ score }) => { acc.totalPoints += score; });
  }
  return acc;
}, { totalPoints: 0, maxPoints: 0 });
console.log(`Points ${totalPoints}/${maxPoints}`);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
@pytest.mark.parametrize("case", sorted(REPORTS))
def test_github_classroom_points_in_node(case: str) -> None:
    """JavaScript's own base64, JSON and float sums give the Report's score, printed as Classroom records it."""
    report = REPORTS[case]()
    env = {"PATH": os.environ["PATH"], "INPUT_RUNNERS": "nngrader",
           "NNGRADER_RESULTS": FORMATS["github-classroom"](report)}
    out = subprocess.run(["node", "-e", REPORTER_JS], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"Points {report.score:g}/{report.max_score:g}"


def test_classroom_workflow() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["name"] == "Autograding Tests"  # the reporter looks the check run up by this name
    assert "on" in workflow  # quoted: a bare `on` would be YAML's True
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grade = next(step for step in steps if step.get("id") == "nngrader")
    assert "--format github-classroom" in grade["run"] and '"$GITHUB_OUTPUT"' in grade["run"]
    assert "--sandbox docker" in grade["run"]
    assert any("nngrader image build --online" in step.get("run", "") for step in steps)
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = reporter["with"]["runners"].split(",")
    assert all(re.fullmatch(r"[a-zA-Z0-9]+", runner) for runner in runners)  # the reporter's own check
    for runner in runners:  # env name as the reporter builds it: `${runner.trim().toUpperCase()}_RESULTS`
        assert reporter["env"][f"{runner.strip().upper()}_RESULTS"] == f"${{{{steps.{runner}.outputs.result}}}}"


# --------------------------------------------------------------------------- Gradescope contract

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
TextFormat = Literal["text", "simple_format", "html", "md", "ansi"]


class GradescopeTest(BaseModel):
    """One test case of results.json (every field is optional in the spec)."""

    model_config = ConfigDict(extra="forbid")

    score: float | None = None
    max_score: float | None = None
    status: Literal["passed", "failed"] | None = None
    name: str | None = None
    name_format: TextFormat | None = None
    number: str | None = None
    output: str | None = None
    output_format: TextFormat | None = None
    tags: list[str] | None = None
    visibility: Visibility | None = None
    extra_data: dict[str, Any] | None = None


class LeaderboardEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    value: float | str
    order: Literal["asc", "desc"] | None = None


class GradescopeResults(BaseModel):
    """results.json per the Gradescope autograder specification."""

    model_config = ConfigDict(extra="forbid")

    score: float | None = None
    execution_time: float | None = None
    output: str | None = None
    output_format: TextFormat | None = None
    test_output_format: TextFormat | None = None
    test_name_format: TextFormat | None = None
    visibility: Visibility | None = None
    stdout_visibility: Visibility | None = None
    extra_data: dict[str, Any] | None = None
    tests: list[GradescopeTest] | None = None
    leaderboard: list[LeaderboardEntry] | None = None

    @model_validator(mode="after")
    def _score_somewhere(self) -> GradescopeResults:
        # "score: optional, but required if not on each test case"
        if self.score is None and not (self.tests and all(test.score is not None for test in self.tests)):
            raise ValueError("no top-level score and not every test has one")
        return self


@pytest.mark.parametrize("case", sorted(REPORTS))
def test_gradescope_contract(case: str) -> None:
    report = REPORTS[case]()
    results = GradescopeResults.model_validate_json(FORMATS["gradescope"](report))
    assert results.tests is not None
    assert results.score == report.score == sum(test.score or 0 for test in results.tests)
    assert sum(test.max_score or 0 for test in results.tests) == report.max_score
    assert results.stdout_visibility == "hidden"
    for test, result in zip(results.tests, report.checks, strict=True):
        assert test.status == ("passed" if result.status is Status.PASS else "failed")
        assert test.visibility == ("after_published" if result.visibility == "hidden" else "visible")
        assert result.message in (test.output or "") and result.hint in (test.output or "")
    expected_board = [LeaderboardEntry(name="Accuracy", value=0.9712)] if case == "full" else None
    assert results.leaderboard == expected_board


def test_gradescope_no_leaderboard_for_a_preview() -> None:
    report = full_report()
    report.environment.quick = True
    assert "leaderboard" not in json.loads(FORMATS["gradescope"](report))


# --------------------------------------------------------------------------- JUnit contract


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JUNIT_XSD))


@pytest.mark.parametrize("case", sorted(REPORTS))
def test_junit_valid_and_counts(case: str, junit_schema: xmlschema.XMLSchema) -> None:
    report = REPORTS[case]()
    text = renderer("junit")(report)
    junit_schema.validate(text)
    suites = list(JUnitXml.fromstring(text))
    assert len(suites) == 1
    suite = suites[0]
    statuses = [result.status for result in report.checks]
    assert suite.name == "nngrader.mini_challenge"
    assert suite.tests == len(report.checks)
    assert suite.failures == statuses.count(Status.FAIL) + statuses.count(Status.TIMEOUT)
    assert suite.errors == statuses.count(Status.ERROR)
    assert suite.skipped == statuses.count(Status.SKIPPED)
    kinds = {Status.PASS: None, Status.FAIL: Failure, Status.TIMEOUT: Failure, Status.ERROR: Error,
             Status.SKIPPED: Skipped}
    for case_element, result in zip(suite, report.checks, strict=True):
        assert case_element.name == result.id
        found = [type(outcome) for outcome in case_element.result]
        assert found == ([kinds[result.status]] if kinds[result.status] else [])
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert properties["score"] == f"{report.score:g}" and properties["seed"] == str(report.environment.seed)


def test_junit_default_timestamp_is_now() -> None:
    text = FORMATS["junit"](full_report())
    stamp = datetime.fromisoformat(re.search(r'timestamp="([^"]+)"', text).group(1))  # type: ignore[union-attr]
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)


# --------------------------------------------------------------------------- Gradescope autograder zip


def test_autograder_zip_layout(tmp_path: Path) -> None:
    dest = build_autograder_zip(tmp_path / "autograder.zip")
    with zipfile.ZipFile(dest) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert set(infos) == {"setup.sh", "run_autograder", "rubric.yaml", "nngrader.env"}  # all at the root
        for name in ("setup.sh", "run_autograder"):
            assert (infos[name].external_attr >> 16) & 0o111 == 0o111, f"{name} is not executable"
            assert archive.read(name).startswith(b"#!/usr/bin/env bash\n")
        assert archive.read("rubric.yaml") == builtin_rubrics()["mini_challenge"].read_bytes()
        settings = archive.read("nngrader.env").decode()
    assert "export NNGRADER_PIP_SPEC=nngrader\n" in settings
    assert "export NNGRADER_CLASS_NAME=SimpleNN\n" in settings
    assert build_autograder_zip(tmp_path / "again.zip").read_bytes() == dest.read_bytes()  # reproducible


def test_autograder_zip_with_grader_source(tmp_path: Path) -> None:
    dest = build_autograder_zip(tmp_path / "a.zip", rubric_path="deep_variant", grader_source=ROOT)
    with zipfile.ZipFile(dest) as archive:
        names = set(archive.namelist())
        settings = archive.read("nngrader.env").decode()
    assert {"grader_source/pyproject.toml", "grader_source/grader/__init__.py"} <= names
    # Only what pip needs: the reference solution must not reach the container the submission runs in.
    assert not any(name.startswith(("grader_source/reference_solution", "grader_source/tests")) for name in names)
    assert "export NNGRADER_PIP_SPEC=/autograder/source/grader_source\n" in settings
    assert "export NNGRADER_CLASS_NAME=DeepNN\n" in settings


def test_autograder_zip_rejects_missing_grader_source(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="no such file"):
        build_autograder_zip(tmp_path / "a.zip", grader_source=tmp_path / "nope")


def autograder_root(tmp_path: Path, submission: dict[str, str], **settings: str) -> Path:
    """A fake /autograder: the zip extracted to source/, the submitted files in submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_autograder_zip(tmp_path / "autograder.zip")) as archive:
        archive.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    with open(root / "source" / "nngrader.env", "a") as env:  # test overrides, sourced after the real ones
        env.writelines(f"export {name}='{value}'\n" for name, value in settings.items())
    (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).write_text(text)
    return root


def run_autograder(root: Path, nngrader_bin: str) -> GradescopeResults:
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "NNGRADER_BIN": nngrader_bin}
    subprocess.run([str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True)
    return GradescopeResults.model_validate_json((root / "results" / "results.json").read_text())


@pytest.mark.skipif(shutil.which("bash") is None, reason="run_autograder is a bash script")
def test_run_autograder_writes_results_when_the_grader_crashes(tmp_path: Path) -> None:
    crash = tmp_path / "crash"
    crash.write_text(r"""#!/bin/sh
printf 'Traceback:\n  boom "quoted" \\ tab\tend\n' >&2
exit 3
""")
    crash.chmod(0o755)
    root = autograder_root(tmp_path, {"simple_nn.py": "class SimpleNN:\n    pass\n"})
    results = run_autograder(root, str(crash))
    assert results.score == 0
    assert "(exit 3): Traceback:\n  boom \"quoted\" \\ tabend" in (results.output or "")


@pytest.mark.skipif(shutil.which("bash") is None, reason="run_autograder is a bash script")
def test_run_autograder_without_a_python_file(tmp_path: Path) -> None:
    root = autograder_root(tmp_path, {"notes.txt": "I forgot the code"})
    results = run_autograder(root, "/bin/false")
    assert results.score == 0 and "class SimpleNN" in (results.output or "")


@pytest.mark.mnist
@pytest.mark.slow
def test_run_autograder_grades_the_reference(tmp_path: Path, mnist_data: Path) -> None:
    nngrader = shutil.which("nngrader")
    assert nngrader is not None
    submission = {"helpers.py": "X = 1\n", "simple_nn.py": REFERENCE.read_text()}
    root = autograder_root(tmp_path, submission, NNGRADER_DATA_DIR=str(mnist_data),
                           NNGRADER_CACHE_DIR=os.environ.get("NNGRADER_CACHE_DIR", str(tmp_path / "cache")))
    results = run_autograder(root, nngrader)
    assert results.score == 100 and results.extra_data is not None and results.extra_data["passed"] is True


# --------------------------------------------------------------------------- CLI


@pytest.mark.mnist
@pytest.mark.parametrize("fmt", ["github-classroom", "gradescope", "junit"])
def test_cli_check_formats(fmt: str, mnist_data: Path, tmp_path: Path, junit_schema: xmlschema.XMLSchema) -> None:
    out = tmp_path / f"report.{EXTENSION[fmt]}"
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local", "--quick", "--seed", "3",
                                       "--data-dir", str(mnist_data), "--format", fmt, "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    text = out.read_text()
    if fmt == "github-classroom":
        assert decode_like_reporter(text).max_score == 100
    elif fmt == "gradescope":
        assert GradescopeResults.model_validate_json(text).tests
    else:
        junit_schema.validate(text)


def test_cli_gradescope_package(tmp_path: Path) -> None:
    spec = "nngrader @ git+https://example.org/course/nngrader.git@v1; python_version >= '3.10'"
    out = tmp_path / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope", "package", "--out", str(out), "--pip-spec", spec])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        archive.extract("nngrader.env", tmp_path)
    # The scripts `source` this file: the spec must come back exactly, spaces, quotes and all.
    sourced = subprocess.run(["bash", "-c", 'source "$1"; printf %s "$NNGRADER_PIP_SPEC"', "_",
                              str(tmp_path / "nngrader.env")], capture_output=True, text=True, check=True)
    assert sourced.stdout == spec


def test_cli_gradescope_package_bad_rubric(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["gradescope", "package", "--out", str(tmp_path / "a.zip"),
                                       "--rubric", "no_such_rubric"])
    assert result.exit_code == 2
    assert "Error: rubric 'no_such_rubric' not found" in result.output
