"""The report of a grading that could not happen: every check `error`, 0 points, and the reason.

CI consumers need a document even when nngrader itself fails (a missing image, no MNIST, a bug): GitHub
Classroom records nothing from an empty payload, Gradescope shows "autograder failed" for a missing
results.json. `nngrader check` therefore writes this report in the requested format when grading raises,
before exiting 2, and `nngrader report grader-error` writes it from a shell script when nngrader could not
even start grading.

With the rubric known, the report has the rubric's checks (titles, points, visibility), each `error` with
the reason, so Classroom shows every row titled and records 0 out of the rubric's total. Without a
rubric (it could not be loaded), one check named after the grading carries the reason, worth
`FALLBACK_MAX_SCORE` points.
"""

from __future__ import annotations

import platform

from grader.models import CheckResult, Environment, Report, Status
from grader.rubric import LoadedRubric
from grader.textsafe import one_line
from grader.version import __version__

DIAGNOSIS = "grader_error"
FALLBACK_MAX_SCORE = 100.0
HINT = "This is not about your code: the grader itself could not run. Tell the course staff."


def _numpy_version() -> str:
    try:
        import numpy

        return str(numpy.__version__)
    except Exception:  # noqa: BLE001 - the report of a broken installation must not need NumPy
        return "unknown"


def grader_error_report(reason: str, *, rubric: LoadedRubric | None = None, submission: str = "",
                        student: str | None = None, hint: str = HINT,
                        prefix: str = "nngrader could not grade this submission: ") -> Report:
    """A Report in which every check of `rubric` is `error` with `reason` (one line) and 0 points."""
    message = f"{prefix}{one_line(reason, 500)}"
    if rubric is not None:
        checks = [CheckResult(id=check.id, title=check.title, status=Status.ERROR, points=0.0,
                              max_points=check.points, message=message, hint=hint, diagnosis=DIAGNOSIS,
                              visibility=check.visibility) for check in rubric.rubric.checks]
        rubric_id, sha, max_score, pass_mark = rubric.rubric.id, rubric.sha256, rubric.rubric.max_score, \
            rubric.rubric.pass_mark
    else:
        checks = [CheckResult(id="grading", title="nngrader grades the submission", status=Status.ERROR,
                              points=0.0, max_points=FALLBACK_MAX_SCORE, message=message, hint=hint,
                              diagnosis=DIAGNOSIS)]
        rubric_id, sha, max_score, pass_mark = "unknown", "", FALLBACK_MAX_SCORE, FALLBACK_MAX_SCORE
    environment = Environment(grader_version=__version__, python_version=platform.python_version(),
                              numpy_version=_numpy_version(), sandbox="none", seed=0, rubric_id=rubric_id,
                              rubric_sha256=sha, submission_sha256="")
    return Report(submission=submission, student=student, score=0.0, max_score=max_score, passed=False,
                  pass_mark=pass_mark, checks=checks, environment=environment)
