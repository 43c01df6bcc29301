"""gradients: backward() against the host's analytic gradients of the mean cross-entropy.

Each parameter's gradient is compared on its own; a mismatch is explained by the pattern of the error:
ratio = batch size (sum instead of mean), ratio = 1/batch (mean taken twice), ratio = -1 (sign flip),
zero bias gradients, a transposed weight gradient, or agreement with the gradient *without* the ReLU mask.
"""

from __future__ import annotations

import numpy as np

from grader.checks import reference
from grader.checks.base import Evidence, Verdict, failed, passed
from grader.rubric import GradientsCheck
from grader.sandbox.results import ProbeMeta, UntrustedDataError


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / max(float(np.linalg.norm(want)), 1e-12))


def classify(name: str, got: np.ndarray | None, want: np.ndarray, unmasked: np.ndarray,
             batch: int, rtol: float) -> str | None:
    """The diagnosis for one parameter's gradient, or None when it is right."""
    if got is None or (name.startswith("b") and not np.any(got)):
        return "missing_bias_gradient" if name.startswith("b") else "no_gradients"
    if got.shape != want.shape and got.size == want.size and want.shape[0] == 1:
        got = got.reshape(want.shape)  # (n,) bias gradient for a (1, n) bias: accepted
    if got.shape != want.shape:
        if got.shape == want.T.shape and relative_error(got.T, want) < rtol:
            return "transposed_gradient"
        return "gradient_mismatch"
    if relative_error(got, want) < rtol:
        return None
    for diagnosis, factor in (("sum_instead_of_mean", batch), ("mean_twice", 1.0 / batch), ("sign_flip", -1.0)):
        if relative_error(got, factor * want) < rtol:
            return diagnosis
    if relative_error(got, unmasked) < rtol:
        return "missing_relu_mask"
    return "gradient_mismatch"


PRIORITY = ["no_gradients", "transposed_gradient", "sum_instead_of_mean", "mean_twice", "sign_flip",
            "missing_relu_mask", "missing_bias_gradient", "gradient_mismatch"]


def check_gradients(check: GradientsCheck, evidence: Evidence) -> Verdict:
    meta = evidence.probe("probe", "gradients")
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        return failed("gradient_mismatch", f"forward/backward raised {meta.error.summary()}")
    params = evidence.inputs.params["gradients"]
    X, y = evidence.inputs.batches["gradients_X"], evidence.inputs.batches["gradients_y"]
    want = reference.gradients(params, X, y)
    unmasked = reference.gradients(params, X, y, relu_mask=False)
    got = _student_gradients(evidence, meta, list(params))
    if not any(g is not None for g in got.values()):
        return failed("no_gradients", f"backward returned {meta.form}; no gradients found as a dict, tuple "
                      "or attributes dW1, db1, ...", form=meta.form)
    per_param = {name: classify(name, got[name], want[name], unmasked[name], X.shape[0], check.rtol)
                 for name in params}
    errors = {f"rel_error_{n}": relative_error(_fit(got[n], want[n]), want[n]) for n in params
              if got[n] is not None and _fit(got[n], want[n]).shape == want[n].shape}
    wrong = {name: d for name, d in per_param.items() if d is not None}
    if not wrong:
        worst = max(errors.values(), default=0.0)
        return passed(f"all {len(params)} gradients match (largest relative error {worst:.1e}; "
                      f"returned as {meta.form})", form=meta.form, **errors)
    diagnosis = min(wrong.values(), key=PRIORITY.index)
    listed = ", ".join(f"{name}: {d.replace('_', ' ')}" for name, d in wrong.items())
    return failed(diagnosis, f"wrong gradients for {listed}", details={"form": meta.form, **errors})


def _fit(got: np.ndarray | None, want: np.ndarray) -> np.ndarray:
    if got is None:
        return np.zeros_like(want)
    return got.reshape(want.shape) if got.size == want.size and got.shape != want.T.shape else got


def _student_gradients(evidence: Evidence, meta: ProbeMeta, names: list[str]) -> dict[str, np.ndarray | None]:
    found: dict[str, np.ndarray | None] = {}
    for name in names:
        try:
            found[name] = evidence.array("probe", meta, name)
        except UntrustedDataError:
            found[name] = None
    return found
