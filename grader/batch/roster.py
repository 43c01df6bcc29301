"""Rosters: join a batch's submissions to the people of a course (`nngrader batch --roster FILE`).

Two exports are understood, told apart by their header:

    Canvas gradebook export     Student, ID, SIS User ID, SIS Login ID, Section, ... plus ONE added column,
                                github_username or submission, naming each student's submission
    GitHub Classroom roster     identifier, github_username (github_id, name)

A roster row names a submission by a GitHub username (a Classroom folder `digits-alice` is `alice`) or by
a submission name: the student id, the file or folder name (`alice.py`), or its stem. Matching ignores
case and a leading '@'. A row that names several submissions, or a submission named by several rows, is
left unmatched with a note rather than guessed. canvas.csv then carries the roster's Canvas ids.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.batch.discover import Submission
from grader.errors import GraderError
from grader.models import StrictModel
from grader.submission import read_regular
from grader.textsafe import one_line

MAX_ROSTER_BYTES = 10 * 2**20
CANVAS_COLUMNS = {"student": "name", "id": "canvas_id", "sis user id": "sis_user_id",
                  "sis login id": "sis_login_id", "section": "section"}
KEY_COLUMNS = ("github_username", "submission")


class RosterRow(StrictModel):
    """One person of the course."""

    key: str = Field(description="What names the person's submission (GitHub username or submission name); "
                                 "empty when the row names none.")
    name: str = Field(default="", description="The person's name (Canvas Student; Classroom name).")
    canvas_id: str = Field(default="", description="Canvas user ID (Canvas export only).")
    sis_user_id: str = Field(default="", description="SIS User ID (Canvas export only).")
    sis_login_id: str = Field(default="", description="SIS Login ID (Canvas); the identifier (Classroom).")
    section: str = Field(default="", description="Section (Canvas export only).")
    line: int = Field(description="Line of the row in the roster file.")

    def label(self) -> str:
        """'Name (key)' for lists of unmatched rows."""
        who = self.name or self.sis_login_id or f"line {self.line}"
        return f"{who} ({self.key or 'no submission named'})"


class Roster(StrictModel):
    """A roster file, read."""

    path: Path = Field(description="The roster file.")
    kind: Literal["canvas", "classroom"] = Field(description="Canvas gradebook export or GitHub Classroom roster.")
    rows: list[RosterRow] = Field(description="The people, in file order.")


class RosterMatch(StrictModel):
    """Which roster row each student is, and what did not match."""

    roster: Roster = Field(description="The roster matched against.")
    by_student: dict[str, RosterRow] = Field(description="Student id -> the roster row naming it.")
    unmatched_submissions: list[str] = Field(description="Student ids no roster row names.")
    unmatched_rows: list[RosterRow] = Field(description="Roster rows naming no submission.")
    notes: dict[str, list[str]] = Field(default_factory=dict,
                                        description="Student id -> why its match is doubtful or missing.")


def _normal(key: str) -> str:
    return key.strip().lstrip("@").strip().casefold()


def _column(name: str) -> str:
    """A column name compared loosely: 'SIS User ID', 'sis_user_id' and ' sis user id' are one."""
    return name.strip().casefold().replace("_", " ")


def _header_index(header: list[str]) -> dict[str, int]:
    """Loose column name -> index (the first of equal names)."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(_column(name), position)
    return index


def read_roster(path: str | Path) -> Roster:
    """Read a Canvas gradebook export or a GitHub Classroom roster; GraderError saying how to fix a bad one."""
    path = Path(path)
    try:
        text = read_regular(path, MAX_ROSTER_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GraderError(f"roster {path}: not UTF-8 text; export it again as CSV (UTF-8)") from None
    except GraderError as exc:
        raise GraderError(f"roster {path}: {exc}") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise GraderError(f"roster {path}: not a readable CSV file ({exc})") from None
    if not lines:
        raise GraderError(f"roster {path}: empty")
    columns = _header_index(lines[0])
    key_column = next((columns[_column(name)] for name in KEY_COLUMNS if _column(name) in columns), None)
    if "identifier" in columns and key_column is not None and "id" not in columns:
        return Roster(path=path, kind="classroom", rows=_classroom_rows(lines, columns, key_column))
    if all(name in columns for name in ("student", "id")):
        if key_column is None:
            raise GraderError(f"roster {path}: a Canvas gradebook export needs one added column, github_username "
                              "or submission, naming each student's submission (a GitHub username, or the file or "
                              "folder name in the class folder)")
        return Roster(path=path, kind="canvas", rows=_canvas_rows(lines, columns, key_column))
    raise GraderError(f"roster {path}: not a Canvas gradebook export (Student, ID, ... and github_username or "
                      "submission) nor a GitHub Classroom roster (identifier, github_username)")


def _cell(line: list[str], index: int | None) -> str:
    return one_line(line[index], 200) if index is not None and index < len(line) else ""


def _canvas_rows(lines: list[list[str]], columns: dict[str, int], key_column: int) -> list[RosterRow]:
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = {field: _cell(line, columns.get(column)) for column, field in CANVAS_COLUMNS.items()}
        if fields["name"] == "Points Possible" or not (fields["name"] or fields["canvas_id"]):
            continue  # Canvas's points row, and its "Manual Posting" row
        rows.append(RosterRow(key=_cell(line, key_column), line=number, **fields))
    return rows


def _classroom_rows(lines: list[list[str]], columns: dict[str, int], key_column: int) -> list[RosterRow]:
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        rows.append(RosterRow(key=_cell(line, key_column), name=_cell(line, columns.get("name")),
                              sis_login_id=_cell(line, columns.get("identifier")), line=number))
    return rows


def _keys(submission: Submission) -> set[str]:
    """Every name a roster may use for a submission: its id, its entry's name and stem, a Classroom username."""
    name = submission.source.name
    return {_normal(key) for key in (submission.student, name, Path(name).stem) if key}


def match_roster(roster: Roster, submissions: Sequence[Submission]) -> RosterMatch:
    """Join roster rows to submissions; ambiguous joins are left out with a note, never guessed."""
    owners: dict[str, set[str]] = defaultdict(set)
    for submission in submissions:
        for key in _keys(submission):
            owners[key].add(submission.student)
    by_student: dict[str, RosterRow] = {}
    claimed: dict[str, list[RosterRow]] = defaultdict(list)
    notes: dict[str, list[str]] = defaultdict(list)
    unmatched_rows: list[RosterRow] = []
    for row in roster.rows:
        students = sorted(owners.get(_normal(row.key), ())) if row.key else []
        if len(students) == 1:
            claimed[students[0]].append(row)
            continue
        unmatched_rows.append(row)
        for student in students:
            notes[student].append(f"roster row {row.label()} names several submissions: {', '.join(students)}")
    for student, rows in claimed.items():
        if len(rows) == 1:
            by_student[student] = rows[0]
        else:
            unmatched_rows.extend(rows)
            notes[student].append(f"named by several roster rows: {', '.join(row.label() for row in rows)}")
    unmatched = sorted(submission.student for submission in submissions if submission.student not in by_student)
    return RosterMatch(roster=roster, by_student=by_student, unmatched_submissions=unmatched,
                       unmatched_rows=sorted(unmatched_rows, key=lambda row: row.line), notes=dict(notes))
