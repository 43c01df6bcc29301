"""What a submission is: the one rule for finding its entry point and its files.

`nngrader check`, `batch` and the Gradescope autograder all call `collect(path)`:

    simple_nn.py     that file is the entry; the local modules it imports (siblings `utils.py`, packages
                     with `__init__.py`, relative imports) are included, transitively
    work.ipynb       the notebook's code cells, converted to work.py (magics and `!` lines dropped)
    hw.zip           its .py and .ipynb members, read in memory (never extracted), then the folder rule
    folder/          every .py file under it; the entry is the unique file defining a class with forward,
                     backward and train, else the unique one naming `class <class_name>`, else the unique one
                     with a class defining forward (a partial contract is graded as far as it goes), else the
                     only .py file, else the same rule over its notebooks; `entry=` overrides the rule

Everything here reads files written by someone who may want a better grade or a broken grader. Reading is
bounded (file count, bytes, folder depth, name length); symbolic links, FIFOs, sockets and devices are
skipped with a note and never opened (regular files are opened with O_NOFOLLOW|O_NONBLOCK and checked with
fstat); names that are not UTF-8 or hold control characters are skipped with a note. Source files are only
parsed, never imported, and `parse_bounded` bounds the parse itself (size, nesting depth), so no
RecursionError or MemoryError ever escapes.

Errors: SubmissionError (one clear line) when nothing gradable is there; SourceError (a SubmissionError)
from parse_bounded, which says whether the source has a syntax error or is beyond the parser's bounds.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import re
import stat
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import Field

from grader.errors import SubmissionError
from grader.models import StrictModel
from grader.textsafe import one_line

MAX_FILES = 200  # .py files in one submission: more means a virtualenv or a data set came along
MAX_SCANNED = 5_000  # directory entries of any kind looked at in a folder (or members in an archive)
MAX_TOTAL_BYTES = 8 * 2**20  # all source files of one submission together
MAX_SOURCE_BYTES = 1_000_000  # one .py file (the same cap as grading a single file)
MAX_NOTEBOOK_BYTES = 20 * 2**20  # notebooks carry their outputs (images), so allow more than a .py
MAX_NOTEBOOKS = 10  # notebooks looked at when a folder has no .py entry
MAX_ARCHIVE_BYTES = 50 * 2**20  # a .zip file itself (its members are bounded like the files of a folder)
MAX_DEPTH = 12  # folder levels below the submission's root
MAX_NAME_CHARS = 100  # one file or folder name
MAX_AST_DEPTH = 200  # AST nesting: recursive visitors (ast.NodeVisitor) stay far from the recursion limit
METHODS = ("forward", "backward", "train")
SKIPPED_DIRS = frozenset({".git", "__pycache__", "__MACOSX", ".ipynb_checkpoints", "venv", ".venv", "env",
                          "node_modules", "site-packages"})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SHOWN = 5  # names listed in one note before "and N more"


class SubmissionFiles(StrictModel):
    """A submission as graded: its files in memory and the one that defines the network."""

    display: str = Field(description="What the user gave (path as given), for reports.")
    entry: str = Field(description="Posix path, relative, of the module that defines the class.")
    files: dict[str, bytes] = Field(description="Relative posix path -> content, entry included (a notebook is "
                                                "converted to .py here).")
    notes: list[str] = Field(default_factory=list, description="What collection did ('graded pkg/model.py', "
                                                               "'converted notebook', skipped files, ...).")

    def digest(self) -> str:
        """SHA-256 of the entry's path and every file's path and content: what a grade depends on."""
        sha = hashlib.sha256(f"entry:{self.entry}\n".encode())
        for name in sorted(self.files):
            content = self.files[name]
            sha.update(f"{len(name.encode())}:{name}:{len(content)}:".encode())
            sha.update(content)
        return sha.hexdigest()

    def write(self, folder: Path) -> Path:
        """Write every file under `folder` (created); return the entry's path. Refuses paths leaving it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or any(part in ("", ".", "..") for part in parts):
                raise SubmissionError(f"refusing to write {name!r}: not a plain relative path")
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(0o644)
        return folder.joinpath(*PurePosixPath(self.entry).parts)


class SourceError(SubmissionError):
    """A source file that cannot be analysed: a syntax error, or beyond the parser's bounds."""

    def __init__(self, filename: str, reason: str, *, lineno: int | None = None, too_complex: bool = False):
        where = f" (line {lineno})" if lineno else ""
        super().__init__(f"{filename}: {reason}{where}")
        self.filename, self.reason, self.lineno, self.too_complex = filename, reason, lineno, too_complex


# ------------------------------------------------------------------------------------------- parsing
# CPython 3.11's AST constructor keeps a recursion counter that concurrent parses in several threads
# corrupt ("SystemError: AST constructor recursion depth mismatch", seen in parallel batches): every
# parse in the process takes this one lock (grader.checks.static shares it).
PARSE_LOCK = threading.Lock()


def parse_bounded(source: str | bytes, filename: str = "submission.py") -> ast.Module:
    """ast.parse with bounds: SourceError instead of RecursionError, MemoryError or a tree too deep to walk.

    Bytes are decoded as Python would import them (coding cookie, BOM). A syntax error gives a SourceError
    with `lineno` and too_complex=False; a source over MAX_SOURCE_BYTES, or nested more than MAX_AST_DEPTH
    levels (`1+1+...` with 150,000 terms, 5,000 nested lambdas), gives too_complex=True. The returned tree
    is at most MAX_AST_DEPTH deep, so recursive visitors are safe on it.
    """
    size = len(source)
    if size > MAX_SOURCE_BYTES:
        raise SourceError(filename, f"{size} bytes is too large to analyse (limit {MAX_SOURCE_BYTES})",
                          too_complex=True)
    try:
        with PARSE_LOCK:
            tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SourceError(filename, f"syntax error: {exc.msg}", lineno=exc.lineno) from None
    except ValueError as exc:  # null bytes (a SyntaxError from Python 3.12 on)
        raise SourceError(filename, f"syntax error: {exc}") from None
    except (RecursionError, MemoryError):  # the parser's own stack limits: a nesting bomb, not a full memory
        raise SourceError(filename, f"nested too deeply to analyse (more than {MAX_AST_DEPTH} levels)",
                          too_complex=True) from None
    deep = _too_deep(tree)
    if deep is not None:
        raise SourceError(filename, f"nested too deeply to analyse (more than {MAX_AST_DEPTH} levels)",
                          lineno=deep, too_complex=True)
    return tree


def _too_deep(tree: ast.AST) -> int | None:
    """The line where the tree first goes deeper than MAX_AST_DEPTH, or None (iterative: cannot overflow)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_AST_DEPTH:
            return getattr(node, "lineno", None) or 1
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def _classes(tree: ast.Module) -> dict[str, set[str]]:
    """Class name -> the names of the methods it defines, for every class in the module."""
    return {node.name: {item.name for item in node.body if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


# ------------------------------------------------------------------------------------------- reading
@dataclass
class _Skipped:
    """What reading left out, kept as counted categories so a flood of odd files gives a few notes."""

    kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, name: str) -> None:
        self.kinds.setdefault(kind, []).append(name)

    def notes(self) -> list[str]:
        notes = []
        for kind, names in self.kinds.items():
            shown = ", ".join(one_line(name, 80) for name in sorted(names)[:_SHOWN])
            more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
            notes.append(f"skipped {kind}: {shown}{more}")
        return notes


@dataclass
class _Tree:
    """The readable part of a submission: sources and notebooks by relative posix path."""

    sources: dict[str, bytes] = field(default_factory=dict)
    notebooks: dict[str, bytes] = field(default_factory=dict)
    skipped: _Skipped = field(default_factory=_Skipped)
    total: int = 0  # bytes of .py sources
    notebook_total: int = 0

    def add(self, name: str, content: bytes) -> None:
        if name.endswith(".ipynb"):  # notebooks are only read when no .py is the entry: skip, never refuse
            if self.notebook_total + len(content) > MAX_NOTEBOOK_BYTES:
                self.skipped.add(f"notebooks beyond {MAX_NOTEBOOK_BYTES // 2**20} MB in all", name)
            else:
                self.notebook_total += len(content)
                self.notebooks[name] = content
            return
        self.total += len(content)
        if self.total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"more than {MAX_TOTAL_BYTES // 2**20} MB of source files")
        self.sources[name] = content
        if len(self.sources) > MAX_FILES:
            raise SubmissionError(f"more than {MAX_FILES} .py files: is a virtualenv or a data set included?")


def shown_name(name: str | os.PathLike[str]) -> str:
    """A file name fit to show and store: undecodable bytes as \\xNN escapes (never lone surrogates)."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def _name_problem(name: str) -> str | None:
    """Why a file or folder name is skipped (None when it is fine)."""
    if shown_name(name) != name:
        return "names that are not valid UTF-8"
    if _CONTROL.search(name):
        return "names with control characters"
    if len(name) > MAX_NAME_CHARS:
        return f"names longer than {MAX_NAME_CHARS} characters"
    return None


def _special_kind(mode: int) -> str:
    """'FIFO', 'socket', 'device' or 'special file' for a non-regular, non-directory mode."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, at most `limit`; SubmissionError for a link, FIFO, device or larger file.

    Opened with O_NOFOLLOW|O_NONBLOCK and checked with fstat before reading: a FIFO or a device put in the
    place of a file between a listing and this call is neither followed nor waited on.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    name = shown_name(path.name)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        reason = "a symbolic link" if path.is_symlink() else exc.strerror or str(exc)
        raise SubmissionError(f"{name}: cannot read it ({reason})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SubmissionError(f"{name}: a {_special_kind(mode)}, not a regular file")
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 16):
            size += len(chunk)
            if size > limit:
                raise SubmissionError(f"{name}: larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _scan_folder(root: Path) -> _Tree:
    """Every .py and .ipynb file under `root`, bounded; odd entries are skipped with a note, never opened.

    Iterative (no recursion a deep tree could exhaust); hidden entries and caches/virtualenvs are ignored.
    """
    tree, scanned = _Tree(), 0
    pending: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while pending:
        folder, parts = pending.pop()
        with os.scandir(folder) as listing:
            entries = []
            for entry in listing:
                scanned += 1
                if scanned > MAX_SCANNED:
                    raise SubmissionError(f"more than {MAX_SCANNED} files and folders: is a virtualenv or a "
                                          "data set included?")
                entries.append(entry)
        subfolders = []
        for entry in sorted(entries, key=lambda e: e.name):
            rel = "/".join((*parts, shown_name(entry.name)))
            if entry.name.startswith(".") or entry.name in SKIPPED_DIRS:
                continue
            problem = _name_problem(entry.name)
            if problem is not None:
                tree.skipped.add(problem, rel)
            elif entry.is_symlink():
                tree.skipped.add("symbolic links", rel)
            elif entry.is_dir(follow_symlinks=False):
                if len(parts) + 1 > MAX_DEPTH:
                    tree.skipped.add(f"folders deeper than {MAX_DEPTH} levels", rel)
                else:
                    subfolders.append((Path(entry.path), (*parts, entry.name)))
            elif not entry.is_file(follow_symlinks=False):
                kind = _special_kind(entry.stat(follow_symlinks=False).st_mode)
                tree.skipped.add(f"{kind}s" if kind != "special file" else "special files", rel)
            elif entry.name.endswith((".py", ".ipynb")):
                limit = MAX_SOURCE_BYTES if entry.name.endswith(".py") else MAX_NOTEBOOK_BYTES
                try:
                    content = read_regular(Path(entry.path), limit)
                except SubmissionError as exc:
                    tree.skipped.add("unreadable files", f"{rel} ({str(exc).split(': ', 1)[-1]})")
                    continue
                tree.add(rel, content)
        pending.extend(reversed(subfolders))
    return tree


# ------------------------------------------------------------------------------------------- archives
def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an archive member is not read (None when it is an ordinary file or folder)."""
    name = info.filename.replace("\\", "/")  # archives made on Windows may use backslashes
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        return "absolute paths"
    if ".." in path.parts:
        return "paths leaving the archive"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no Unix mode
    if kind == stat.S_IFLNK:
        return "symbolic links"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "special files"
    if len(path.parts) > MAX_DEPTH + 1:
        return f"folders deeper than {MAX_DEPTH} levels"
    return next((problem for part in path.parts if (problem := _name_problem(part))), None)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """One member, reading at most `limit` bytes: the sizes in the header can lie (zip bombs)."""
    with archive.open(info) as member:
        content = member.read(limit + 1)
    if len(content) > limit:
        raise SubmissionError(f"{one_line(info.filename, 80)}: expands to more than {limit} bytes")
    return content


def _scan_zip(path: Path) -> _Tree:
    """The .py and .ipynb members of a zip archive, read in memory with every bound of a folder."""
    tree = _Tree()
    try:
        archive = zipfile.ZipFile(io.BytesIO(read_regular(path, MAX_ARCHIVE_BYTES)))
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, OSError) as exc:
        raise SubmissionError(f"{shown_name(path.name)}: not a readable zip archive ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_SCANNED:
            raise SubmissionError(f"{shown_name(path.name)}: {len(members)} members (limit {MAX_SCANNED})")
        for info in members:
            problem = _zip_member_problem(info)
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if problem is not None:
                tree.skipped.add(problem, one_line(info.filename, 80))
                continue
            hidden = any(part.startswith(".") or part in SKIPPED_DIRS for part in parts)
            if info.is_dir() or hidden or not parts[-1].endswith((".py", ".ipynb")):
                continue
            limit = MAX_SOURCE_BYTES if parts[-1].endswith(".py") else MAX_NOTEBOOK_BYTES
            try:
                content = _read_member(archive, info, limit)
            except (RuntimeError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
                raise SubmissionError(f"{shown_name(path.name)}: cannot read {info.filename!r}: {exc}") from None
            tree.add("/".join(parts), content)
    return tree


# ------------------------------------------------------------------------------------------- notebooks
def _is_magic(line: str) -> bool:
    return line.lstrip().startswith(("%", "!"))


def notebook_source(raw: bytes, name: str) -> tuple[str, int]:
    """The code cells of a notebook as one Python source, and how many magic/shell lines were dropped.

    `%%` cell magics drop their whole cell (its body is not Python); `%line` magics and `!shell` lines
    are dropped; an indented one becomes `pass` so the block around it stays valid Python.
    """
    import nbformat  # imported here: only notebooks need it, and it is slow to import

    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{name}: notebook larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():  # validation warnings about old notebook formats are noise here
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        cells = [(str(cell.get("source", "")), cell.get("cell_type")) for cell in notebook.cells]
    except Exception as exc:  # noqa: BLE001 - nbformat and json raise many types (RecursionError too)
        raise SubmissionError(f"{name}: not a readable Jupyter notebook ({one_line(str(exc), 120)})") from None
    chunks: list[str] = []
    dropped = 0
    for number, (source, kind) in enumerate(cells, start=1):
        if kind != "code":
            continue
        lines = source.splitlines()
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


def _converted(name: str, raw: bytes, taken: Iterable[str]) -> tuple[str, bytes, list[str]]:
    """A notebook as (relative .py name, source bytes, notes); the name avoids the .py files in `taken`."""
    code, dropped = notebook_source(raw, name)
    target = name[: -len(".ipynb")] + ".py"
    if target in set(taken):
        target = name[: -len(".ipynb")] + "_notebook.py"
    notes = [f"converted notebook {name} to {target}"]
    if dropped:
        notes.append(f"dropped {dropped} magic/shell lines")
    return target, code.encode(), notes


# ------------------------------------------------------------------------------------------- the entry rule
def _analysed(name: str, content: bytes) -> dict[str, set[str]] | None:
    """The classes a file defines, or None when it cannot be parsed (within bounds)."""
    try:
        return _classes(parse_bounded(content, name))
    except SourceError:
        return None


def _rules(class_name: str) -> list[tuple[str, Callable[[bytes, dict[str, set[str]] | None], bool]]]:
    """The entry rule, most specific first: (what it looks for, test on content and parsed classes)."""
    names_class = re.compile(rb"^[ \t]*class[ \t]+" + re.escape(class_name.encode()) + rb"\b", re.MULTILINE)
    def has_class_with(methods: set[str]) -> Callable[[bytes, dict[str, set[str]] | None], bool]:
        return lambda _, classes: classes is not None and any(methods <= defined for defined in classes.values())

    return [("a class with forward, backward and train", has_class_with(set(METHODS))),
            (f"class {class_name}", lambda content, _: names_class.search(content) is not None),
            ("a class with forward", has_class_with({"forward"}))]


def _listed(names: Iterable[str]) -> str:
    names = sorted(names)
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(one_line(name, 80) for name in names[:10]) + more


def _pick(candidates: dict[str, bytes], class_name: str) -> str | None:
    """The entry among `candidates` by the rule; None when no rule matches; SubmissionError when ambiguous.

    Several files defining a (partial) network are narrowed to those naming `class <class_name>`.
    """
    parsed = {name: _analysed(name, content) for name, content in candidates.items()}
    rules = _rules(class_name)
    for index, (what, test) in enumerate(rules):
        found = [name for name in candidates if test(candidates[name], parsed[name])]
        if len(found) > 1 and index != 1:
            found = [name for name in found if rules[1][1](candidates[name], parsed[name])] or found
        if len(found) == 1:
            return found[0]
        if found:
            raise SubmissionError(f"several files could be the submission ({what}): {_listed(found)}; keep the "
                                  "network in one file, or name the entry (--entry)")
    return None


def _given_entry(entry: str, names: Iterable[str]) -> str:
    """The file `entry` names: the exact relative path, else the unique file whose path ends with it."""
    wanted = PurePosixPath(entry.replace("\\", "/")).as_posix().lstrip("/")
    names = list(names)
    if wanted in names:
        return wanted
    endings = [name for name in names if name.endswith("/" + wanted)]
    if len(endings) == 1:
        return endings[0]
    found = f"several files match: {_listed(endings)}" if endings else f".py files found: {_listed(names) or 'none'}"
    raise SubmissionError(f"no single file {one_line(entry, 80)} (the given entry) in the submission; {found}")


def _from_tree(display: str, tree: _Tree, entry: str | None, class_name: str) -> SubmissionFiles:
    """The folder rule over a scanned tree (a folder or an archive)."""
    sources, notes = dict(tree.sources), tree.skipped.notes()
    try:
        chosen = _entry_of(tree, sources, notes, entry, class_name)
    except SubmissionError as exc:
        if notes:  # say what reading skipped: it may be why nothing gradable is left
            raise SubmissionError("; ".join([str(exc), *notes])) from None
        raise
    others = len(sources) - 1
    notes.insert(0, f"graded {chosen}" + (f" ({others} other .py file{'s' * (others > 1)} available to import)"
                                          if others else ""))
    return SubmissionFiles(display=display, entry=chosen, files=sources, notes=notes)


def _entry_of(tree: _Tree, sources: dict[str, bytes], notes: list[str], entry: str | None, class_name: str) -> str:
    """The entry's relative path; a converted notebook is added to `sources` and its notes to `notes`."""
    if entry is not None:
        chosen = _given_entry(entry, list(sources) + list(tree.notebooks))
        if chosen.endswith(".ipynb"):
            chosen, code, more = _converted(chosen, tree.notebooks[chosen], sources)
            sources[chosen] = code
            notes += more
        return chosen
    found = _pick(sources, class_name) if sources else None
    if found is None and tree.notebooks:
        found = _notebook_entry(tree, sources, notes, class_name, only_one_counts=not sources)
    if found is None and len(sources) == 1:
        found = next(iter(sources))
    if found is None:
        raise SubmissionError(f"no file defines class {class_name}; .py files found: {_listed(sources)}"
                              if sources else "no .py or .ipynb file found")
    return found


def _notebook_entry(tree: _Tree, sources: dict[str, bytes], notes: list[str], class_name: str, *,
                    only_one_counts: bool) -> str | None:
    """The entry among the notebooks (converted into `sources`, notes appended), or None.

    only_one_counts: a lone notebook is the entry even when no rule matches it (there is no .py file).
    """
    names = sorted(tree.notebooks)[:MAX_NOTEBOOKS]
    if len(tree.notebooks) > MAX_NOTEBOOKS:
        notes.append(f"only the first {MAX_NOTEBOOKS} of {len(tree.notebooks)} notebooks were considered")
    converted: dict[str, tuple[str, bytes, list[str]]] = {}
    for name in names:
        try:
            converted[name] = _converted(name, tree.notebooks[name], sources)
        except SubmissionError as exc:
            if len(names) == 1:
                raise
            notes.append(f"skipped notebook: {exc}")
    chosen = _pick({name: code for name, (_, code, _) in converted.items()}, class_name)
    if chosen is None and only_one_counts and len(converted) == 1:
        chosen = next(iter(converted))
    if chosen is None:
        return None
    target, code, more = converted[chosen]
    sources[target] = code
    notes.extend(more)
    return target


# ------------------------------------------------------------------------------------------- local imports
def _imported(tree: ast.Module, package: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Dotted module names (as parts) a module may import, relative imports resolved against `package`.

    `from a import b` yields a and a.b (b may be a submodule); levels above the root are dropped.
    """
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(tuple(alias.name.split(".")) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package):
                    continue
                base = package[: len(package) - (node.level - 1)]
            else:
                base = ()
            module = (*base, *(node.module.split(".") if node.module else ()))
            if module:
                found.add(module)
            found.update((*module, alias.name) for alias in node.names if alias.name != "*")
    return found


def _module_files(parts: tuple[str, ...], folder: Path) -> list[Path]:
    """The files importing `parts` from `folder` would run: each package's __init__.py, then the module."""
    files: list[Path] = []
    here = folder
    for index, part in enumerate(parts):
        if not part.isidentifier():
            break
        if index == len(parts) - 1 and (here / f"{part}.py").is_file():
            files.append(here / f"{part}.py")
            break
        here = here / part
        if here.is_symlink() or not here.is_dir():
            break
        if (here / "__init__.py").is_file():
            files.append(here / "__init__.py")
    return files


def _package_root(path: Path) -> Path:
    """The folder a file's imports are resolved from: its own, or above the packages (__init__.py) it is in."""
    root = path.parent
    for _ in range(MAX_DEPTH):
        if not (root / "__init__.py").is_file() or root.parent == root:
            break
        root = root.parent
    return root


def _safe_file_name(name: str) -> str:
    """A file name with undecodable bytes and control characters replaced, for a file given by the user."""
    return _CONTROL.sub("_", shown_name(name).replace("\\", "_"))


def _collect_file(path: Path, follow_imports: bool) -> SubmissionFiles:
    """A .py file and the local modules it imports, transitively (with the __init__.py of its packages)."""
    root = _package_root(path) if follow_imports else path.parent
    entry = (path.parent.relative_to(root) / _safe_file_name(path.name)).as_posix()
    search = [root] if path.parent == root else [root, path.parent]  # sys.path holds one or the other
    sources: dict[str, bytes] = {entry: read_regular(path, MAX_SOURCE_BYTES)}
    notes: list[str] = []
    queue: list[Path] = [folder / "__init__.py" for folder in path.parents if root in folder.parents]
    pending: list[str] = [entry] if follow_imports else []
    while pending or queue:
        for name in pending:  # parse what was just read, queue the local modules it imports
            try:
                tree = parse_bounded(sources[name], name)
            except SourceError as exc:
                notes.append(f"imports of {name} not followed: {exc.reason}")
                continue
            package = PurePosixPath(name).parent.parts
            for parts in sorted(_imported(tree, package)):
                queue.extend(file for folder in search for file in _module_files(parts, folder))
        pending = []
        for file in queue:
            name = file.relative_to(root).as_posix()
            if name in sources or _name_problem(file.name) or not file.resolve().is_relative_to(root.resolve()):
                continue
            if len(sources) >= MAX_FILES or sum(map(len, sources.values())) > MAX_TOTAL_BYTES:
                notes.append(f"stopped following imports at {MAX_FILES} files or {MAX_TOTAL_BYTES // 2**20} MB")
                queue = []
                break
            try:
                sources[name] = read_regular(file, MAX_SOURCE_BYTES)
            except SubmissionError as exc:
                notes.append(f"skipped module {exc}")
                continue
            pending.append(name)
        queue = []
    modules = sorted(name for name in sources if name != entry)
    if modules:  # a lone file needs no note: it is what the user named
        notes.insert(0, f"graded {entry} with the local modules it imports: {_listed(modules)}")
    if entry != path.relative_to(root).as_posix():
        notes.append(f"file name {shown_name(path.name)} is not plain UTF-8: graded as {entry}")
    return SubmissionFiles(display=shown_name(path), entry=entry, files=sources, notes=notes)


# ------------------------------------------------------------------------------------------- collect
def collect(path: Path, *, entry: str | None = None, class_name: str = "SimpleNN",
            follow_imports: bool = True) -> SubmissionFiles:
    """The submission at `path`: a .py file, a .ipynb notebook, a .zip archive or a folder (see the module doc).

    entry: the entry's path relative to the folder or archive (overrides the rule; ignored for a .py file).
    follow_imports: for a .py file, include the local modules it imports (False: the file alone, as in a
    class folder whose other .py files are other students).
    Raises SubmissionError (one clear line) when nothing gradable is there.
    """
    path = Path(path)
    display = shown_name(path)
    try:
        mode = os.stat(path, follow_symlinks=False).st_mode
    except OSError as exc:
        raise SubmissionError(f"{display}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):  # only the path the user typed may be a link: nothing inside a submission
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise SubmissionError(f"{display}: a broken symbolic link ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        return _from_tree(display, _scan_folder(path), entry, class_name)
    if not stat.S_ISREG(mode):
        raise SubmissionError(f"{display}: a {_special_kind(mode)}, not a file or folder")
    if path.suffix == ".py":
        real = path.resolve() if stat.S_ISLNK(os.lstat(path).st_mode) else path
        return _collect_file(real, follow_imports).model_copy(update={"display": display})
    if path.suffix == ".ipynb":
        name, code, notes = _converted(shown_name(path.name), read_regular(path, MAX_NOTEBOOK_BYTES), ())
        return SubmissionFiles(display=display, entry=name, files={name: code}, notes=notes)
    if path.suffix == ".zip":
        return _from_tree(display, _scan_zip(path), entry, class_name)
    raise SubmissionError(f"{display}: not a .py, .ipynb or .zip file, nor a folder")
