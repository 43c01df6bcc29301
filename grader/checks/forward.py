"""forward and stability: the student's forward() against ReLU + softmax computed on the host.

The parameters and batch are chosen by the host (hidden seed), so the output cannot be precomputed.
A mismatch is explained by trying the classic wrong variants on the host (no ReLU, sigmoid, tanh, no
biases, softmax over the wrong axis) and naming the one that matches. The variant found is left for the
training checks, which then evaluate the student's trained weights with the forward pass the student
actually implemented (a sigmoid network is judged on its own terms, not punished twice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from grader.checks import reference
from grader.checks.base import CheckConfig, CheckKind, Evidence, HostData, Verdict, failed, passed
from grader.probes import random_params, sample_images
from grader.results import RecordMeta, ShapeMismatch

if TYPE_CHECKING:
    from grader.rubric import Rubric


class ForwardCheck(CheckConfig):
    """forward() at grader-chosen parameters equals ReLU + softmax computed on the host."""

    kind: Literal["forward"] = "forward"
    batch_size: int = Field(default=32, ge=2, le=4096, description="Probe batch size.")
    rtol: float = Field(default=1e-4, gt=0, description="Relative tolerance on probabilities.")
    atol: float = Field(default=1e-6, ge=0, description="Absolute tolerance on probabilities.")


class StabilityCheck(CheckConfig):
    """forward() stays finite when logits are in the thousands (softmax needs the max shift)."""

    kind: Literal["stability"] = "stability"
    batch_size: int = Field(default=32, ge=2, le=4096, description="Probe batch size.")
    logit_scale: float = Field(default=2000.0, gt=100, description="Size of the logits in the probe.")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))


VARIANTS: dict[str, dict[str, Any]] = {
    "softmax_wrong_axis": {"softmax_axis": 0},
    "missing_relu": {"hidden": lambda z: z},
    "wrong_activation": {"hidden": _sigmoid},
    "wrong_activation_tanh": {"hidden": np.tanh},
    "missing_bias": {"use_bias": False},
}


def forward_inputs(check: ForwardCheck, rubric: Rubric, rng: np.random.Generator,
                   host: HostData) -> dict[str, np.ndarray]:
    X, _ = sample_images(host, rng, check.batch_size)
    return {"X": X, **random_params(rubric, rng)}


def stability_inputs(check: StabilityCheck, rubric: Rubric, rng: np.random.Generator,
                     host: HostData) -> dict[str, np.ndarray]:
    """A network whose last layer is scaled so the logits reach about `logit_scale`."""
    X, _ = sample_images(host, rng, check.batch_size)
    params = random_params(rubric, rng)
    last = reference.n_layers(params)
    logits = reference.forward(params, X)[2][-1]
    factor = check.logit_scale / max(float(np.abs(logits).max()), 1e-6)
    params[f"W{last}"], params[f"b{last}"] = params[f"W{last}"] * factor, params[f"b{last}"] * factor
    return {"X": X, **params}


def student_output(evidence: Evidence, probe: str) -> np.ndarray | Verdict:
    """The array forward() returned in this probe, or the Verdict explaining why there is none."""
    meta = evidence.record("probe", probe, RecordMeta)
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        return failed("forward_raised", f"forward() raised {meta.error.summary()}")
    problem = meta.problems.get("output")
    if problem == "None":
        return failed("returned_none", "forward() returned None")
    if problem:
        return failed("wrong_output_shape", f"forward() returned something unusable: {problem}")
    X = evidence.host.inputs[probe]["X"]
    n_out = evidence.rubric.architecture.layers[-1]
    try:
        return evidence.array("probe", probe, "output", [(len(X), n_out)])
    except ShapeMismatch as exc:
        return failed("wrong_output_shape", f"forward() returned shape {exc.shape}, expected {(len(X), n_out)}")


def identify(output: np.ndarray, params: reference.Params, X: np.ndarray, rtol: float, atol: float) -> str | None:
    """The known wrong variant the output matches, or None."""
    for diagnosis, variant in VARIANTS.items():
        if np.allclose(output, reference.probabilities(params, X, **variant), rtol=rtol, atol=atol):
            return diagnosis
    return None


def check_forward(check: ForwardCheck, evidence: Evidence) -> Verdict:
    output = student_output(evidence, "forward")
    if isinstance(output, Verdict):
        return output
    inputs = evidence.host.inputs["forward"]
    X = inputs["X"]
    params = {name: inputs[name] for name in evidence.rubric.architecture.parameter_shapes()}
    expected = reference.probabilities(params, X)
    if not np.all(np.isfinite(output)):
        return failed("nan_output", "forward() returned NaN or inf for ordinary inputs")
    error = float(np.max(np.abs(output - expected)))
    if np.allclose(output, expected, rtol=check.rtol, atol=check.atol):
        evidence.findings["forward_variant"] = {}
        return passed(f"matches ReLU + softmax (max abs error {error:.1e})", max_abs_error=error)
    found = identify(output, params, X, check.rtol, check.atol)
    if found is not None:
        evidence.findings["forward_variant"] = VARIANTS[found]
        code = found.removesuffix("_tanh")
        return failed(code, f"the output matches a forward pass with {code.replace('_', ' ')}", max_abs_error=error)
    if np.allclose(output.sum(axis=0), 1.0, atol=1e-4):  # columns, not rows, are normalised
        return failed("softmax_wrong_axis", "each column (class) sums to 1 across the batch instead of each row "
                      "(image) summing to 1 across the classes", max_abs_error=error)
    row_sums = output.sum(axis=1)
    if not np.allclose(row_sums, 1.0, atol=1e-4):
        return failed("not_normalized", f"rows sum to {row_sums.min():.3g}..{row_sums.max():.3g}, not 1",
                      max_abs_error=error)
    return failed("forward_mismatch", f"probabilities differ from ReLU + softmax by up to {error:.3g}",
                  max_abs_error=error)


def check_stability(check: StabilityCheck, evidence: Evidence) -> Verdict:
    output = student_output(evidence, "stability")
    if isinstance(output, Verdict):
        if output.diagnosis in ("forward_raised", "returned_none", "wrong_output_shape"):
            output.diagnosis = "softmax_overflow"
        return output
    inputs = evidence.host.inputs["stability"]
    params = {name: inputs[name] for name in evidence.rubric.architecture.parameter_shapes()}
    expected = reference.probabilities(params, inputs["X"])
    if not np.all(np.isfinite(output)):
        return failed("softmax_overflow", f"with logits around {check.logit_scale:g} forward() returned NaN/inf")
    if not np.allclose(output, expected, atol=1e-4):
        return failed("stability_mismatch", "with large logits the probabilities are wrong",
                      max_abs_error=float(np.max(np.abs(output - expected))))
    return passed(f"finite and correct with logits around {check.logit_scale:g}")


FORWARD = CheckKind(
    kind="forward", config=ForwardCheck, run=check_forward, stage="probe", records=("forward",),
    inputs=forward_inputs,
    diagnoses={
        "forward_raised": "forward(X) raised an error: see the message and the line.",
        "returned_none": "forward(X) must `return` the probabilities; it returned None.",
        "wrong_output_shape": "forward(X) must return an array of shape (N, {n_out}): one row of probabilities "
                              "per image.",
        "nan_output": "forward produced NaN/inf on ordinary inputs: check the softmax and the log/exp calls.",
        "not_normalized": "Each row must sum to 1: apply softmax to the output layer (did you return the logits?).",
        "softmax_wrong_axis": "Softmax is taken over the wrong axis: use axis=1 with keepdims=True (per image).",
        "missing_relu": "The hidden layer is linear: apply ReLU, np.maximum(0, z1), before the next layer.",
        "wrong_activation": "The hidden layers must use ReLU (np.maximum(0, z)), not sigmoid or tanh.",
        "missing_bias": "The biases are not added: {forward_steps}.",
        "forward_mismatch": "The probabilities differ from ReLU + softmax: compare your forward step by step "
                            "with {forward_steps}.",
    })

STABILITY = CheckKind(
    kind="stability", config=StabilityCheck, run=check_stability, stage="probe", records=("stability",),
    inputs=stability_inputs,
    diagnoses={
        "softmax_overflow": "Softmax overflows for large logits: subtract the row max first, "
                            "z - z.max(axis=1, keepdims=True), before np.exp.",
        "stability_mismatch": "With large logits the probabilities are wrong: shift by the row max before "
                              "np.exp and do not clip the logits.",
    })
