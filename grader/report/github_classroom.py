"""--format github-classroom: the runners read by classroom-resources/autograding-grading-reporter@v1.

What the reporter (dist/main.js at v1, commit d13b591) does, for each name in its `runners` input (split on
",", trimmed): it reads env `<NAME upper-cased>_RESULTS`, base64-decodes and JSON-parses it, then

* log: for each test, "✅ name" (status "pass"), "❌ name" (any other status but "error"), or
  "Error: <message>" (status "error": the name is NOT printed); then "Test code:\\n<test_code>" when
  non-empty; then "Total points for NAME: <passed/len(tests) × max_score, 2 decimals>/<max_score>";
* summary table: one row per runner, NAME | passed/len(tests) × max_score | max_score, and a "Total:" row;
* recorded points (the annotation Classroom reads): "Points Σ tests[].score / Σ max_score", over the
  runners whose max_score is not 0;
* the step fails when any runner's top-level `status` is "fail" or "error".

Its log and table count passed tests, not points, so one runner holding every check shows
"88.89/100" while Classroom records 90 (issue 13). Hence the structure:

* **One runner per rubric check**, holding one test: passed/1 × max_score is the check's points or 0,
  equal to that test's score. The log's per-runner totals, the table's rows and total, and the recorded
  points are then all sums of the same numbers: the rubric's points, for any weights.
* The runner name is the check id in CamelCase ("loss_decrease" -> "LossDecrease"): letters and digits
  only (the reporter's own pattern for runner lists), unique once upper-cased (the env names), at most 18
  characters (the table's first column). The summary table's rows are therefore named after the checks.
* The output is one `NAME_RESULTS=<base64>` line per runner plus `NNGRADER_RUNNERS=<names>`, ready to be
  appended to `$GITHUB_ENV`; the reporter step then takes `runners: ${{ env.NNGRADER_RUNNERS }}` (or the
  nngrader action's `runners` output).
* Every runner's top-level `status` is the submission's: "pass" when it passed the rubric, else "error"
  when a check could not run, else "fail" (the reporter fails its step on either).

Per test (the reporter knows only pass, fail and error):

* pass -> "pass" with the check's points; everything else scores 0 (as in the Report).
* fail, timeout (a verdict on the submission) and skipped (a check it depends on did not pass) -> "fail".
  error (the check could not run) -> "error", and its `message` starts with the check title, since the
  reporter prints an errored test as "Error: <message>" without its name.
* The reporter prints `message` only for "error", so a failing check's feedback (message + hint) goes into
  `test_code`, which it prints for every test.
* The Actions log belongs to the student: a hidden check shows its title and points, not its feedback.
* Student-controlled text is cleaned (`textsafe.clean`: no escape sequences, no control characters), and a
  line of it can never start with "::", which the Actions runner would execute as a workflow command
  (a forged "::notice title=Autograding complete::Points 100/100").
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from grader.models import CheckResult, Report, Status
from grader.report.numbers import points
from grader.textsafe import clean

HIDDEN_FEEDBACK = "hidden check: its details are shown to instructors only"
MAX_TEXT = 2000  # each runner travels in one env variable (128 KiB limit on Linux): keep it small
MAX_RUNNER_NAME = 18  # the reporter's summary table: column width 20 minus 2 of padding
RUNNERS_ENV = "NNGRADER_RUNNERS"

_STATUS = {Status.PASS: "pass", Status.FAIL: "fail", Status.TIMEOUT: "fail", Status.SKIPPED: "fail",
           Status.ERROR: "error"}
_WORKFLOW_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)



def log_safe(text: str) -> str:
    """Student-controlled text for the Actions log: cleaned, no line starting with '::'."""
    return _WORKFLOW_COMMAND.sub(r"\1: ", clean(text))


def runner_names(check_ids: list[str]) -> list[str]:
    """A runner name per check id: CamelCase, alphanumeric, unique once upper-cased, at most 18 characters."""
    names: list[str] = []
    taken: set[str] = set()
    for check_id in check_ids:
        base = "".join(part[:1].upper() + part[1:] for part in check_id.split("_")) or "Check"
        name, n = base[:MAX_RUNNER_NAME], 1
        while name.upper() in taken:
            n += 1
            name = base[: MAX_RUNNER_NAME - len(str(n))] + str(n)
        taken.add(name.upper())
        names.append(name)
    return names


def _feedback(check: CheckResult) -> str:
    if check.visibility == "hidden":
        return HIDDEN_FEEDBACK
    text = check.message
    if check.hint:
        text = f"{text}\nHint: {check.hint}" if text else f"Hint: {check.hint}"
    return log_safe(text)[:MAX_TEXT]


def _test(check: CheckResult, filename: str) -> dict[str, Any]:
    status = _STATUS[check.status]
    feedback = _feedback(check)
    title = log_safe(check.title)
    return {
        "name": title,
        "status": status,
        "score": points(check.points if check.status is Status.PASS else 0.0),
        "message": f"{title}: {feedback}" if status == "error" else feedback,
        "test_code": feedback if status == "fail" else "",
        "filename": filename,
        "line_no": 0,  # anything else prints "name - line N"
        "execution_time": round(check.duration_s, 3),  # seconds; the reporter ignores it
    }


def overall_status(report: Report) -> str:
    """'pass' when the submission passed the rubric; else 'error' if a check could not run, else 'fail'."""
    if report.passed:
        return "pass"
    return "error" if any(check.status is Status.ERROR for check in report.checks) else "fail"


def classroom_runners(report: Report) -> dict[str, dict[str, Any]]:
    """Runner name -> the reporter's JSON document (before base64), one runner per check, in rubric order."""
    status = overall_status(report)
    filename = log_safe(report.submission)
    names = runner_names([check.id for check in report.checks])
    return {name: {"version": 1, "status": status, "max_score": points(check.max_points),
                   "tests": [_test(check, filename)]}
            for name, check in zip(names, report.checks, strict=True)}


def encode(document: dict[str, Any]) -> str:
    """base64 of one-line JSON: what the reporter decodes with Buffer.from(value, 'base64')."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def render_github_classroom(report: Report) -> str:
    """`NAME_RESULTS=<base64>` per runner and `NNGRADER_RUNNERS=<names>`: lines for `$GITHUB_ENV`."""
    runners = classroom_runners(report)
    lines = [f"{RUNNERS_ENV}={','.join(runners)}"]
    lines += [f"{name.upper()}_RESULTS={encode(document)}" for name, document in runners.items()]
    return "\n".join(lines) + "\n"
