"""loss_decrease and accuracy: both read the graded training run (the train stage).

The loss is computed on the host from the probabilities the student's own forward() gives on a fixed
training subset, before and after train(). Accuracy compares the trained model's predictions on the
10,000 test images with labels that never leave the host.
"""

from __future__ import annotations

import numpy as np

from grader.checks import reference
from grader.checks.base import Evidence, Verdict, failed, passed
from grader.models import Status
from grader.rubric import AccuracyCheck, LossDecreaseCheck
from grader.sandbox.results import UntrustedDataError


def _training_failure(evidence: Evidence) -> Verdict | None:
    """A failed verdict when the training run itself failed (raised, timed out, crashed)."""
    meta = evidence.probe("train", "train")
    if isinstance(meta, Verdict):
        if meta.status is Status.SKIPPED:
            return meta
        if meta.diagnosis == "timeout":
            return failed("timeout", f"train() did not finish: {meta.message}", status=Status.TIMEOUT)
        return meta
    if meta.error is not None:
        return failed("train_failed", f"train() raised {meta.error.summary()}")
    return None


def _probs(evidence: Evidence, probe: str) -> np.ndarray | Verdict:
    meta = evidence.probe("train", probe)
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        return failed("train_failed", f"forward() raised {meta.error.summary()} on training data")
    try:
        return evidence.array("train", meta, "probs")
    except UntrustedDataError as exc:
        return failed("train_failed", f"forward() gave no usable output after training: {exc}")


def check_loss_decrease(check: LossDecreaseCheck, evidence: Evidence) -> Verdict:
    before = _probs(evidence, "before")
    if isinstance(before, Verdict):
        return before
    failure = _training_failure(evidence)
    if failure is not None:
        return failure
    after = _probs(evidence, "after")
    if isinstance(after, Verdict):
        return after
    labels = evidence.inputs.train_labels
    assert labels is not None and evidence.inputs.loss_idx is not None
    y = reference.one_hot(labels[evidence.inputs.loss_idx])
    if after.shape != y.shape or not np.all(np.isfinite(after)):
        return failed("divergence", "after training, forward() returns NaN/inf: the training diverged")
    loss_before, loss_after = reference.cross_entropy(before, y), reference.cross_entropy(after, y)
    details = {"loss_before": round(loss_before, 4), "loss_after": round(loss_after, 4)}
    if loss_after > 2 * loss_before:  # a ReLU net with a stable softmax explodes without ever reaching NaN
        return failed("divergence", f"the loss exploded from {loss_before:.3f} to {loss_after:.3f}: the training "
                      "diverged", details=details)
    if loss_after <= loss_before * (1 - check.min_relative_decrease):
        return passed(f"loss fell from {loss_before:.3f} to {loss_after:.3f}", **details)
    return failed("loss_not_decreasing", f"loss went from {loss_before:.3f} to {loss_after:.3f} "
                  f"(needs a {check.min_relative_decrease:.0%} drop)", details=details)


def check_accuracy(check: AccuracyCheck, evidence: Evidence) -> Verdict:
    failure = _training_failure(evidence)
    if failure is not None:
        return failure
    probs = _probs(evidence, "test")
    if isinstance(probs, Verdict):
        return probs
    labels = evidence.inputs.test_labels
    assert labels is not None
    if probs.shape != (len(labels), 10):
        return failed("below_threshold", f"forward() on the test images returned shape {probs.shape}")
    accuracy = float(np.mean(np.argmax(np.nan_to_num(probs, nan=-1.0), axis=1) == labels))
    label = "preview accuracy (short training, not a grade)" if evidence.quick else "test accuracy"
    if accuracy > check.threshold:
        return passed(f"{label} {accuracy:.2%} (goal > {check.threshold:.0%})", accuracy=accuracy)
    return failed("below_threshold", f"{label} {accuracy:.2%}, goal > {check.threshold:.0%}", accuracy=accuracy)
