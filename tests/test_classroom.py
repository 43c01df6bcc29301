"""GitHub Classroom: every number the reporter shows is nngrader's score, for every kind of outcome.

The consumer is classroom-resources/autograding-grading-reporter@v1 (dist/main.js, commit d13b591). Its code
is not vendored: REPORTER_JS below is a transcription of what it computes and prints (runner decoding, log
lines, per-runner totals, the summary table, the annotation Classroom records, the step's failure), run
with node exactly as the Actions runner runs the reporter (INPUT_RUNNERS and <RUNNER>_RESULTS in the env).
Set NNGRADER_CLASSROOM_REPORTER to a checkout's dist/main.js to run the same assertions on the real
reporter as well (CI has no copy of it: the reporter is not published on a package registry).

Cases: full score, partial (weights differ: the reporter's passed/total arithmetic would say 88.89 for
90), fractional points, zero, a crash at import (5 points), and a grader error (every check `error`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from grader.models import CheckResult, Report, Status
from grader.report import FORMATS
from grader.report.github_classroom import (
    HIDDEN_FEEDBACK,
    MAX_RUNNER_NAME,
    RUNNERS_ENV,
    classroom_runners,
    points,
    runner_names,
)
from grader.report.grader_error import grader_error_report
from grader.rubric import load_rubric
from tests.conftest import ROOT
from tests.test_formats import check, environment, full_report, mixed_report

WORKFLOW = ROOT / "starter" / ".github" / "workflows" / "classroom.yml"
ACTION = ROOT / "action.yml"
REAL_REPORTER = os.environ.get("NNGRADER_CLASSROOM_REPORTER")

REPORTER_JS = r"""
// What autograding-grading-reporter@v1 (dist/main.js) computes and prints; see the module docstring.
const runnerResults = process.env.INPUT_RUNNERS.split(",").map((runner) => {
  const encoded = process.env[`${runner.trim().toUpperCase()}_RESULTS`];
  return { runner, results: JSON.parse(Buffer.from(encoded, "base64").toString("utf-8")) };
});
const maxScoreOf = (results) => results.max_score || 0;                       // getMaxScoreForTest
const testScoreOf = (results) =>                                               // getTestScore
  (results.tests.reduce((acc, { status }) => (status === "pass" ? acc + 1 : acc), 0) / results.tests.length)
  * (maxScoreOf(results) || 0);
let passedAll = 0, testsAll = 0;                                               // ConsoleResults
runnerResults.forEach(({ runner, results }) => {
  console.log(`Processing: ${runner}`);
  let passed = 0;
  results.tests.forEach((test) => {
    if (test.status === "pass") {
      passed += 1;
      console.log(test.line_no !== 0 ? `✅ ${test.name} - line ${test.line_no}` : `✅ ${test.name}`);
    } else if (test.status === "error") {
      console.log(`Error: ${test.message || `Failed to run test '${test.name}'`}\n`);
    } else {
      console.log(test.line_no !== 0 ? `❌ ${test.name} - line ${test.line_no}` : `❌ ${test.name}`);
    }
    if (test.test_code) console.log(`Test code:\n${test.test_code}\n`);
  });
  passedAll += passed;
  testsAll += results.tests.length;
  if (maxScoreOf(results) !== 0) {
    console.log(`Total points for ${runner}: ${testScoreOf(results).toFixed(2)}/${maxScoreOf(results)}\n`);
  }
});
console.log("Test runner summary");                                           // AggregateResults
const rows = runnerResults.map(({ runner, results }) => [runner.trim(), testScoreOf(results), maxScoreOf(results)]);
rows.forEach(([name, score, max]) => console.log(`│ ${name} │ ${score} │ ${max} │`));
console.log(`│ Total:  │ ${rows.reduce((a, r) => a + r[1], 0)} │ ${rows.reduce((a, r) => a + r[2], 0)} │`);
console.log(`🏆 Grand total tests passed: ${passedAll}/${testsAll}\n`);
const { totalPoints, maxPoints } = runnerResults.reduce((acc, { results }) => {   // NotifyClassroom
  if (!results.max_score) return acc;
  acc.maxPoints += results.max_score;
  results.tests.forEach(({ score }) => { acc.totalPoints += score; });
  return acc;
}, { totalPoints: 0, maxPoints: 0 });
if (maxPoints) {
  console.log(`::notice title=Autograding complete::Points ${totalPoints}/${maxPoints}`);
  console.log(`::notice title=Autograding report::${JSON.stringify({ totalPoints, maxPoints })}`);
}
if (runnerResults.some((r) => r.results.status === "fail")) {                 // main
  console.log("::error::Some tests failed."); process.exitCode = 1;
} else if (runnerResults.some((r) => r.results.status === "error")) {
  console.log("::error::Some tests errored."); process.exitCode = 1;
}
"""

# --------------------------------------------------------------------------- the cases


def zero_report() -> Report:
    """Every check fails or is skipped (the starter's `forward` returns None)."""
    report = mixed_report()
    for i, result in enumerate(report.checks):
        status = Status.FAIL if i < 4 else Status.SKIPPED
        report.checks[i] = result.model_copy(update={"status": status, "points": 0.0})
    report.score, report.passed, report.notes = 0.0, False, []
    return report


def crash_report() -> Report:
    """The submission calls exit() at import: from_scratch passes (5), loads errors, the rest is skipped."""
    report = full_report()
    crashed = "the load stage exited with code 3 before the class was built (exit() at import?)"
    report.checks = [report.checks[0],
                     report.checks[1].model_copy(update={"status": Status.ERROR, "points": 0.0, "message": crashed,
                                                         "hint": "Remove top-level code that exits.",
                                                         "diagnosis": "exited"})]
    report.checks += [result.model_copy(update={"status": Status.SKIPPED, "points": 0.0,
                                                "message": "skipped: 'loads' did not pass"})
                      for result in full_report().checks[2:]]
    report.score, report.passed, report.losses = 5.0, False, []
    return report


def fractional_report() -> Report:
    """Points that are not whole (quarters: binary floats hold them exactly, so JS sums print them exactly)."""
    checks = [check("a", "Check with 2.5 points", Status.PASS, 2.5, "ok"),
              check("b", "Check with 0.25 points", Status.PASS, 0.25, "ok"),
              check("c", "Check with 1.75 points", Status.PASS, 1.75, "ok"),
              check("d", "Check with 7.5 points", Status.FAIL, 7.5, "wrong", hint="fix it")]
    score = float(sum(result.points for result in checks))
    return Report(submission="simple_nn.py", score=score, max_score=float(sum(c.max_points for c in checks)),
                  passed=False, pass_mark=5, checks=checks, environment=environment(seed=7))


def grader_error() -> Report:
    return grader_error_report("image nngrader-grader:0.1.0 missing: run `nngrader image build`",
                               rubric=load_rubric(None), submission="simple_nn.py")


CASES: dict[str, Callable[[], Report]] = {"full": full_report, "partial": mixed_report, "zero": zero_report,
                                          "crash": crash_report, "fractional": fractional_report,
                                          "grader_error": grader_error}


# --------------------------------------------------------------------------- running the reporter


@dataclass
class ReporterLog:
    """What a student and Classroom read from the reporter's output."""

    text: str
    exit_code: int
    runner_totals: dict[str, tuple[float, float]] = field(default_factory=dict)  # "Total points for R: a/b"
    table: dict[str, tuple[float, float]] = field(default_factory=dict)  # summary rows, "Total:" included
    recorded: tuple[float, float] | None = None  # the "Autograding complete" annotation
    test_lines: list[str] = field(default_factory=list)  # ✅ / ❌ / Error: lines


def parse_log(text: str, exit_code: int) -> ReporterLog:
    log = ReporterLog(text=text, exit_code=exit_code)
    for line in text.splitlines():
        if match := re.match(r"Total points for (\w+): ([\d.]+)/([\d.e+-]+)$", line):
            log.runner_totals[match[1]] = (float(match[2]), float(match[3]))
        elif line.startswith("│") and "Test Runner Name" not in line:
            name, score, max_score = (cell.strip() for cell in line.strip("│").split("│"))
            log.table[name] = (float(score), float(max_score))
        elif match := re.match(r"::notice title=Autograding complete::Points (\S+)/(\S+)$", line):
            assert log.recorded is None, "two 'Autograding complete' annotations"
            log.recorded = (float(match[1]), float(match[2]))
        elif re.match(r"(\x1b\[\d+m)?(✅|❌|Error: )", line):
            log.test_lines.append(re.sub(r"\x1b\[\d+m", "", line))
    return log


def run_reporter(env_lines: str, script: str | None = None) -> ReporterLog:
    """Append-to-$GITHUB_ENV lines in, the reporter's log out (the transcription, or a real dist/main.js)."""
    env = {"PATH": os.environ["PATH"]}
    for line in env_lines.splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    env["INPUT_RUNNERS"] = env[RUNNERS_ENV]  # `runners: ${{ env.NNGRADER_RUNNERS }}`
    command = ["node", script] if script else ["node", "-e", REPORTER_JS]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert not done.stderr, done.stderr
    return parse_log(done.stdout, done.returncode)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
REPORTERS = ["transcription", pytest.param("real", marks=pytest.mark.skipif(
    not REAL_REPORTER, reason="set NNGRADER_CLASSROOM_REPORTER to the reporter's dist/main.js"))]


def reporter_script(which: str) -> str | None:
    return REAL_REPORTER if which == "real" else None


# --------------------------------------------------------------------------- the arithmetic


@needs_node
@pytest.mark.parametrize("which", REPORTERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_number_the_reporter_shows_is_the_rubric_score(case: str, which: str) -> None:
    report = CASES[case]()
    log = run_reporter(FORMATS["github-classroom"](report), reporter_script(which))
    names = runner_names([result.id for result in report.checks])
    # What Classroom records.
    assert log.recorded == (report.score, report.max_score)
    # The log: one total per check, its points out of its maximum.
    assert log.runner_totals == {name: (round(result.points, 2), result.max_points)
                                 for name, result in zip(names, report.checks, strict=True) if result.max_points}
    # The summary table: one row per check, then the total, which is the report's score.
    expected_rows = {name: (result.points, result.max_points) for name, result in zip(names, report.checks,
                                                                                          strict=True)}
    assert log.table == {**expected_rows, "Total:": (report.score, report.max_score)}
    # The job is green exactly when the submission passed the rubric.
    assert log.exit_code == (0 if report.passed else 1)


@needs_node
@pytest.mark.parametrize("which", REPORTERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_row_of_the_log_carries_its_check_title(case: str, which: str) -> None:
    report = CASES[case]()
    log = run_reporter(FORMATS["github-classroom"](report), reporter_script(which))
    expected = []
    for result in report.checks:
        if result.status is Status.PASS:
            expected.append(f"✅ {result.title}")
        elif result.status is Status.ERROR:
            expected.append(f"Error: {result.title}: ")
        else:
            expected.append(f"❌ {result.title}")
    assert len(log.test_lines) == len(expected)
    for line, start in zip(log.test_lines, expected, strict=True):
        assert line.startswith(start)


@needs_node
def test_a_grader_error_records_zero_with_the_reason() -> None:
    report = grader_error()
    log = run_reporter(FORMATS["github-classroom"](report))
    assert log.recorded == (0, 100)
    assert len(log.test_lines) == len(report.checks) == len(load_rubric(None).rubric.checks)
    assert all("nngrader could not grade this submission: image nngrader-grader:0.1.0 missing" in line
               for line in log.test_lines)
    assert "::error::Some tests errored." in log.text


@needs_node
def test_student_text_cannot_forge_an_annotation_or_draw_escapes() -> None:
    report = mixed_report()
    forged = ("boom\n::notice title=Autograding complete::Points 100/100\n  ::set-output name=x::y\n"
              "\x1b[32mScore: 100/100 PASSED\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07")
    report.checks[4] = report.checks[4].model_copy(update={"message": forged})
    report.checks[5] = report.checks[5].model_copy(update={"message": forged})
    log = run_reporter(FORMATS["github-classroom"](report))
    assert log.recorded == (30, 100)  # parse_log asserts there is a single "Autograding complete"
    assert not [line for line in log.text.splitlines() if line.lstrip().startswith("::")
                and not line.startswith(("::notice title=Autograding", "::error::Some tests"))]
    assert "\x1b" not in log.text and "\x07" not in log.text
    assert "Score: 100/100 PASSED link" in log.text  # shown as text


# --------------------------------------------------------------------------- the payload


class ReporterTest(BaseModel):
    """One entry of `tests`, as the reporter's dist/main.js reads it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    status: Literal["pass", "fail", "error"]
    score: int | float
    message: str
    test_code: str
    filename: str
    line_no: Literal[0]  # anything but 0 prints "name - line N"
    execution_time: int | float


class ReporterPayload(BaseModel):
    """The decoded `<RUNNER>_RESULTS` of one runner."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    status: Literal["pass", "fail", "error"]
    max_score: float = Field(ge=0)
    tests: list[ReporterTest] = Field(min_length=1, max_length=1)


def decode_env(text: str) -> tuple[list[str], dict[str, ReporterPayload]]:
    """The runner names and each runner's payload, read the way the reporter reads them."""
    lines = dict(line.split("=", 1) for line in text.splitlines())
    names = lines.pop(RUNNERS_ENV).split(",")
    payloads = {name: ReporterPayload.model_validate(json.loads(base64.b64decode(
        lines.pop(f"{name.upper()}_RESULTS"), validate=True).decode("utf-8"))) for name in names}
    assert not lines, f"lines no runner reads: {sorted(lines)}"
    return names, payloads


@pytest.mark.parametrize("case", sorted(CASES))
def test_payload_is_one_runner_per_check_for_github_env(case: str) -> None:
    report = CASES[case]()
    text = FORMATS["github-classroom"](report)
    assert all(re.fullmatch(r"[A-Z0-9_]+=[A-Za-z0-9+/=,]+", line) for line in text.splitlines())
    names, payloads = decode_env(text)
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", ",".join(names))  # the reporter's own pattern
    for name, result in zip(names, report.checks, strict=True):
        payload = payloads[name]
        (test,) = payload.tests
        assert test.name == result.title and payload.max_score == points(result.max_points)
        assert test.score == (points(result.max_points) if result.status is Status.PASS else 0)
        assert payload.status == ("pass" if report.passed else
                                  "error" if any(c.status is Status.ERROR for c in report.checks) else "fail")


def test_failing_feedback_goes_where_the_reporter_prints_it() -> None:
    payloads = classroom_runners(mixed_report())
    by_title = {doc["tests"][0]["name"]: doc["tests"][0] for doc in payloads.values()}
    assert by_title["Softmax is numerically stable"]["status"] == "fail"
    assert "subtract the row max" in by_title["Softmax is numerically stable"]["test_code"]
    errored = by_title["Gradients of the mean cross-entropy"]
    assert errored["status"] == "error" and errored["test_code"] == ""
    assert errored["message"].startswith("Gradients of the mean cross-entropy: backward() crashed")
    assert by_title["Loss decreases during training"]["status"] == "fail"  # timeout
    assert by_title["Test accuracy above 90%"]["status"] == "fail"  # skipped
    hidden = by_title["SGD with momentum"]
    assert hidden["message"] == hidden["test_code"] == HIDDEN_FEEDBACK


@pytest.mark.parametrize(("ids", "expected"), [
    (["from_scratch", "loss_decrease", "accuracy"], ["FromScratch", "LossDecrease", "Accuracy"]),
    (["a_b", "ab"], ["AB", "Ab2"]),  # the env names AB_RESULTS would collide
    (["a_very_long_check_identifier_indeed", "a_very_long_check_identifier_too"],
     ["AVeryLongCheckIden", "AVeryLongCheckIde2"]),
])
def test_runner_names(ids: list[str], expected: list[str]) -> None:
    names = runner_names(ids)
    assert names == expected
    assert all(len(name) <= MAX_RUNNER_NAME for name in names)


@pytest.mark.parametrize(("value", "expected"), [(5.0, 5), (2.5, 2.5), (0.1 + 0.2, 0.3), (1 / 3, 0.33)])
def test_points_are_rounded(value: float, expected: float) -> None:
    assert points(value) == expected
    assert isinstance(points(value), int) == float(expected).is_integer()


def test_a_hidden_error_check_keeps_its_title_but_not_its_details() -> None:
    result = CheckResult(id="x", title="Secret", status=Status.ERROR, points=0, max_points=5, message="leak",
                         visibility="hidden")
    report = full_report()
    report.checks = [result]
    (doc,) = classroom_runners(report).values()
    assert doc["tests"][0]["message"] == f"Secret: {HIDDEN_FEEDBACK}"


# --------------------------------------------------------------------------- workflow and action


def steps_of(document: dict[str, Any], job: str | None = None) -> list[dict[str, Any]]:
    if job is None:
        return list(document["runs"]["steps"])
    return list(document["jobs"][job]["steps"])


def test_starter_workflow_uses_the_action_and_always_reports() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["name"] == "Autograding Tests"  # Classroom looks the check run up by this name
    assert "on" in workflow  # quoted: a bare `on` would be YAML's True
    assert workflow["permissions"]["checks"] == "write"
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = steps_of(workflow, "run-autograding-tests")
    grade = next(step for step in steps if step.get("id") == "nngrader")
    assert re.fullmatch(r"[\w-]+/nngrader@v[\w.]+", grade["uses"])
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["if"] == "always()"  # a failed or cancelled grading still reports (0 with the reason)
    assert reporter["with"]["runners"] == "${{ steps.nngrader.outputs.runners }}"


def test_action_is_composite_installs_itself_and_always_leaves_a_payload() -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"submission", "rubric", "python-version"} <= set(action["inputs"])
    assert set(action["outputs"]) >= {"runners", "score", "max-score", "passed"}
    steps = steps_of(action)
    install = next(step for step in steps if step.get("name", "").startswith("Install nngrader"))
    assert "${{ github.action_path }}" in install["run"]  # its own checkout: no package index for nngrader
    caches = [step for step in steps if str(step.get("uses", "")).startswith("actions/cache")]
    assert len(caches) == 2  # the grading image and MNIST
    final = steps[-1]
    assert final["if"] == "always()" and final["id"] == "result"
    assert "report grader-error" in final["run"]
