"""The gradebook a batch writes: grades.csv, canvas.csv (with and without a roster) and summary.html.

Records are built in memory (no grading): these tests are about what the files say and that nothing a
student controls can break them, run in a spreadsheet or draw in a terminal.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from grader.batch import StudentRecord, Submission
from grader.batch.gradebook import canvas_rows, grades_rows, text_cell, to_csv
from grader.batch.records import CacheKey, read_record, write_record
from grader.batch.roster import Roster, RosterMatch, RosterRow, match_roster, read_roster
from grader.batch.summary import render_summary
from grader.errors import GraderError
from grader.models import CheckResult, Environment, Note, Report, Status
from grader.rubric import load_rubric

RUBRIC = load_rubric()
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J[/][bold]'


def fake_record(student: str, score: float | None, message: str = "ok", *, status: str | None = None,
                diagnosis: str = "sum_instead_of_mean", flags: tuple[str, ...] = (), source: str = "") -> StudentRecord:
    """A record without grading: enough for the CSV and HTML writers. score None: no report."""
    key = CacheKey(submission_sha256="0" * 64, rubric_sha256=RUBRIC.sha256, grader_version="t", sandbox="local",
                   quick=False, seed=None)
    submission = Submission(student=student, path=Path("work") / student, entry=f"{student}.py", origin="file",
                            source=Path(source or f"{student}.py"), flags=list(flags))
    if score is None:
        return StudentRecord(student=student, status=status or "grader_error", key=key, submission=submission,  # type: ignore[arg-type]
                             error=message)
    passing = score >= 50
    checks = [CheckResult(id=c.id, title=c.title, status=Status.PASS if passing else Status.FAIL,
                          points=c.points if passing else 0, max_points=c.points, message=message,
                          hint="" if passing else f"hint for {diagnosis}",
                          diagnosis=None if passing else diagnosis) for c in RUBRIC.rubric.checks]
    report = Report(submission=f"{student}.py", student=student, score=score, max_score=100, passed=score >= 70,
                    pass_mark=70, checks=checks, notes=[Note(code="n", message=message)], losses=[2.0, 1.0, 0.5],
                    environment=Environment(grader_version="t", python_version="3", numpy_version="2",
                                            sandbox="local", seed=1, rubric_id="mini_challenge",
                                            rubric_sha256=RUBRIC.sha256, submission_sha256="0" * 64))
    return StudentRecord(student=student, status="graded", key=key, submission=submission, report=report)


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


# ------------------------------------------------------------------------------------------- grades.csv
def test_grades_csv_columns_and_rows_without_a_grade() -> None:
    rubric = RUBRIC.rubric
    rows = grades_rows([fake_record("zoe", 100), fake_record("adam", None, "grader bug"),
                        fake_record("bea", None, "x.py: a FIFO, not a file or folder", status="invalid_submission")],
                       rubric)
    header = rows[0]
    assert header[:5] == ["student", "score", "max_score", "passed", "status"]
    assert header[5:7] == [f"{rubric.checks[0].id}_points", f"{rubric.checks[0].id}_status"]
    assert header[-2:] == ["error", "notes"]
    assert [row[0] for row in rows[1:]] == ["adam", "bea", "zoe"]  # sorted by student
    assert rows[1][1:5] == ["", "100", "", "grader_error"] and rows[1][-2] == "grader bug"
    assert rows[2][4] == "invalid_submission" and rows[2][-2] == "x.py: a FIFO, not a file or folder"
    assert rows[3][1:5] == ["100", "100", "true", "graded"]


@pytest.mark.parametrize(("text", "cell"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("  =1+1", "'=1+1"), ("\t=1", "'=1"), ("\uff1d1+1", "'\uff1d1+1"), ("line1\nline2", "line1 line2"),
    ("red \x1b[31mtext\x1b[0m", "red text"), ("plain", "plain"),
])
def test_text_cells_are_never_formulas_nor_control_sequences(text: str, cell: str) -> None:
    assert text_cell(text) == cell


def test_student_text_in_grades_csv_is_made_safe() -> None:
    record = fake_record("cy", None, "=HYPERLINK(\"http://x\")\x1b[2J", flags=("-collision\x07",))
    [_, row] = grades_rows([record], RUBRIC.rubric)
    assert row[-2] == "'=HYPERLINK(\"http://x\")" and row[-1] == "'-collision"


def test_flags_land_in_the_notes_column() -> None:
    record = fake_record("alice.py", 90, flags=("student id collision: Alice.zip, alice.py would all be 'Alice'",))
    [_, row] = grades_rows([record], RUBRIC.rubric)
    assert row[-1] == "student id collision: Alice.zip, alice.py would all be 'Alice'"


# ------------------------------------------------------------------------------------------- canvas.csv
def test_canvas_csv_without_a_roster_uses_the_student_id() -> None:
    text = to_csv(canvas_rows([fake_record("bob", 85.5), fake_record("al", None)], RUBRIC.rubric, "Digits (123)"))
    rows = rows_of(text)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Digits (123)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert rows[2] == ["al", "", "", "al", "", ""]  # no grade leaves Canvas's grade untouched
    assert rows[3] == ["bob", "", "", "bob", "", "85.5"]
    with pytest.raises(GraderError, match="Title \\(id\\)"):
        canvas_rows([], RUBRIC.rubric, "Digits without an id")


CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Digits (123),github_username\r\n"
    "    Points Possible,,,,,100,\r\n"
    '"Lee, Ann",1001,S-1,ann@uni.edu,Sec A,,AnnLee\r\n'
    '"Ray, Bo",1002,S-2,bo@uni.edu,Sec B,,@bo-ray\r\n'
    '"Ng, Cy",1003,S-3,cy@uni.edu,Sec A,,\r\n'
    '"=cmd|\' /C calc\'!A0",1004,S-4,evil@uni.edu,Sec A,,dee\r\n'
    '"Student, Test",1005,,test,Sec A,,\r\n')


def submission(student: str, source: str | None = None) -> Submission:
    return Submission(student=student, path=None, origin="file", source=Path(source or f"{student}.py"), error="x")


def test_a_canvas_export_joins_students_case_insensitively(tmp_path: Path) -> None:
    roster = read_roster(write(tmp_path / "canvas.csv", CANVAS_EXPORT))
    assert roster.kind == "canvas"
    assert [row.name for row in roster.rows] == ["Lee, Ann", "Ray, Bo", "Ng, Cy", "=cmd|' /C calc'!A0",
                                                 "Student, Test"]
    match = match_roster(roster, [submission("annlee"), submission("bo-ray"), submission("dee"), submission("zed")])
    assert sorted(match.by_student) == ["annlee", "bo-ray", "dee"]
    assert match.by_student["annlee"].canvas_id == "1001"
    assert match.unmatched_submissions == ["zed"]
    assert [row.label() for row in match.unmatched_rows] == ["Ng, Cy (no submission named)",
                                                             "Student, Test (no submission named)"]


def test_canvas_csv_with_a_roster_carries_canvas_ids(tmp_path: Path) -> None:
    roster = read_roster(write(tmp_path / "canvas.csv", CANVAS_EXPORT))
    records = [fake_record("annlee", 90), fake_record("bo-ray", None), fake_record("dee", 10), fake_record("zed", 50)]
    match = match_roster(roster, [record.submission for record in records])
    rows = rows_of(to_csv(canvas_rows(records, RUBRIC.rubric, "Digits (123)", match)))
    assert rows[2:] == [["Lee, Ann", "1001", "S-1", "ann@uni.edu", "Sec A", "90"],
                        ["Ray, Bo", "1002", "S-2", "bo@uni.edu", "Sec B", ""],
                        ["'=cmd|' /C calc'!A0", "1004", "S-4", "evil@uni.edu", "Sec A", "10"]]  # zed is not listed
    grades = rows_of(to_csv(grades_rows(records, RUBRIC.rubric, match)))
    assert grades[0][:4] == ["student", "name", "roster_id", "section"]
    assert grades[1][:4] == ["annlee", "Lee, Ann", "1001", "Sec A"]
    assert grades[4][:4] == ["zed", "", "", ""] and grades[4][-1] == "not on the roster"


def test_a_classroom_roster(tmp_path: Path) -> None:
    path = write(tmp_path / "classroom_roster.csv", '"identifier","github_username","github_id","name"\n'
                                                    '"s001@uni.edu","alice","123","Alice A"\n'
                                                    '"s002@uni.edu","","",""\n')
    roster = read_roster(path)
    assert roster.kind == "classroom" and [row.sis_login_id for row in roster.rows] == ["s001@uni.edu",
                                                                                      "s002@uni.edu"]
    match = match_roster(roster, [submission("alice")])
    records = [fake_record("alice", 75)]
    rows = rows_of(to_csv(canvas_rows(records, RUBRIC.rubric, "Digits (9)", match)))
    assert rows[2] == ["Alice A", "", "", "s001@uni.edu", "", "75"]
    assert [row.label() for row in match.unmatched_rows] == ["s002@uni.edu (no submission named)"]


def test_a_roster_matches_file_names_and_never_guesses(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "Student,ID,SIS User ID,SIS Login ID,Section,submission\n"
                                     "Ann,1,,,,ann.py\nBo,2,,,,bo\nBo again,3,,,,BO\nCy,4,,,,cy\n")
    match = match_roster(read_roster(path), [submission("ann"), submission("bo"), submission("cy.py", "cy.py"),
                                             submission("cy.zip", "cy.zip")])
    assert sorted(match.by_student) == ["ann"]  # by the file name
    assert match.notes["bo"] == ["named by several roster rows: Bo (bo), Bo again (BO)"]
    assert match.notes["cy.py"] == ["roster row Cy (cy) names several submissions: cy.py, cy.zip"]
    assert sorted(match.unmatched_submissions) == ["bo", "cy.py", "cy.zip"]


@pytest.mark.parametrize(("content", "message"), [
    ("Student,ID,SIS User ID,SIS Login ID,Section,Digits (1)\nAnn,1,,,,\n", "needs one added column, github_username"),
    ("name,email\nAnn,a@b\n", "not a Canvas gradebook export"),
    ("", "empty"),
    (b"Student,ID,github_username\n\xe9,1,x\n", "not UTF-8 text"),
])
def test_a_bad_roster_is_one_clear_error(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(GraderError, match=message):
        read_roster(write(tmp_path / "roster.csv", content))


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ------------------------------------------------------------------------------------------- summary.html
def test_summary_escapes_and_cleans_everything_a_student_controls() -> None:
    page = render_summary([fake_record("ann", 90, EVIL), fake_record("ben", 20, EVIL), fake_record("cy", None, EVIL),
                           fake_record("dee", None, EVIL, status="invalid_submission", flags=(EVIL,))], RUBRIC)
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "\x1b" not in page and "\x07" not in page  # no escape sequence reaches a viewer or a pager
    assert page.count("<svg") >= 3  # histogram + two loss curves
    assert "<script" not in page.lower().replace("&lt;script", "")  # and no JavaScript of our own either
    for student in ("ann", "ben", "cy", "dee"):
        assert f">{student}<" in page


def test_summary_links_every_student_to_its_json_record() -> None:
    page = render_summary([fake_record("ann", 90), fake_record("b+o@x", None)], RUBRIC)
    assert 'href="reports/ann.json"' in page and 'href="reports/b%2Bo%40x.json"' in page


def test_summary_counts_students_not_checks_per_problem() -> None:
    """One timed-out student fails three checks with one diagnosis: that is one student."""
    records = [fake_record("ann", 0, diagnosis="timeout"), fake_record("ben", 0, diagnosis="timeout"),
               fake_record("cy", 100)]
    page = render_summary(records, RUBRIC)
    [row] = re.findall(r"<tr><td><code>timeout</code>.*?</tr>", page)
    numbers = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert numbers == ["2", "67%"]
    assert "hint for timeout" in row  # the hint the students were shown, from their reports


def test_summary_lists_the_roster_and_the_flags() -> None:
    roster = Roster(path=Path("canvas.csv"), kind="canvas", rows=[
        RosterRow(key="ann", name="Lee, Ann", line=2), RosterRow(key="nobody", name="Ng, <Cy>", line=3)])
    records = [fake_record("ann", 90), fake_record("zed", 40, flags=("student id collision: zed.py, zed.zip",))]
    match: RosterMatch = match_roster(roster, [record.submission for record in records])
    page = render_summary(records, RUBRIC, roster=match)
    roster_card = page[page.index("<h2>Roster</h2>"):]
    assert "1 of 2 roster rows matched" in roster_card
    assert "Submissions not on the roster <span class=\"muted\">(1)</span></h3><ul class=\"notes\"><li>zed</li>" \
        in roster_card
    assert html.escape("Ng, <Cy> (nobody)") in roster_card
    assert "Lee, Ann" in page and "student id collision: zed.py, zed.zip" in page
    assert '<div class="banner">Check these entries: <a href="#s-zed">zed</a>' in page


def test_records_with_lone_surrogates_are_stored(tmp_path: Path) -> None:
    """A stage's JSON may hold "\\ud800": the record is still written and read back."""
    record = fake_record("ann", 90, "bad \ud800 text")
    write_record(tmp_path, record)
    stored = read_record(tmp_path, "ann")
    assert stored is not None and stored.report is not None
    assert stored.report.checks[0].message == "bad ? text"
