"""gradients: backward() against the host's analytic gradients of the mean cross-entropy.

Each parameter's gradient is compared on its own; a mismatch is explained by the pattern of the error:
ratio = batch size (sum instead of mean), ratio = 1/batch (mean taken twice), ratio = -1 (sign flip),
zero bias gradients, a transposed weight gradient, or agreement with the gradient *without* the ReLU mask.
A crash inside forward() or backward() is reported as that method raising, never as wrong maths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from grader.checks import reference
from grader.checks.base import CheckConfig, CheckKind, Evidence, HostData, Verdict, failed, passed
from grader.probes import random_params, sample_images
from grader.results import RecordMeta, ShapeMismatch

if TYPE_CHECKING:
    from grader.rubric import Rubric


class GradientsCheck(CheckConfig):
    """backward() returns the gradients of the mean cross-entropy, per parameter."""

    kind: Literal["gradients"] = "gradients"
    batch_size: int = Field(default=16, ge=2, le=4096, description="Probe batch size (not a divisor of layer widths).")
    rtol: float = Field(default=1e-3, gt=0, description="Largest relative error per parameter.")


class GradientsMeta(RecordMeta):
    form: str | None = Field(default=None, max_length=100)


def gradient_inputs(check: GradientsCheck, rubric: Rubric, rng: np.random.Generator,
                    host: HostData) -> dict[str, np.ndarray]:
    X, y = sample_images(host, rng, check.batch_size)
    return {"X": X, "y": y, **random_params(rubric, rng, bias_scale=0.2)}


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


def _fit(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return got.reshape(want.shape) if got.size == want.size and got.shape != want.T.shape else got


def check_gradients(check: GradientsCheck, evidence: Evidence) -> Verdict:
    meta = evidence.record("probe", "gradients", GradientsMeta)
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        method = "backward" if meta.error.phase == "backward" else "forward"
        return failed(f"{method}_raised", f"{method}() raised {meta.error.summary()} (no gradient was computed)")
    inputs = evidence.host.inputs["gradients"]
    shapes = evidence.rubric.architecture.parameter_shapes()
    params = {name: inputs[name] for name in shapes}
    X, y = inputs["X"], inputs["y"]
    got: dict[str, np.ndarray | None] = {}
    wrong_shape: dict[str, tuple[int, ...]] = {}
    for name, shape in shapes.items():
        if not evidence.stages["probe"].results.has_array("gradients", name):
            got[name] = None
            continue
        allowed = [shape, shape[::-1]] + ([(shape[1],)] if name.startswith("b") else [])
        try:
            got[name] = evidence.array("probe", "gradients", name, allowed)
        except ShapeMismatch as exc:
            got[name], wrong_shape[name] = None, exc.shape
    if wrong_shape:
        listed = ", ".join(f"d{name} {shape}" for name, shape in wrong_shape.items())
        return failed("gradient_mismatch", f"gradients of the wrong shape: {listed} (expected "
                      f"{', '.join(f'd{n} {shapes[n]}' for n in wrong_shape)})", form=meta.form)
    if not any(g is not None for g in got.values()):
        return failed("no_gradients", f"backward returned {meta.form}; no gradients found as a dict, tuple "
                      "or attributes dW1, db1, ...", form=meta.form)
    want = reference.gradients(params, X, y)
    unmasked = reference.gradients(params, X, y, relu_mask=False)
    per_param = {name: classify(name, got[name], want[name], unmasked[name], X.shape[0], check.rtol)
                 for name in params}
    errors = {f"rel_error_{n}": relative_error(fit, want[n]) for n in params
              if (g := got[n]) is not None and (fit := _fit(g, want[n])).shape == want[n].shape}
    wrong = {name: d for name, d in per_param.items() if d is not None}
    if not wrong:
        worst = max(errors.values(), default=0.0)
        return passed(f"all {len(params)} gradients match (largest relative error {worst:.1e}; "
                      f"returned as {meta.form})", form=meta.form, **errors)
    diagnosis = min(wrong.values(), key=PRIORITY.index)
    listed = ", ".join(f"{name}: {d.replace('_', ' ')}" for name, d in wrong.items())
    return failed(diagnosis, f"wrong gradients for {listed}", details={"form": meta.form, **errors})


KIND = CheckKind(
    kind="gradients", config=GradientsCheck, run=check_gradients, stage="probe", records=("gradients",),
    inputs=gradient_inputs,
    diagnoses={
        "forward_raised": "forward(X) raised an error before backward could run: see the message and the line.",
        "backward_raised": "backward(X, y) raised an error: see the message and the line. It is called right "
                           "after forward(X) with the same X and one-hot y (N, {n_out}).",
        "no_gradients": "backward(X, y) must return the gradients (a dict with {params}, or a tuple "
                        "({grads})) or store them as attributes self.dW1, ...",
        "sum_instead_of_mean": "Gradients are N times too large: the loss is the MEAN over the batch, divide by "
                               "the batch size (dz = (probs - y) / N).",
        "mean_twice": "Gradients are N times too small: you divide by the batch size twice.",
        "sign_flip": "Gradients have the wrong sign: dz = probs - y (not y - probs); the update subtracts "
                     "lr * grad.",
        "missing_bias_gradient": "Bias gradients are missing or zero: db = dz.sum(axis=0, keepdims=True).",
        "missing_relu_mask": "Gradients are wrong where a hidden pre-activation is negative: multiply by the ReLU "
                             "derivative, dz = dh * (z > 0).",
        "transposed_gradient": "A weight gradient is transposed: dW must have the shape of W (dW1 = X.T @ dz1).",
        "gradient_mismatch": "Gradients differ from the mean cross-entropy's: check each layer's formula and "
                             "shapes.",
    })
