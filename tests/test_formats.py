"""Output formats: golden files for every format, then each consumer's contract, then the CLI and packaging.

Goldens: two fixed Reports (one full score; one with fail, skipped, timeout, error, a hidden check, notes,
losses and control characters in the logs) rendered in every format and compared with tests/golden/
<case>.<format>.<ext>, and the text report at 80, 100 and 120 columns (<case>.text-<width>.txt). JUnit gets
a fixed `timestamp`; everything else is already deterministic because the Reports carry fixed timings and
versions. Refresh with `pytest tests/test_formats.py --update-goldens`.

Contracts, written from the consumers' sources rather than from our own renderers:
* GitHub Classroom: tests/test_classroom.py (the reporter's arithmetic, run in node).
* Gradescope: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (no official schema exists).
* JUnit: pytest's junit-10.xsd (tests/schemas/) with xmlschema, and junitparser's reading of the counts.

The terminal: every check is one row at 80, 100 and 120 columns; student-controlled text (messages, hints,
notes, file names, logs) is shown as typed, never as rich markup, and without escape sequences in every
format; NaN and inf losses are drawn.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pytest
import xmlschema
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped
from pydantic import BaseModel, ConfigDict, model_validator
from rich.cells import cell_len

from grader.cli import main
from grader.models import CheckResult, Environment, Note, Report, StageTiming, Status
from grader.report import FORMATS, render
from grader.report.junit import render_junit
from grader.report.text import MARK, render_text, sparkline
from tests.conftest import REFERENCE

GOLDEN = Path(__file__).parent / "golden"
JUNIT_XSD = Path(__file__).parent / "schemas" / "junit-10.xsd"
FIXED_TIMESTAMP = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
EXTENSION = {"text": "txt", "json": "json", "github-classroom": "env", "gradescope": "json", "junit": "xml"}


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


# --------------------------------------------------------------------------- the terminal

WIDTHS = (80, 100, 120)


@pytest.mark.parametrize("case", sorted(REPORTS))
@pytest.mark.parametrize("width", WIDTHS)
def test_text_golden_at_terminal_widths(case: str, width: int, update_goldens: bool) -> None:
    output = render_text(REPORTS[case](), width=width)
    path = GOLDEN / f"{case}.text-{width}.txt"
    if update_goldens:
        path.write_text(output, encoding="utf-8")
        return
    assert output == path.read_text(encoding="utf-8"), f"{path} differs: review, then run pytest --update-goldens"


@pytest.mark.parametrize("case", sorted(REPORTS))
@pytest.mark.parametrize("width", WIDTHS)
def test_text_fits_the_terminal_one_line_per_check(case: str, width: int) -> None:
    report = REPORTS[case]()
    report.submission = "a/very/long/path/" * 12 + "simple_nn.py"
    lines = render_text(report, width=width).splitlines()
    assert max(cell_len(line) for line in lines) <= width
    table = [line for line in lines if line.count("│") == 5 and "│ Check" not in line]  # 4 columns
    assert len(table) == len(report.checks)  # one row per check: nothing wrapped onto a second line
    for row, result in zip(table, report.checks, strict=True):
        assert MARK[result.status] in row and f"{result.points:g}/{result.max_points:g}" in row


def test_text_shows_every_failing_message_in_full_under_what_to_fix() -> None:
    report = mixed_report()
    long = "the message " + "goes on " * 30 + "to its very end"
    report.checks[4] = report.checks[4].model_copy(update={"message": long})
    text = " ".join(render_text(report, width=80).split())  # undo the wrapping
    assert "to its very end" in text and "subtract the row max first" in text


HOSTILE = ("[/] [bold green]Score: 100/100 (pass mark 70) PASSED[/] [link=https://evil.example]click[/link] "
           "\x1b[2J\x1b[H\x1b]52;c;ZXZpbA==\x07\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ "
           "\x1b[32mgreen\x1b[0m "
           "\x9b31m \x00\x07\x08 :smile: done")


def hostile_report() -> Report:
    """Student-controlled text everywhere: messages, hints, notes, the file name, stdout and stderr."""
    report = mixed_report()
    report.submission = f"sub/{HOSTILE}.py"
    report.notes = [Note(code="class_renamed", message=HOSTILE)]
    report.checks = [result.model_copy(update={"message": HOSTILE, "hint": HOSTILE if result.hint else ""})
                     for result in report.checks]
    report.stdout = report.stderr = HOSTILE
    return report


@pytest.mark.parametrize("color", [False, True])
def test_text_never_interprets_student_text(color: bool) -> None:
    output = render_text(hostile_report(), color=color, width=120)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # our own colours, when asked for
    assert "[/] [bold green]Score: 100/100 (pass mark 70) PASSED[/]" in plain  # shown as typed
    assert "[link=https://evil.example]click[/link]" in plain
    assert ":smile:" in plain
    escapes = set(re.findall(r"\x1b\[[0-9;]*[A-Za-z]", output))
    assert escapes <= ({"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1;31m",
                        "\x1b[1;32m", "\x1b[1;33m"} if color else set())
    assert not re.search("[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]", output)
    assert "\x1b]" not in output  # no hyperlink (OSC 8), no clipboard write (OSC 52)
    # The only verdict line is ours, and it is red.
    verdicts = [line for line in plain.splitlines() if line.startswith("Score:")]
    assert verdicts == ["Score: 30/100 (pass mark 70) NOT PASSED  [12.3 s, seed 42]"]


@pytest.mark.parametrize("fmt", ["junit", "gradescope", "json"])
def test_machine_formats_carry_no_escape_sequences(fmt: str) -> None:
    output = renderer(fmt)(hostile_report())
    text = json.loads(output) if fmt != "junit" else output
    flat = json.dumps(text, ensure_ascii=False) if fmt != "junit" else text
    if fmt == "json":  # the JSON report is the record: exact, escapes included (JSON-escaped, not raw)
        assert "\x1b" not in output
        return
    assert "\x1b" not in flat and "\\u001b" not in flat and "\x07" not in flat
    assert "here" in flat and "[bold green]Score: 100/100" in flat


@pytest.mark.parametrize("losses", [[float("nan")] * 3, [2.3, float("nan"), float("inf"), 0.5],
                                    [1e308, -1e308, 0.0], [float("-inf"), 1.0], [5.0]])
def test_non_finite_losses_are_drawn_not_crashed(losses: list[float]) -> None:
    report = full_report()
    report.losses = losses
    for fmt in FORMATS:
        renderer(fmt)(report)
    line = next(line for line in render_text(report).splitlines() if line.startswith("loss per epoch"))
    assert len(sparkline(losses)) == len(losses)
    assert ("×" in line) == any(not math.isfinite(v) for v in losses)
    assert Report.model_validate_json(renderer("json")(report)).losses[-1] == pytest.approx(losses[-1], nan_ok=True)


def test_sparkline_scales_finite_values() -> None:
    assert sparkline([3.0, 2.0, 1.0]) == "█▄▁"
    assert sparkline([1.0, 1.0]) == "▁▁"
    assert sparkline([float("nan"), 1.0, 0.0]) == "×█▁"


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
        lines = dict(line.split("=", 1) for line in text.splitlines())
        runners = lines.pop("NNGRADER_RUNNERS").split(",")
        documents = [json.loads(base64.b64decode(lines[f"{name.upper()}_RESULTS"])) for name in runners]
        assert sum(document["max_score"] for document in documents) == 100
    elif fmt == "gradescope":
        assert GradescopeResults.model_validate_json(text).tests
    else:
        junit_schema.validate(text)
