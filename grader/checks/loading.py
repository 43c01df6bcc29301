"""loads and shapes: the file imports, the class is found and built, its parameters have the right shapes."""

from __future__ import annotations

from grader.checks.base import Evidence, Verdict, failed, passed
from grader.checks.static import syntax_error
from grader.models import Status
from grader.rubric import LoadsCheck, ShapesCheck


def check_loads(check: LoadsCheck, evidence: Evidence) -> Verdict:
    error = syntax_error(evidence.source)
    if error is not None:
        where = f", line {error.lineno}" if error.lineno else ""
        return failed("syntax_error", f"SyntaxError in {evidence.filename}{where}: {error.msg}", line=error.lineno)
    meta = evidence.probe("load", "load")
    if isinstance(meta, Verdict):
        return meta
    expected = evidence.rubric.architecture.class_name
    if meta.error is not None:
        err = meta.error
        if err.type == "SystemExit":
            return failed("exited_early", f"the file called {err.message}")
        if err.type == "ClassNotFound":
            classes = ", ".join(err.classes) or "none"
            if len(meta.candidates) > 1:
                return failed("class_not_found", f"no class {expected}, and several classes could be it: "
                              f"{', '.join(meta.candidates)}")
            return failed("class_not_found", f"no class {expected} with forward, backward and train "
                          f"(classes found: {classes})")
        if err.phase == "init":
            return failed("init_failed", f"{expected}() raised {err.summary()}")
        return failed("import_error", f"importing the file raised {err.summary()}")
    found = meta.class_name or expected
    return passed(f"class {found} imported and built", class_name=found)


def check_shapes(check: ShapesCheck, evidence: Evidence) -> Verdict:
    meta = evidence.probe("load", "load")
    if isinstance(meta, Verdict):
        return meta
    expected = evidence.rubric.architecture.parameter_shapes()
    missing = [name for name in expected if meta.params.get(name) is None]
    if missing:
        return failed("missing_parameter", f"no attribute(s) {', '.join(missing)} after {meta.class_name}()")
    wrong = []
    for name, shape in expected.items():
        got = tuple(meta.params[name]["shape"])  # type: ignore[index]
        if got != shape and not (name.startswith("b") and got == (shape[1],)):
            wrong.append(f"{name} is {got}, expected {shape}")
    if wrong:
        return failed("wrong_shape", "; ".join(wrong))
    return passed(", ".join(f"{n} {s}" for n, s in expected.items()))


def bias_is_1d(evidence: Evidence) -> bool:
    """True when the submission stores biases as (n,) instead of (1, n) (accepted, with a note)."""
    meta = evidence.probe("load", "load")
    if isinstance(meta, Verdict) or meta.error is not None:
        return False
    return any(len(info.get("shape", [])) == 1 for name, info in meta.params.items()
               if name.startswith("b") and info is not None)


__all__ = ["check_loads", "check_shapes", "bias_is_1d", "Status"]
