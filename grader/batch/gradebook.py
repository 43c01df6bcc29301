"""The gradebook files: grades.csv (every check) and canvas.csv (Canvas gradebook import).

Canvas format (instructure/canvas-lms lib/gradebook_importer.rb): header
`Student,ID,SIS User ID,SIS Login ID,Section,<Assignment Title (id)>`, then a `Points Possible` row.
Canvas matches a row by ID, then SIS User ID, then SIS Login ID. With a roster (grader.batch.roster) the
rows carry the roster's Canvas ids and only students the roster names are listed; without one, the
student id goes into SIS Login ID and ID stays empty. An empty grade means "no change": used for
students without a grade (invalid submission, grader error).

Every text cell a student controls (ids, file names, messages) is cleaned of control characters and
guarded against formula injection: a cell a spreadsheet would run as a formula gets a leading quote.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from grader.batch.records import StudentRecord
from grader.batch.roster import RosterMatch, RosterRow
from grader.errors import GraderError
from grader.rubric import Rubric
from grader.textsafe import one_line

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_ASSIGNMENT = re.compile(r"^.+\(\d+\)$")
# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (full-width forms included).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def text_cell(text: str, limit: int = 1000) -> str:
    """A text cell safe in a spreadsheet: one clean line, never read as a formula."""
    cleaned = one_line(text, limit)
    return "'" + cleaned if cleaned.lstrip()[:1] in _FORMULA_START and cleaned.lstrip() else cleaned


def _number(value: float) -> str:
    """Points without float noise: 85 not 85.0, 2.5 stays 2.5 (Canvas keeps two decimals)."""
    return f"{round(value, 2):g}"


def _notes(record: StudentRecord, roster: RosterMatch | None) -> str:
    """What the instructor must see about a student: id collisions, escaped names, doubtful roster joins."""
    notes = list(record.submission.flags)
    if roster is not None:
        notes += roster.notes.get(record.student, [])
        if record.student not in roster.by_student:
            notes.append("not on the roster")
    return text_cell("; ".join(notes))


def grades_rows(records: Sequence[StudentRecord], rubric: Rubric,
                roster: RosterMatch | None = None) -> list[list[str]]:
    """grades.csv as rows: header, then one row per student sorted by id.

    Columns: student, [name, roster_id, section: with a roster], score, max_score, passed, status
    (graded, invalid_submission, grader_error), <check>_points and <check>_status per check, error, notes.
    """
    who = ["student"] + (["name", "roster_id", "section"] if roster is not None else [])
    header = who + ["score", "max_score", "passed", "status"]
    for check in rubric.checks:
        header += [f"{check.id}_points", f"{check.id}_status"]
    rows = [header + ["error", "notes"]]
    for record in sorted(records, key=lambda r: r.student):
        row = [text_cell(record.student)]
        if roster is not None:
            person = roster.by_student.get(record.student)
            row += [text_cell(person.name), text_cell(person.canvas_id or person.sis_login_id),
                    text_cell(person.section)] if person else ["", "", ""]
        report = record.report
        if report is None:
            blanks = [""] * (2 * len(rubric.checks))
            rows.append(row + ["", _number(rubric.max_score), "", record.status, *blanks,
                               text_cell(record.error or ""), _notes(record, roster)])
            continue
        row += [_number(report.score), _number(report.max_score), str(report.passed).lower(), record.status]
        by_id = {result.id: result for result in report.checks}
        for check in rubric.checks:
            result = by_id.get(check.id)
            row += [_number(result.points), result.status.value] if result else ["", ""]
        rows.append(row + ["", _notes(record, roster)])
    return rows


def _canvas_person(record: StudentRecord, person: RosterRow | None) -> list[str]:
    """The five Canvas identity cells: the roster's, or the student id as SIS Login ID without a roster."""
    if person is None:
        return [text_cell(record.student), "", "", text_cell(record.student), ""]
    return [text_cell(person.name or person.key), text_cell(person.canvas_id), text_cell(person.sis_user_id),
            text_cell(person.sis_login_id), text_cell(person.section)]


def canvas_rows(records: Sequence[StudentRecord], rubric: Rubric, assignment: str,
                roster: RosterMatch | None = None) -> list[list[str]]:
    """canvas.csv as rows: header, Points Possible, one row per student (empty grade when there is none).

    With a roster, only the students it names are listed (the others are listed as unmatched elsewhere).
    """
    if not _ASSIGNMENT.match(assignment.strip()):
        raise GraderError(f"Canvas assignment {assignment!r} must look like 'Title (id)', e.g. "
                          "'Digit recognizer (12345)': the id is the number in the assignment's URL")
    rows = [CANVAS_HEADER + [assignment.strip()], ["Points Possible", "", "", "", "", _number(rubric.max_score)]]
    for record in sorted(records, key=lambda r: r.student):
        person = roster.by_student.get(record.student) if roster is not None else None
        if roster is not None and person is None:
            continue
        score = _number(record.report.score) if record.report is not None else ""
        rows.append(_canvas_person(record, person) + [score])
    return rows


def to_csv(rows: list[list[str]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, \\r\\n line ends as spreadsheets expect)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
