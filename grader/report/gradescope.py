"""--format gradescope: /autograder/results/results.json as the Gradescope autograder specification describes it.

Spec: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (no official JSON Schema exists; the
test-suite checks the output with a Pydantic model written from that page).

Mapping decisions:

* Gradescope test status is only "passed" or "failed": pass -> passed; fail, timeout, error and skipped
  -> failed with 0 points. nngrader's own five-way status is kept in the test's `extra_data`.
* A hidden rubric check -> `"visibility": "after_published"`: students see it once the instructor
  publishes grades, instructors always. Gradescope notes that while tests are hidden students cannot see
  their total score.
* `stdout_visibility` is "hidden": run_autograder's stdout is a debugging log for instructors.
* Student-controlled text (messages, hints, notes, the file name) is cleaned with `textsafe.clean` (no
  escape or control characters). Test outputs and names are declared plain text (`output_format` /
  `name_format` "text"), so nothing in them is rendered as Markdown or HTML; the submission-level `output`
  is Markdown written by nngrader, with student text escaped.
* `leaderboard` carries the test accuracy when the accuracy check measured one, except for a --quick
  preview (not a grade) or when that check is hidden (a public leaderboard would reveal it).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from grader.models import CheckResult, Report, Status
from grader.report.numbers import number as loss_text
from grader.report.numbers import points
from grader.textsafe import clean

AFTER_PUBLISHED = "after_published"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")



def _md(text: str) -> str:
    """Student text for Markdown: cleaned, special characters escaped (messages are plain text)."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))


def _output(check: CheckResult) -> str:
    if check.hint:
        text = f"{check.message}\n\nHint: {check.hint}" if check.message else f"Hint: {check.hint}"
    else:
        text = check.message
    return clean(text)


def _test(number: int, check: CheckResult) -> dict[str, Any]:
    return {
        "name": clean(check.title, newlines=False),
        "name_format": "text",
        "number": str(number),
        "score": points(check.points if check.status is Status.PASS else 0.0),
        "max_score": points(check.max_points),
        "status": "passed" if check.status is Status.PASS else "failed",
        "output": _output(check),
        "output_format": "text",
        "visibility": AFTER_PUBLISHED if check.visibility == "hidden" else "visible",
        "extra_data": {"id": check.id, "nngrader_status": check.status.value, "diagnosis": check.diagnosis},
    }


def summary(report: Report) -> str:
    """The submission-level `output` (Markdown): score, verdict, notes and the loss curve."""
    verdict = "passed" if report.passed else "not passed"
    lines = [f"**Score: {report.score:g}/{report.max_score:g}** (pass mark {report.pass_mark:g}): {verdict}"]
    if report.environment.quick:
        lines.append("**Preview (--quick): short training on a subset. This is not a grade.**")
    if report.notes:
        lines += ["", "Notes:"] + [f"- {_md(note.message)}" for note in report.notes]
    if report.losses:
        lines += ["", f"Loss per epoch: {loss_text(report.losses[0])} → {loss_text(report.losses[-1])} "
                      f"over {len(report.losses)} epochs."]
    env = report.environment
    lines += ["", f"Graded by nngrader {_md(env.grader_version)}, rubric {_md(env.rubric_id)}, seed {env.seed}."]
    return "\n".join(lines)


def leaderboard(report: Report) -> list[dict[str, Any]]:
    """[{'name': 'Accuracy', 'value': ...}] from the accuracy check's measurement, or [] (see module doc)."""
    if report.environment.quick:
        return []
    for check in report.checks:
        accuracy = check.details.get("accuracy")
        if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool) and math.isfinite(accuracy):
            return [] if check.visibility == "hidden" else [{"name": "Accuracy", "value": round(accuracy, 4)}]
    return []


def _extra_data(report: Report) -> dict[str, Any]:
    env = report.environment
    return {"grader_version": env.grader_version, "rubric_id": env.rubric_id, "rubric_sha256": env.rubric_sha256,
            "submission_sha256": env.submission_sha256, "seed": env.seed, "sandbox": env.sandbox,
            "passed": report.passed, "pass_mark": points(report.pass_mark), "quick": env.quick}


def gradescope_results(report: Report) -> dict[str, Any]:
    """The results.json document."""
    results: dict[str, Any] = {
        "score": points(report.score),
        "execution_time": round(report.environment.total_s),
        "output": summary(report),
        "output_format": "md",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "extra_data": _extra_data(report),
        "tests": [_test(number, check) for number, check in enumerate(report.checks, start=1)],
    }
    board = leaderboard(report)
    if board:
        results["leaderboard"] = board
    return results


def render_gradescope(report: Report) -> str:
    """The report as Gradescope's results.json."""
    return json.dumps(gradescope_results(report), indent=2, ensure_ascii=False) + "\n"
