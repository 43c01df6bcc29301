"""from_scratch: a static (AST) check that only NumPy and the standard library are imported.

Done on the host from the source text: parsing never executes student code. Imports anywhere count,
including inside functions and try/except fallbacks, and `__import__("x")` / importlib calls with a
literal name.
"""

from __future__ import annotations

import ast
import sys
import threading

from grader.checks.base import Evidence, Verdict, failed, passed
from grader.rubric import FromScratchCheck


def imported_modules(tree: ast.AST) -> dict[str, int]:
    """Top-level module names imported anywhere in the tree, with the first line of each."""
    found: dict[str, int] = {}
    for node in ast.walk(tree):
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


# CPython 3.11's AST constructor keeps a recursion counter that concurrent parses in several threads
# corrupt ("SystemError: AST constructor recursion depth mismatch", seen in parallel batches).
_PARSE_LOCK = threading.Lock()


def parse(source: str, filename: str = "submission.py") -> ast.Module:
    """ast.parse, one thread at a time (see _PARSE_LOCK)."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename)


def syntax_error(source: str, filename: str = "submission.py") -> SyntaxError | None:
    """The SyntaxError the source would raise at import, or None."""
    try:
        parse(source, filename=filename)
    except SyntaxError as exc:
        return exc
    except ValueError as exc:  # null bytes
        return SyntaxError(str(exc))
    return None


def check_from_scratch(check: FromScratchCheck, evidence: Evidence) -> Verdict:
    error = syntax_error(evidence.source)
    if error is not None:
        where = f" (line {error.lineno})" if error.lineno else ""
        return failed("syntax_error", f"cannot parse the file: {error.msg}{where}", line=error.lineno)
    allowed = set(check.allowed) | set(sys.stdlib_module_names) | {"__future__"}
    modules = imported_modules(parse(evidence.source))
    forbidden = {name: line for name, line in modules.items() if name not in allowed}
    if forbidden:
        listed = ", ".join(f"{name} (line {line})" for name, line in sorted(forbidden.items(), key=lambda x: x[1]))
        return failed("forbidden_import", f"imports beyond NumPy and the standard library: {listed}",
                      modules=",".join(sorted(forbidden)))
    return passed("only NumPy and the standard library are imported",
                  modules=",".join(sorted(modules)))
