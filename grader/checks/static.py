"""from_scratch: a static (AST) check that only NumPy, the standard library and the submission's own
modules are imported, in every file of the submission.

Done on the host from the source text: parsing never executes student code, and it is bounded (a
150,000-term expression or 100,000 nested operators is a clean failure, not a crash). Imports anywhere
count, including inside functions and try/except fallbacks, and `__import__("x")` / importlib calls with
a literal name. Modules the submission provides itself (`utils.py`, a package folder, relative imports)
are local, never "an ML library".
"""

from __future__ import annotations

import ast
import sys
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field

from grader.checks.base import CheckConfig, CheckKind, Evidence, Verdict, failed, passed
from grader.submission import SourceError, parse_bounded


class FromScratchCheck(CheckConfig):
    """Static (AST) check: only NumPy, the standard library and the submission's own modules are imported."""

    kind: Literal["from_scratch"] = "from_scratch"
    allowed: list[str] = Field(default=["numpy"], description="Third-party top-level modules allowed.")


def imported_modules(tree: ast.AST) -> dict[str, int]:
    """Top-level names of absolute imports anywhere in the tree, with the first line of each."""
    found: dict[str, int] = {}
    for node in ast.walk(tree):  # iterative: no recursion on deep trees
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            names = [node.args[0].value]  # type: ignore[attr-defined]
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)  # type: ignore[attr-defined]
    return found


def _dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return (name in ("__import__", "import_module") and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


def local_modules(paths: list[str], entry: str) -> set[str]:
    """Top-level names the submission's own files provide, seen from its root and from the entry's folder."""
    names: set[str] = set()
    entry_dir = PurePosixPath(entry).parent
    for path in map(PurePosixPath, paths):
        for base in {PurePosixPath("."), entry_dir}:
            try:
                relative = path.relative_to(base) if str(base) != "." else path
            except ValueError:
                continue
            first = relative.parts[0]
            names.add(first[:-3] if first.endswith(".py") and len(relative.parts) == 1 else first)
    return names


def check_from_scratch(check: FromScratchCheck, evidence: Evidence) -> Verdict:
    allowed = set(check.allowed) | set(sys.stdlib_module_names) | {"__future__"}
    local = local_modules(list(evidence.sources), evidence.entry)
    forbidden: dict[str, str] = {}
    used_local: set[str] = set()
    for path, source in sorted(evidence.sources.items()):
        try:
            tree = parse_bounded(source, path)
        except SourceError as exc:
            return failed("unparsable", str(exc), line=exc.lineno)
        for name, line in imported_modules(tree).items():
            if name in local:
                used_local.add(name)
            elif name not in allowed:
                forbidden.setdefault(name, f"{name} ({path} line {line})")
    if forbidden:
        return failed("forbidden_import", "imports beyond NumPy and the standard library: "
                      + ", ".join(forbidden.values()), modules=",".join(sorted(forbidden)))
    own = f"; local modules: {', '.join(sorted(used_local))}" if used_local else ""
    return passed(f"only NumPy and the standard library are imported{own}", files=len(evidence.sources))


KIND = CheckKind(
    kind="from_scratch", config=FromScratchCheck, run=check_from_scratch,
    diagnoses={
        "forbidden_import": "Implement the network with NumPy only: remove imports of other ML or array "
                            "libraries (your own helper modules are fine).",
        "unparsable": "The file cannot be analysed: fix the syntax error at the line shown (run `python "
                      "your_file.py` to see it), or split the giant expression.",
    })
