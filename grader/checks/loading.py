"""loads and shapes: the submission imports, its class is found and built, its parameters have the right
shapes. When the contract is not met, the message says what was expected and what was found: the class
and its methods with their signatures, the attribute names, their shapes and layouts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from grader.checks.base import CheckConfig, CheckKind, Evidence, Verdict, failed, passed
from grader.results import RecordMeta, StudentError, UntrustedModel

METHODS = ("forward", "backward", "train")


class LoadsCheck(CheckConfig):
    """The submission imports within the load time limit, the class is found and instantiates."""

    kind: Literal["loads"] = "loads"


class ShapesCheck(CheckConfig):
    """The parameters have the architecture's shapes (biases (n,) accepted with a note)."""

    kind: Literal["shapes"] = "shapes"


class ParamInfo(UntrustedModel):
    shape: list[int] | None = Field(default=None, max_length=8)
    type: str = Field(default="", max_length=100)


class BuildMeta(RecordMeta):
    """What the harness found while importing the submission and building the model."""

    class_name: str | None = Field(default=None, max_length=200)
    candidates: list[str] = Field(default_factory=list, max_length=50)
    classes: list[str] = Field(default_factory=list, max_length=50)
    methods: dict[str, str | None] = Field(default_factory=dict, max_length=10)
    init_signature: str | None = Field(default=None, max_length=300)
    other_methods: dict[str, str | None] = Field(default_factory=dict, max_length=20)


class LoadMeta(BuildMeta):
    params: dict[str, ParamInfo | None] = Field(default_factory=dict, max_length=50)
    attributes: dict[str, list[int]] = Field(default_factory=dict, max_length=50)


def _classes(meta: BuildMeta) -> str:
    return ", ".join(meta.classes) or "none"


def _methods(meta: BuildMeta) -> str:
    """'forward(self, X), backward(self, X, y); missing: train'."""
    present = [f"{name}{sig}" for name, sig in meta.methods.items() if sig is not None]
    missing = [name for name in METHODS if meta.methods.get(name) is None]
    return "; ".join(part for part in (", ".join(present), f"missing: {', '.join(missing)}" if missing else "")
                     if part)


def import_failure(error: StudentError, expected: str, meta: BuildMeta) -> Verdict:
    """The verdict for a failed import or build, naming what went wrong and where."""
    if error.type == "SystemExit":
        return failed("exited_early", f"the file called {error.message} while being imported")
    if error.type == "NameError" and "get_ipython" in error.message:
        return failed("notebook_magic", f"importing the submission raised {error.summary()}: a notebook exported to "
                      ".py keeps its %magics as get_ipython() calls")
    if error.type == "ValueError" and "null bytes" in error.message:  # Python 3.11 says ValueError
        return failed("syntax_error", "the file contains null bytes, which Python cannot import")
    if error.type == "SyntaxError":
        return failed("syntax_error", f"SyntaxError in {error.where() or 'the file'}: {error.message}",
                      line=error.line)
    if error.type == "ClassNotFound":
        if len(meta.candidates) > 1:
            return failed("class_not_found", f"no class {expected}, and several classes could be it: "
                          f"{', '.join(meta.candidates)}")
        return failed("class_not_found", f"no class {expected}, and no other class with a forward() method "
                      f"(classes found: {_classes(meta)})")
    if error.phase == "init":
        signature = f" (found __init__{meta.init_signature})" if meta.init_signature else ""
        return failed("init_failed", f"{meta.class_name or expected}() raised {error.summary()}; the grader "
                      f"calls it with no arguments{signature}")
    return failed("import_error", f"importing the submission raised {error.summary()}")


def check_loads(check: LoadsCheck, evidence: Evidence) -> Verdict:
    meta = evidence.record("load", "load", LoadMeta)
    if isinstance(meta, Verdict):
        return meta
    expected = evidence.rubric.architecture.class_name
    if meta.error is not None:
        return import_failure(meta.error, expected, meta)
    found = meta.class_name or expected
    missing = [name for name in METHODS if meta.methods.get(name) is None]
    if missing:
        listed = ", ".join(f"{name}()" for name in missing)
        evidence.notes.append(("missing_methods", f"{found} has no {listed}: the checks that need "
                               f"{'it' if len(missing) == 1 else 'them'} cannot be judged"))
    return passed(f"class {found} imported and built ({_methods(meta)})", class_name=found)


def _similar(name: str, shape: tuple[int, int], attributes: dict[str, list[int]]) -> list[str]:
    """Attributes that look like the expected parameter: the same name in another case, or its shape."""
    found = []
    for other, other_shape in attributes.items():
        if other.lower() == name.lower() or tuple(other_shape) in (shape, shape[::-1]):
            found.append(f"{other} {tuple(other_shape)}")
    return found[:3]


def missing_method(evidence: Evidence, method: str) -> Verdict:
    """The verdict for a check that needs `method`, which the class lacks: what was expected, what was found."""
    meta = evidence.record("load", "load", LoadMeta)
    found = ""
    if not isinstance(meta, Verdict):
        others = [f"{name}{sig or '()'}" for name, sig in meta.other_methods.items()]
        present = [f"{name}{sig}" for name, sig in meta.methods.items() if sig is not None]
        found = f"; {meta.class_name} has " + (", ".join(present + others) or "no public methods")
    return failed("missing_method", f"no {method}() method, so this cannot be judged{found}")


def check_shapes(check: ShapesCheck, evidence: Evidence) -> Verdict:
    meta = evidence.record("load", "load", LoadMeta)
    if isinstance(meta, Verdict):
        return meta
    expected = evidence.rubric.architecture.parameter_shapes()
    missing = [name for name in expected if meta.params.get(name) is None]
    if missing:
        found = {name: _similar(name, expected[name], meta.attributes) for name in missing}
        seen = "; ".join(f"for {name} found {', '.join(similar)}" for name, similar in found.items() if similar)
        return failed("missing_parameter", f"no attribute(s) {', '.join(missing)} after {meta.class_name}()"
                      + (f" ({seen})" if seen else f"; array attributes: "
                         f"{', '.join(f'{n} {tuple(s)}' for n, s in meta.attributes.items()) or 'none'}"))
    wrong, transposed = [], []
    for name, shape in expected.items():
        info = meta.params[name]
        got = tuple(info.shape) if info is not None and info.shape is not None else None
        if got == shape or (name.startswith("b") and got == (shape[1],)):
            continue
        if got == shape[::-1] and name.startswith("W"):
            transposed.append(f"{name} is {got}, expected {shape}")
        else:
            wrong.append(f"{name} is {got if got is not None else info.type if info else 'missing'}, "
                         f"expected {shape}")
    if transposed and not wrong:
        return failed("transposed_layout", "; ".join(transposed) + " (the (out, in) layout)")
    if wrong or transposed:
        return failed("wrong_shape", "; ".join(wrong + transposed))
    if any(info is not None and info.shape is not None and len(info.shape) == 1 for name, info in meta.params.items()
           if name.startswith("b")):
        evidence.notes.append(("bias_shape_1d", "biases have shape (n,) instead of (1, n): accepted"))
    return passed(", ".join(f"{n} {s}" for n, s in expected.items()))


LOADS = CheckKind(
    kind="loads", config=LoadsCheck, run=check_loads, stage="load", records=("load",),
    diagnoses={
        "syntax_error": "Fix the syntax error at the line shown; run `python your_file.py` to see it.",
        "import_error": "The submission raised an error while being imported: keep top-level code to definitions, "
                        "and move data loading and training under `if __name__ == \"__main__\":`.",
        "class_not_found": "Define `class {class_name}` with forward, backward and train methods.",
        "init_failed": "{class_name}() must work with no arguments: give every __init__ parameter a default, "
                       "and fix the error shown.",
        "notebook_magic": "Delete the get_ipython(...) lines (they were %magics or !commands in the notebook), or "
                          "hand in the .ipynb itself: nngrader drops magics from notebooks.",
    })

SHAPES = CheckKind(
    kind="shapes", config=ShapesCheck, run=check_shapes, stage="load", records=("load",),
    diagnoses={
        "wrong_shape": "Use {shapes}, and compute X @ W1 + b1.",
        "missing_parameter": "Store the parameters as the attributes {self_params} (these exact names).",
        "transposed_layout": "Store each weight as (inputs, outputs), {first_w} {first_shape}, so that the "
                             "forward pass is X @ W1 + b1 (not W1 @ X.T).",
    })
