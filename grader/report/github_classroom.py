"""--format github-classroom: the base64 payload read by classroom-resources/autograding-grading-reporter@v1.

The grading step writes this text to its `result` output; the reporter reads it from the env variable
`<STEP-ID>_RESULTS`, base64-decodes it and JSON-parses it. What the reporter (dist/main.js, v1) does with it:

* `tests[].status`: only "pass" counts as passed; "error" prints `message`, "fail" prints only the name.
* `tests[].line_no`: printed as "name - line N" unless it is exactly 0, so it is always sent as 0.
* `tests[].test_code`: printed under "Test code:" for every test when non-empty.
* Points recorded by Classroom: the annotation "Points Σ tests[].score / Σ max_score" (plain JS sums).
  The console table instead shows passed/total × max_score, which differs when checks weigh differently.
* `max_score` 0 or missing: the runner is left out of the points. The top-level `status` "fail" or
  "error" marks the workflow step failed.

Mapping decisions (the reporter knows only pass, fail and error):

* pass -> "pass" with the check's points; everything else scores 0 (as in the Report).
* fail, timeout (the submission was too slow: a verdict on it) and skipped (a check it depends on did not
  pass; nothing broke) -> "fail". error (the sandbox could not run the check) -> "error".
* Because the reporter prints `message` only for "error", the feedback of a failing check (message + hint)
  also goes into `test_code`, which it prints for every test; without it students would see nothing but a
  red cross in the Actions log. Passed and errored tests leave `test_code` empty (nothing to add, or
  `message` is printed already).
* The Actions log belongs to the student, so a hidden check shows its title and points but not its
  message or hint.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from grader.models import CheckResult, Report, Status

HIDDEN_FEEDBACK = "hidden check: its details are shown to instructors only"
MAX_TEXT = 2000  # the payload travels in one env variable (128 KiB limit on Linux): keep it small

_STATUS = {Status.PASS: "pass", Status.FAIL: "fail", Status.TIMEOUT: "fail", Status.SKIPPED: "fail",
           Status.ERROR: "error"}


def points(value: float) -> float | int:
    """Points rounded to 2 decimals, as an int when whole, so JS sums print as '85/100', not '85.0000001'."""
    rounded = round(value, 2)
    return int(rounded) if rounded.is_integer() else rounded


def _feedback(check: CheckResult) -> str:
    if check.visibility == "hidden":
        return HIDDEN_FEEDBACK
    text = check.message
    if check.hint:
        text = f"{text}\nHint: {check.hint}" if text else f"Hint: {check.hint}"
    return text[:MAX_TEXT]


def _test(check: CheckResult, filename: str) -> dict[str, Any]:
    status = _STATUS[check.status]
    feedback = _feedback(check)
    return {
        "name": check.title,
        "status": status,
        "score": points(check.points if check.status is Status.PASS else 0.0),
        "message": feedback,
        "test_code": feedback if status == "fail" else "",
        "filename": filename,
        "line_no": 0,
        "execution_time": round(check.duration_s, 3),  # seconds; the reporter ignores it
    }


def overall_status(report: Report) -> str:
    """'pass' when the submission passed the rubric; else 'error' if a check could not run, else 'fail'."""
    if report.passed:
        return "pass"
    return "error" if any(check.status is Status.ERROR for check in report.checks) else "fail"


def classroom_payload(report: Report) -> dict[str, Any]:
    """The reporter's JSON document (before base64)."""
    return {
        "version": 1,
        "status": overall_status(report),
        "max_score": points(report.max_score),
        "tests": [_test(check, report.submission) for check in report.checks],
    }


def render_github_classroom(report: Report) -> str:
    """The report as base64 of one-line JSON, ready for `echo "result=..." >> "$GITHUB_OUTPUT"`."""
    document = json.dumps(classroom_payload(report), separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(document.encode("utf-8")).decode("ascii")
