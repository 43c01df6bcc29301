"""The gradebook files: grades.csv (every check) and canvas.csv (Canvas gradebook import).

Canvas format (instructure/canvas-lms lib/gradebook_importer.rb): header
`Student,ID,SIS User ID,SIS Login ID,Section,<Assignment Title (id)>`, then a `Points Possible` row.
Canvas matches a row by ID, then SIS User ID, then SIS Login ID, so the student id goes into
SIS Login ID and ID stays empty. An empty grade means "no change": used for grader errors.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from grader.batch.records import StudentRecord
from grader.errors import GraderError
from grader.rubric import Rubric

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_ASSIGNMENT = re.compile(r"^.+\(\d+\)$")


def _cell(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (student text can start with '=')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float) -> str:
    """Points without float noise: 85 not 85.0, 2.5 stays 2.5 (Canvas keeps two decimals)."""
    return f"{round(value, 2):g}"


def grades_rows(records: Sequence[StudentRecord], rubric: Rubric) -> list[list[str]]:
    """grades.csv as rows: header, then one row per student sorted by id."""
    header = ["student", "score", "max_score", "passed"]
    for check in rubric.checks:
        header += [f"{check.id}_points", f"{check.id}_status"]
    rows = [header + ["error"]]
    for record in sorted(records, key=lambda r: r.student):
        report = record.report
        if report is None:
            blanks = [""] * (2 * len(rubric.checks))
            rows.append([record.student, "", _number(rubric.max_score), "", *blanks, _cell(record.error or "")])
            continue
        row = [record.student, _number(report.score), _number(report.max_score), str(report.passed).lower()]
        by_id = {result.id: result for result in report.checks}
        for check in rubric.checks:
            result = by_id.get(check.id)
            row += [_number(result.points), result.status.value] if result else ["", ""]
        rows.append(row + [""])
    return rows


def canvas_rows(records: Sequence[StudentRecord], rubric: Rubric, assignment: str) -> list[list[str]]:
    """canvas.csv as rows: header, Points Possible, one row per student (empty grade on error)."""
    if not _ASSIGNMENT.match(assignment.strip()):
        raise GraderError(f"Canvas assignment {assignment!r} must look like 'Title (id)', e.g. "
                          "'Digit recognizer (12345)': the id is the number in the assignment's URL")
    rows = [CANVAS_HEADER + [assignment.strip()], ["Points Possible", "", "", "", "", _number(rubric.max_score)]]
    for record in sorted(records, key=lambda r: r.student):
        score = _number(record.report.score) if record.report is not None else ""
        rows.append([_cell(record.student), "", "", _cell(record.student), "", score])
    return rows


def to_csv(rows: list[list[str]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, \\r\\n line ends as spreadsheets expect)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
