"""Corpora as differences: a test case is a base file plus its edit, built into a complete submission.

tests/mutants/corpus.yaml and tests/hostile/corpus.yaml map case names to entries; the entry format is
documented at the top of each file. `Corpus.write(name, folder)` builds the complete, self-contained file
of one case into `folder` (a test's tmp_path, never the source tree). Every edit must apply exactly as
written: an anchor that is missing or ambiguous, a method that does not exist, or an edit that changes
nothing raises CorpusError, so a stale case fails loudly instead of quietly grading its base.

Edits are applied in this order to the base's text, after the base's module docstring has been replaced
by the case's description: prelude, method, insert, replace, append.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE_FILES = {"reference": ROOT / "reference_solution" / "simple_nn.py", "starter": ROOT / "starter" / "simple_nn.py"}
EDITS = ("source", "prelude", "method", "insert", "replace", "append")
KEYS = {"description", "base", "expect", *EDITS}
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class CorpusError(Exception):
    """A case that cannot be built as written (unknown key, missing anchor, edit without effect...)."""


@dataclass
class Corpus:
    """The cases of one corpus file, in file order."""

    path: Path
    cases: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.cases = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        for name, case in self.cases.items():
            unknown = set(case) - KEYS
            if unknown:
                raise CorpusError(f"{name}: unknown keys {sorted(unknown)} (known: {sorted(KEYS)})")
            if not str(case.get("description", "")).strip():
                raise CorpusError(f"{name}: no description")
            if "expect" not in case:
                raise CorpusError(f"{name}: no expect")

    @property
    def names(self) -> list[str]:
        return list(self.cases)

    def expect(self, name: str) -> dict[str, Any]:
        return dict(self.cases[name]["expect"] or {})

    def base_of(self, name: str) -> str:
        case = self.cases[name]
        return "none" if "source" in case else str(case.get("base", "reference"))

    def source(self, name: str, values: Mapping[str, str] | None = None) -> str:
        """The complete file of case `name`; `${key}` placeholders are filled from `values`."""
        text = self._build(name, ())
        missing = sorted(set(PLACEHOLDER.findall(text)) - set(values or {}))
        if missing:
            raise CorpusError(f"{name}: no value for the placeholders {missing}")
        return PLACEHOLDER.sub(lambda match: (values or {})[match.group(1)], text)

    def write(self, name: str, folder: Path, values: Mapping[str, str] | None = None) -> Path:
        """Build case `name` into `folder`/<name>.py and return that path."""
        path = folder / f"{name}.py"
        path.write_text(self.source(name, values), encoding="utf-8")
        return path

    def _build(self, name: str, chain: tuple[str, ...]) -> str:
        if name in chain:
            raise CorpusError(f"base cycle: {' -> '.join((*chain, name))}")
        if name not in self.cases:
            raise CorpusError(f"{chain[-1]}: unknown base {name!r}")
        case = self.cases[name]
        description = case["description"].strip()
        if '"""' in description or "\\" in description:
            raise CorpusError(f'{name}: the description may not contain """ or a backslash')
        docstring = f'"""{description}\n"""\n' if "\n" in description else f'"""{description}"""\n'
        if "source" in case:
            if "base" in case:
                raise CorpusError(f"{name}: give either source or base, not both")
            text = docstring + "\n" + case["source"].lstrip("\n")
        else:
            base = str(case.get("base", "reference"))
            text = BASE_FILES[base].read_text(encoding="utf-8") if base in BASE_FILES \
                else self._build(base, (*chain, name))
            text = with_docstring(text, docstring)
        try:
            if "prelude" in case:
                text = add_prelude(text, case["prelude"])
            for method, code in (case.get("method") or {}).items():
                text = replace_method(text, method, code)
            for method, code in (case.get("insert") or {}).items():
                text = insert_into(text, method, code)
            for edit in case.get("replace") or []:
                text = replace_once(text, edit["old"], edit["new"], int(edit.get("count", 1)))
            if "append" in case:
                text = append(text, case["append"])
        except CorpusError as exc:
            raise CorpusError(f"{name}: {exc}") from None
        return text


def with_docstring(text: str, docstring: str) -> str:
    """`text` with its module docstring replaced by `docstring` (the base must have one)."""
    body = ast.parse(text).body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        raise CorpusError("the base has no module docstring")
    lines = text.splitlines(keepends=True)
    return docstring + "".join(lines[body[0].end_lineno or 1:])


def indent(code: str, prefix: str) -> str:
    """Dedented `code` (as written in YAML) indented by `prefix`, without a trailing newline."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), prefix)


def add_prelude(text: str, code: str) -> str:
    """Insert module-level `code` right after the base's leading imports (before its first def/class)."""
    tree = ast.parse(text)
    after = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            after = node.end_lineno or after
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            break
    lines = text.splitlines(keepends=True)
    head, tail = "".join(lines[:after]).rstrip("\n"), "".join(lines[after:]).lstrip("\n")
    return f"{head}\n\n{indent(code, '')}\n\n\n{tail}"


def find_method(text: str, method: str) -> ast.FunctionDef:
    """The one method called `method` of a top-level class of `text`."""
    found = [node for cls in ast.parse(text).body if isinstance(cls, ast.ClassDef)
             for node in cls.body if isinstance(node, ast.FunctionDef) and node.name == method]
    if len(found) != 1:
        raise CorpusError(f"method {method}: found {len(found)} definitions in the base's classes, expected 1")
    return found[0]


def replace_method(text: str, method: str, code: str | None) -> str:
    """Replace the whole method (decorators, def and body) by `code`; empty `code` deletes it."""
    node = find_method(text, method)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = text.splitlines(keepends=True)
    new = indent(code, " " * node.col_offset) + "\n" if code and code.strip() else ""
    if "".join(lines[first - 1:node.end_lineno]) == new:
        raise CorpusError(f"method {method}: the new code equals the old")
    return "".join(lines[:first - 1]) + new + "".join(lines[node.end_lineno or first:])


def insert_into(text: str, method: str, code: str) -> str:
    """Insert `code` at the start of a method's body, after its docstring."""
    body = find_method(text, method).body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)
    if has_docstring and len(body) == 1:
        raise CorpusError(f"method {method}: only a docstring, nothing to insert before")
    target = body[1] if has_docstring else body[0]
    lines = text.splitlines(keepends=True)
    return "".join(lines[:target.lineno - 1]) + indent(code, " " * target.col_offset) + "\n" \
        + "".join(lines[target.lineno - 1:])


def append(text: str, code: str) -> str:
    """Add module-level `code` at the end, before the `if __name__ == "__main__":` block if there is one."""
    guards = [node for node in ast.parse(text).body if isinstance(node, ast.If)
              and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"']
    lines = text.splitlines(keepends=True)
    at = guards[-1].lineno - 1 if guards else len(lines)
    head, tail = "".join(lines[:at]).rstrip("\n"), "".join(lines[at:])
    return f"{head}\n\n\n{indent(code, '')}\n" + (f"\n\n{tail}" if tail else "")


def replace_once(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace `old` by `new` where it occurs, which must be exactly `count` times.

    Both are written dedented: their lines after the first take the indentation of the line where `old`
    starts, so a multi-line snippet can be copied from any depth of the base.
    """
    old, new = old.strip("\n"), new.strip("\n")
    if old == new:
        raise CorpusError(f"replace: old and new are the same: {old!r}")
    first, *rest = old.split("\n")
    spans: list[tuple[int, int, str]] = []
    start = 0
    while (at := text.find(first, start)) >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        prefix = re.match(r"[ \t]*", text[line_start:at])
        margin = prefix.group(0) if prefix else ""
        candidate = first + "".join("\n" + (margin + line if line.strip() else line) for line in rest)
        if text.startswith(candidate, at):
            spans.append((at, at + len(candidate), margin))
        start = at + 1
    if len(spans) != count:
        raise CorpusError(f"replace: {old!r} occurs {len(spans)} times in the base, expected {count}")
    for begin, end, margin in reversed(spans):
        head, *more = new.split("\n")
        replacement = head + "".join("\n" + (margin + line if line.strip() else line) for line in more)
        text = text[:begin] + replacement + text[end:]
    return text
