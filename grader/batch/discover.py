"""Find the submissions in a class folder: one `Submission` per student, never an exception per student.

Layouts understood (they may be mixed in one folder):
    alice.py                one file per student
    alice/...               one folder per student (the file defining the network class is picked)
    digits-alice/...        GitHub Classroom clones: the assignment prefix shared by siblings is stripped
    bob.zip                 an archive, extracted safely into the work folder
    carol.ipynb             a notebook, its code cells written to a .py in the work folder

Source files are only parsed (`ast`), never imported: the host must not run student code.
A student whose submission cannot be graded (two candidate files, a broken archive) gets a Submission
with `error` set, which the batch records as a grader_error entry.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field

from grader.batch.extract import extract_zip, notebook_code, write_notebook_py
from grader.checks.static import SourceError, parse_bounded
from grader.errors import SubmissionError
from grader.models import StrictModel

Origin = Literal["file", "folder", "classroom", "zip", "notebook"]

METHODS = ("forward", "backward", "train")
MAX_SCANNED_FILES = 200  # a folder with more .py files than this has a virtualenv in it, not a submission
MAX_PARSED_BYTES = 1_000_000  # same cap as grader.api.MAX_SOURCE_BYTES
_SKIPPED_DIRS = {".git", "__pycache__", "__MACOSX", ".ipynb_checkpoints", "venv", ".venv", "env",
                 "node_modules", "site-packages"}


class Submission(StrictModel):
    """One student's submission as found in the class folder."""

    student: str = Field(description="Student id (file/folder name, Classroom username), safe as a file name.")
    path: Path | None = Field(description="The .py file to grade; None when `error` says why there is none.")
    origin: Origin = Field(description="Layout it was found in: file, folder, classroom, zip or notebook.")
    source: Path = Field(description="The entry in the class folder (file, folder or archive).")
    notes: list[str] = Field(default_factory=list, description="What discovery did (extracted, dropped, ...).")
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


def _defines_network(source: str) -> bool:
    """True when the source defines a class with forward, backward and train methods."""
    try:
        tree = parse_bounded(source)
    except SourceError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
            if all(method in methods for method in METHODS):
                return True
    return False


def _names_class(source: str, class_name: str) -> bool:
    """True when the text declares `class <class_name>` (works on files with syntax errors too)."""
    return re.search(rf"^\s*class\s+{re.escape(class_name)}\b", source, re.MULTILINE) is not None


def _walk_files(folder: Path, suffix: str) -> list[Path]:
    """Files with `suffix` under `folder`, skipping virtualenvs, caches and hidden folders; sorted."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if f.endswith(suffix) and not f.startswith("."))
        if len(found) > MAX_SCANNED_FILES:
            raise SubmissionError(f"more than {MAX_SCANNED_FILES} {suffix} files: is a virtualenv included?")
    return [path for path in found if not path.is_symlink()]


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_PARSED_BYTES:
        return ""
    return path.read_bytes().decode("utf-8", errors="replace")


def _pick(files: dict[Path, str], class_name: str) -> tuple[Path | None, list[Path]]:
    """The one file to grade among `files` (path -> source), or None and the ambiguous candidates."""
    for test in (_defines_network, lambda source: _names_class(source, class_name)):
        candidates = [path for path, source in files.items() if test(source)]
        if len(candidates) == 1:
            return candidates[0], []
        if len(candidates) > 1:
            return None, candidates
    if len(files) == 1:  # nothing looks like the network: grade it anyway, the report will say why
        return next(iter(files)), []
    return None, list(files)


def _rel(paths: Iterable[Path], folder: Path) -> str:
    return ", ".join(str(path.relative_to(folder)) for path in paths)


def choose_source(folder: Path, work_dir: Path, class_name: str) -> tuple[Path, list[str]]:
    """The file to grade in a student's folder, converting a notebook when that is all there is.

    Raises SubmissionError naming the candidates when there are several, or none at all.
    """
    sources = {path: _read_text(path) for path in _walk_files(folder, ".py")}
    chosen, ambiguous = _pick(sources, class_name) if sources else (None, [])
    if chosen is not None:
        others = [path for path in sources if path != chosen]
        notes = [f"graded {chosen.relative_to(folder)}"]
        if others:
            notes.append(f"not graded (only one file runs, so importing these would fail): {_rel(others, folder)}")
        return chosen, notes
    if ambiguous:
        raise SubmissionError(f"several files could be the submission: {_rel(ambiguous, folder)}; "
                              "keep the network in one file")
    notebooks = {path: notebook_code(path)[0] for path in _walk_files(folder, ".ipynb")}
    chosen, ambiguous = _pick(notebooks, class_name) if notebooks else (None, [])
    if chosen is None:
        what = f"several notebooks could be the submission: {_rel(ambiguous, folder)}" if ambiguous \
            else "no .py or .ipynb file found"
        raise SubmissionError(what)
    target = work_dir / f"{chosen.stem}.py"
    return target, write_notebook_py(chosen, target)


def _fresh(work_dir: Path) -> Path:
    """An empty work folder (what a previous run extracted there is replaced)."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    return work_dir


def _from_entry(entry: Path, work_root: Path, class_name: str, classroom: dict[str, str]) -> Submission | None:
    """The submission an entry of the class folder holds, or None when the entry is not one."""
    work_dir = work_root / student_id(entry.name.replace(".", "_"))
    if entry.is_dir():
        origin: Origin = "classroom" if entry.name in classroom else "folder"
        student = student_id(classroom.get(entry.name, entry.name))
        notes = [f"GitHub Classroom folder {entry.name}"] if origin == "classroom" else []
        return _guarded(student, origin, entry, notes, lambda: choose_source(entry, work_dir, class_name))
    if entry.suffix == ".py":
        return Submission(student=student_id(entry.stem), path=entry, origin="file", source=entry)
    if entry.suffix == ".ipynb":
        target = work_dir / f"{student_id(entry.stem)}.py"
        return _guarded(student_id(entry.stem), "notebook", entry, [],
                        lambda: (target, write_notebook_py(entry, _fresh(work_dir) / target.name)))
    if entry.suffix == ".zip":
        def from_zip() -> tuple[Path, list[str]]:
            extracted = _fresh(work_dir) / "archive"  # a converted notebook goes beside it, in work_dir
            notes = extract_zip(entry, extracted)
            try:
                path, more = choose_source(extracted, work_dir, class_name)
            except SubmissionError as exc:  # say what extraction skipped: it may be why nothing is left
                raise SubmissionError("; ".join([str(exc), *notes])) from exc
            return path, notes + more
        return _guarded(student_id(entry.stem), "zip", entry, [], from_zip)
    return None


def _guarded(student: str, origin: Origin, entry: Path, notes: list[str],
             find: Callable[[], tuple[Path, list[str]]]) -> Submission:
    """Run `find`; a SubmissionError or OSError becomes a Submission with `error` (never a crash)."""
    try:
        path, more = find()
    except (SubmissionError, OSError) as exc:
        return Submission(student=student, path=None, origin=origin, source=entry, notes=notes, error=str(exc))
    return Submission(student=student, path=path, origin=origin, source=entry, notes=notes + more)


def _merge_duplicates(found: list[Submission]) -> list[Submission]:
    """Two entries for one student (alice.py and alice.zip) cannot both be graded: record an error."""
    by_student: dict[str, list[Submission]] = defaultdict(list)
    for submission in found:
        by_student[submission.student.casefold()].append(submission)  # casefold: case-insensitive disks
    merged: list[Submission] = []
    for group in by_student.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        names = ", ".join(sub.source.name for sub in group)
        merged.append(group[0].model_copy(update={
            "path": None, "error": f"several submissions for student {group[0].student}: {names}"}))
    return sorted(merged, key=lambda sub: sub.student)


def discover(class_dir: str | Path, *, work_dir: str | Path, class_name: str = "SimpleNN",
             exclude: Iterable[Path] = ()) -> list[Submission]:
    """Every student's submission under `class_dir`, sorted by student id.

    work_dir: where archives are extracted and notebooks converted (one subfolder per entry, replaced
    on every call). exclude: folders to ignore (e.g. the batch output folder when it is inside class_dir).
    Raises SubmissionError only when `class_dir` itself is not a folder.
    """
    root = Path(class_dir)
    if not root.is_dir():
        raise SubmissionError(f"{root}: not a folder of submissions")
    skipped = {path.resolve() for path in (*exclude, Path(work_dir))}
    entries = [entry for entry in sorted(root.iterdir())
               if not entry.name.startswith(".") and entry.name not in _SKIPPED_DIRS
               and not entry.is_symlink() and entry.resolve() not in skipped]
    classroom = classroom_students(entry.name for entry in entries if entry.is_dir())
    found = [sub for entry in entries if (sub := _from_entry(entry, Path(work_dir), class_name, classroom))]
    return _merge_duplicates(found)
