"""Find the submissions in a class folder: one `Submission` per entry, never an exception per student.

Layouts understood (they may be mixed in one folder):
    alice.py                one file per student (with no sibling modules: the siblings are other students)
    alice/...               one folder per student (grader.submission's folder rule finds the entry)
    digits-alice/...        GitHub Classroom clones: the assignment prefix shared by siblings is stripped
    bob.zip                 an archive, read in memory with the same rule
    carol.ipynb             a notebook, converted to .py

Each submission's files are collected once (`grader.submission.collect`, bounded against hostile trees) and
written as a clean copy into `work_dir/<student>/`: that folder, with its entry, is what gets graded. Source
files are only parsed, never imported. An entry that cannot be graded (a FIFO, an ambiguous folder, a zip
bomb, a source nested too deeply to analyse) gets a Submission with `error` set, recorded as
`invalid_submission`. Student ids are unique, case-insensitively: two entries that would share one each get
an id of their own, with a note, so they never share a work folder.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.errors import SubmissionError
from grader.models import StrictModel
from grader.submission import SKIPPED_DIRS, SourceError, SubmissionFiles, collect, parse_bounded, shown_name

Origin = Literal["file", "folder", "classroom", "zip", "notebook"]
SUFFIXES = {".py": "file", ".ipynb": "notebook", ".zip": "zip"}


class Submission(StrictModel):
    """One student's submission as found in the class folder."""

    student: str = Field(description="Student id (file/folder name, Classroom username), unique in the batch and "
                                     "safe as a file name.")
    path: Path | None = Field(description="The folder graded: a clean copy of the collected files in the batch's "
                                          "work folder; None when `error` says why there is none.")
    entry: str | None = Field(default=None, description="The entry module, relative to `path` (posix).")
    origin: Origin = Field(description="Layout it was found in: file, folder, classroom, zip or notebook.")
    source: Path = Field(description="The entry in the class folder (a name that is not UTF-8 is shown escaped).")
    digest: str | None = Field(default=None, description="SHA-256 of the collected files and entry.")
    notes: list[str] = Field(default_factory=list, description="What discovery did (converted, skipped, ...).")
    flags: list[str] = Field(default_factory=list, description="What the instructor must see (an id collision, a "
                                                               "name shown escaped): in grades.csv and summary.html.")
    error: str | None = Field(default=None, description="Why this submission cannot be graded (None: it can).")


def student_id(name: str) -> str:
    """A student id safe as a file name and as a CSV cell: [A-Za-z0-9._@+-], starting alphanumeric."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", name)
    cleaned = re.sub(r"^[^A-Za-z0-9]+", "", cleaned)  # no leading '.', '-', '=' ... (hidden files, CSV formulas)
    return cleaned[:80] or "student"


def classroom_students(folder_names: Iterable[str]) -> dict[str, str]:
    """Folder name -> username for GitHub Classroom clones (`<assignment>-<username>`).

    Folders are grouped by their first '-' segment; in each group of two or more, the longest common
    prefix ending in '-' is the assignment name. A lone folder is left alone: its prefix is unknowable.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for name in folder_names:
        if "-" in name.strip("-"):
            groups[name.split("-", 1)[0]].append(name)
    students: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        common = os.path.commonprefix(members)
        prefix = common[: common.rfind("-") + 1]
        for member in members:
            if prefix and member[len(prefix):]:
                students[member] = member[len(prefix):]
    return students


class _Entry:
    """An entry of the class folder, classified without following links or opening anything."""

    def __init__(self, entry: os.DirEntry[str], classroom: dict[str, str]) -> None:
        self.path, self.name = Path(entry.path), shown_name(entry.name)
        self.mode = entry.stat(follow_symlinks=False).st_mode
        suffix = Path(self.name).suffix
        if stat.S_ISDIR(self.mode):
            self.origin: Origin = "classroom" if self.name in classroom else "folder"
            self.wanted = classroom.get(self.name, self.name)
        else:
            self.origin = SUFFIXES.get(suffix, "file")  # type: ignore[assignment]
            self.wanted = Path(self.name).stem
        self.student = student_id(self.wanted)
        self.notes = [f"GitHub Classroom folder {self.name}"] if self.origin == "classroom" else []
        self.flags = [f"the name is not valid UTF-8: shown as {self.name}"] if self.name != entry.name else []


def _is_submission(entry: os.DirEntry[str], skipped: set[Path]) -> bool:
    """Folders, and files (or links, FIFOs...) named like submissions: each gets a row."""
    if entry.name.startswith(".") or entry.name in SKIPPED_DIRS:
        return False
    if entry.is_dir(follow_symlinks=False):
        return Path(entry.path).resolve() not in skipped
    suffix = os.path.splitext(entry.name)[1]
    return suffix in SUFFIXES or (suffix == "" and not entry.is_file(follow_symlinks=False))


def _unique_ids(entries: list[_Entry]) -> None:
    """Give entries that would share an id (case-insensitively) ids of their own, with a note on each."""
    groups: dict[str, list[_Entry]] = defaultdict(list)
    for entry in entries:
        groups[entry.student.casefold()].append(entry)
    taken = {key for key, group in groups.items() if len(group) == 1}
    for group in groups.values():
        if len(group) == 1:
            continue
        original = group[0].student
        for entry in group:
            candidate = student_id(entry.name)
            number = 1
            while candidate.casefold() in taken:
                number += 1
                candidate = f"{student_id(entry.name)[:76]}-{number}"
            taken.add(candidate.casefold())
            entry.student = candidate
        names = ", ".join(entry.name for entry in group)
        ids = ", ".join(entry.student for entry in group)
        for entry in group:
            entry.flags.append(f"student id collision: {names} would all be '{original}'; graded separately "
                               f"as {ids}")


def _check_sources(files: SubmissionFiles) -> None:
    """A source the grader cannot analyse (nested too deeply, too large) makes the submission invalid."""
    for name, content in files.files.items():
        try:
            parse_bounded(content, name)
        except SourceError as exc:
            if exc.too_complex:
                raise SubmissionError(f"{exc}: cannot be graded") from None


def _load(item: _Entry, work_dir: Path, class_name: str, entry: str | None) -> Submission:
    """The Submission for one entry: its files collected, checked and copied to `work_dir`; or the error."""
    base = dict(student=item.student, origin=item.origin, source=item.path.with_name(item.name), flags=item.flags)
    try:
        if stat.S_ISLNK(item.mode):
            raise SubmissionError(f"{item.name}: a symbolic link, not followed (copy the submission itself into "
                                  "the class folder)")
        if not (stat.S_ISDIR(item.mode) or stat.S_ISREG(item.mode)):
            kind = "FIFO" if stat.S_ISFIFO(item.mode) else "socket" if stat.S_ISSOCK(item.mode) else "special file"
            raise SubmissionError(f"{item.name}: a {kind}, not a file or folder")
        files = collect(item.path, entry=entry if item.origin in ("folder", "classroom", "zip") else None,
                        class_name=class_name, follow_imports=False)  # a file's siblings are other students
        _check_sources(files)
        target = work_dir / item.student
        shutil.rmtree(target, ignore_errors=True)
        files.write(target)
    except (SubmissionError, OSError) as exc:
        return Submission(path=None, notes=item.notes, error=str(exc), **base)
    except Exception as exc:  # noqa: BLE001 - one student's entry must never stop the class
        error = f"could not be read (unexpected {type(exc).__name__}: {exc})"
        return Submission(path=None, notes=item.notes, error=error, **base)
    return Submission(path=target, entry=files.entry, digest=files.digest(), notes=item.notes + files.notes,
                      **base)


def discover(class_dir: str | Path, *, work_dir: str | Path, class_name: str = "SimpleNN", entry: str | None = None,
             exclude: Iterable[Path] = ()) -> list[Submission]:
    """Every student's submission under `class_dir`, sorted by student id.

    work_dir: where each submission's collected files are copied (one subfolder per student, replaced on
    every call). entry: the entry's path inside every folder or archive (overrides the rule). exclude:
    folders to ignore (e.g. the batch output folder when it is inside class_dir).
    Raises SubmissionError only when `class_dir` itself is not a folder.
    """
    root = Path(class_dir)
    if not root.is_dir():
        raise SubmissionError(f"{root}: not a folder of submissions")
    skipped = {path.resolve() for path in (*exclude, Path(work_dir))}
    with os.scandir(root) as listing:
        raw = sorted((item for item in listing if _is_submission(item, skipped)), key=lambda item: item.name)
    classroom = classroom_students(shown_name(item.name) for item in raw if item.is_dir(follow_symlinks=False))
    entries = [_Entry(item, classroom) for item in raw]
    _unique_ids(entries)
    found = [_load(item, Path(work_dir), class_name, entry) for item in entries]
    return sorted(found, key=lambda submission: submission.student)
