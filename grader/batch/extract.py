"""Turn archives and notebooks into plain files the grader can read, without trusting them.

Both functions raise SubmissionError for a submission that cannot be used at all; anything merely odd
(an unsafe zip entry, a `%matplotlib` line) is skipped and reported as a note.
"""

from __future__ import annotations

import stat
import warnings
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError

MAX_ZIP_ENTRIES = 500
MAX_ZIP_BYTES = 20 * 2**20  # uncompressed total: a class submission is a few source files
MAX_NOTEBOOK_BYTES = 20 * 2**20  # notebooks carry their outputs (images), so allow more than a .py
_CHUNK = 64 * 1024
# Folders archivers add that never hold the submission.
_JUNK_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be extracted (None when it is safe)."""
    name = info.filename.replace("\\", "/")  # archives made on Windows may use backslashes
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        return "absolute path"
    if ".." in path.parts:
        return "path escapes the archive"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no Unix mode
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file"
    return None


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one entry, reading at most `budget` bytes: the header's size can lie (zip bombs)."""
    written = 0
    with archive.open(info) as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise SubmissionError(f"archive expands to more than {MAX_ZIP_BYTES // 2**20} MB")
            dst.write(chunk)
    target.chmod(0o644)  # never keep the archive's permission bits (setuid, world-writable)
    return written


def extract_zip(archive_path: Path, dest: Path) -> list[str]:
    """Extract `archive_path` into `dest` (created), skipping unsafe entries; return notes.

    Rejected: absolute paths, '..' components, symlinks and other special files (skipped with a note);
    more than MAX_ZIP_ENTRIES entries or MAX_ZIP_BYTES uncompressed (the whole archive is refused).
    """
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{archive_path.name}: not a readable zip archive ({exc})") from exc
    notes: list[str] = []
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise SubmissionError(f"{archive_path.name}: {len(entries)} entries (limit {MAX_ZIP_ENTRIES})")
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        budget = MAX_ZIP_BYTES
        for info in entries:
            reason = _unsafe_reason(info)
            if reason is not None:
                notes.append(f"rejected archive entry {info.filename!r} ({reason})")
                continue
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.is_dir() or not parts or _JUNK_PARTS.intersection(parts):
                continue
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(root):  # belt and braces after the checks above
                notes.append(f"rejected archive entry {info.filename!r} (path escapes the archive)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                budget -= _copy_bounded(archive, info, target, budget)
            except (RuntimeError, zipfile.BadZipFile, OSError, EOFError) as exc:  # encrypted, corrupt
                raise SubmissionError(f"{archive_path.name}: cannot extract {info.filename!r}: {exc}") from exc
    return notes


def _is_magic(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("%", "!"))


def notebook_code(path: Path) -> tuple[str, int]:
    """The code cells of a notebook as one Python source, and how many magic/shell lines were dropped.

    `%%` cell magics drop their whole cell (its body is not Python); `%line` magics and `!shell` lines
    are dropped; an indented one becomes `pass` so the block around it stays valid Python.
    """
    import nbformat  # imported here: only notebooks need it, and it is slow to import

    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path.name}: notebook larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():  # validation warnings about old notebook formats are noise here
            warnings.simplefilter("ignore")
            notebook = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # noqa: BLE001 - nbformat raises many types for a broken file
        raise SubmissionError(f"{path.name}: not a readable Jupyter notebook ({exc})") from exc
    chunks: list[str] = []
    dropped = 0
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        lines = str(cell.get("source", "")).splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            dropped += len(lines)
            continue
        kept: list[str] = []
        for line in lines:
            if _is_magic(line):
                dropped += 1
                indent = line[: len(line) - len(line.lstrip())]
                if indent:
                    kept.append(f"{indent}pass")
            else:
                kept.append(line)
        chunks.append(f"# In[{number}]:\n" + "\n".join(kept))
    return "\n\n\n".join(chunks) + "\n", dropped


def write_notebook_py(notebook: Path, target: Path) -> list[str]:
    """Write the notebook's code to `target`; return the notes to record."""
    code, dropped = notebook_code(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(code, encoding="utf-8")
    notes = [f"converted notebook {notebook.name} to {target.name}"]
    if dropped:
        notes.append(f"dropped {dropped} magic/shell lines")
    return notes
