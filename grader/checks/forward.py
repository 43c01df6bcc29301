"""forward and stability: the student's forward() against ReLU + softmax computed on the host.

The parameters and batch are chosen by the host (hidden seed), so the output cannot be precomputed.
A mismatch is explained by trying the classic wrong variants on the host (no ReLU, sigmoid, no biases,
softmax over the wrong axis) and naming the one that matches.
"""

from __future__ import annotations

import numpy as np

from grader.checks import reference
from grader.checks.base import Evidence, Verdict, failed, passed
from grader.rubric import ForwardCheck, StabilityCheck
from grader.sandbox.results import ProbeMeta, UntrustedDataError


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))


VARIANTS: dict[str, dict[str, object]] = {
    "softmax_wrong_axis": {"softmax_axis": 0},
    "missing_relu": {"hidden": lambda z: z},
    "wrong_activation": {"hidden": _sigmoid},
    "wrong_activation_tanh": {"hidden": np.tanh},
    "missing_bias": {"use_bias": False},
}


def student_output(evidence: Evidence, probe: str) -> np.ndarray | Verdict:
    """The array forward() returned in this probe, or the Verdict explaining why there is none."""
    meta = evidence.probe("probe", probe)
    if isinstance(meta, Verdict):
        return meta
    return _output(evidence, meta)


def _output(evidence: Evidence, meta: ProbeMeta) -> np.ndarray | Verdict:
    if meta.error is not None:
        return failed("forward_mismatch", f"forward raised {meta.error.summary()}")
    problem = meta.problems.get("output")
    if problem == "None":
        return failed("returned_none", "forward returned None")
    if problem:
        return failed("wrong_output_shape", f"forward returned something unusable: {problem}")
    try:
        return evidence.array("probe", meta, "output")
    except UntrustedDataError as exc:
        return failed("wrong_output_shape", f"forward's output could not be read: {exc}")


def check_forward(check: ForwardCheck, evidence: Evidence) -> Verdict:
    output = student_output(evidence, "forward")
    if isinstance(output, Verdict):
        return output
    params, X = evidence.inputs.params["forward"], evidence.inputs.batches["forward_X"]
    expected = reference.probabilities(params, X)
    if output.shape != expected.shape:
        return failed("wrong_output_shape", f"forward returned shape {output.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(output)):
        return failed("nan_output", "forward returned NaN or inf for ordinary inputs")
    error = float(np.max(np.abs(output - expected)))
    if np.allclose(output, expected, rtol=check.rtol, atol=check.atol):
        return passed(f"matches ReLU + softmax (max abs error {error:.1e})", max_abs_error=error)
    for diagnosis, variant in VARIANTS.items():
        if np.allclose(output, reference.probabilities(params, X, **variant), rtol=check.rtol, atol=check.atol):
            code = diagnosis.removesuffix("_tanh")
            return failed(code, f"the output matches a forward pass with {code.replace('_', ' ')}",
                          max_abs_error=error)
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
        if output.diagnosis in ("forward_mismatch", "returned_none", "wrong_output_shape"):
            output.diagnosis, output.hint = "softmax_overflow", failed("softmax_overflow", "").hint
        return output
    expected = reference.probabilities(evidence.inputs.params["stability"], evidence.inputs.batches["stability_X"])
    if output.shape != expected.shape or not np.all(np.isfinite(output)):
        return failed("softmax_overflow", f"with logits around {check.logit_scale:g} forward returned NaN/inf")
    if not np.allclose(output, expected, atol=1e-4):
        return failed("stability_mismatch", "with large logits the probabilities are wrong",
                      max_abs_error=float(np.max(np.abs(output - expected))))
    return passed(f"finite and correct with logits around {check.logit_scale:g}")
