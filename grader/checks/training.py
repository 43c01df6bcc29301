"""trained, loss_decrease and accuracy: what the graded training run (the train stage) achieved.

The train stage gives the student's train() the training set under a hidden permutation of the pixels
and of the classes (grader/task.py), records the parameters right after __init__ and after train(), a
sketch of the parameters (a fixed subset of their entries) at every backward() call, and full snapshots at
a few calls. Every number here is then computed on the host:

* trained: the weights moved from their initial values to their final values by gradient steps. The sketch
  has no jump (parameters replaced instead of updated, e.g. weights loaded from a file), it starts at the
  weights __init__ made, and at each full snapshot the update is a gradient step on the batch that was
  passed to backward() (the same fit as the momentum check). Restoring an earlier point of the trajectory
  at the end (keeping the best epoch) is allowed.
* loss_decrease: the mean cross-entropy on a fixed, permuted training subset, before and after training,
  computed from the recorded weights with the forward pass the student implemented.
* accuracy: the trained weights' accuracy on the permuted test images, computed on the host. The student's
  own forward() on the test images is recorded too; if it disagrees with the weights, that is reported
  (forward_disagrees) but cannot change the grade.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from grader.checks import reference
from grader.checks.base import CheckConfig, CheckKind, Evidence, Task, Verdict, failed, passed
from grader.checks.loading import missing_method
from grader.checks.momentum import fit_step, flatten, param_shapes_allowed
from grader.results import RecordMeta, ShapeMismatch, UntrustedDataError

SKETCH_ROWS = 50_000  # the harness keeps at most this many rows (it halves the resolution beyond)
SNAPSHOT_ROWS = 4096  # the harness records no batch larger than this
JUMP = 25.0  # a step this many times the steps around it can be a replacement (see find_jump)
SNAPSHOTS = 3  # points along the graded run where a full update is verified
HISTORY, AFTER = 20, 10  # steps before / after a candidate jump that it is compared with
DISAGREE = 0.01  # share of test images on which the student's forward may differ from its own weights


class TrainedCheck(CheckConfig):
    """Integrity: the final weights come from gradient steps taken from the initial weights during train()."""

    kind: Literal["trained"] = "trained"


class LossDecreaseCheck(CheckConfig):
    """The loss on a fixed training subset, computed on the host from the recorded weights, falls."""

    kind: Literal["loss_decrease"] = "loss_decrease"
    subset: int = Field(default=2000, ge=100, le=60000, description="Training samples on which the loss is measured.")
    min_relative_decrease: float = Field(default=0.2, gt=0, lt=1, description="Loss must fall by this fraction.")


class AccuracyCheck(CheckConfig):
    """Accuracy of the trained weights on the 10,000 MNIST test images, computed on the host."""

    kind: Literal["accuracy"] = "accuracy"
    threshold: float = Field(default=0.90, gt=0, le=1, description="Accuracy needed (strictly above).")


class TrainMeta(RecordMeta):
    losses: list[float] = Field(default_factory=list, max_length=10_000)


class TrajectoryMeta(RecordMeta):
    backward_calls: int = Field(default=0, ge=0)
    forward_calls: int = Field(default=0, ge=0)
    samples: int = Field(default=0, ge=0)
    stride: int = Field(default=1, ge=1)
    unrecordable: list[str] = Field(default_factory=list, max_length=10)
    snapshot_calls: list[int] = Field(default_factory=list, max_length=3 * SNAPSHOTS)


def _variant(evidence: Evidence) -> tuple[dict[str, object], str]:
    """The forward pass to evaluate the student's weights with, and a phrase naming it when it is not ReLU."""
    variant = evidence.findings.get("forward_variant")
    if not variant:
        return {}, ""
    hidden = variant.get("hidden")
    name = getattr(hidden, "__name__", "") if hidden is not None else ""
    described = {"_sigmoid": "a sigmoid hidden layer", "tanh": "a tanh hidden layer", "<lambda>": "no ReLU"}.get(
        name, "your forward pass's variant")
    if variant.get("use_bias") is False:
        described = "no biases"
    if variant.get("softmax_axis") == 0:
        described = "softmax over the batch axis"
    return dict(variant), f" (evaluated with {described}, as your forward() computes)"


def trained_run(evidence: Evidence) -> TrajectoryMeta | Verdict:
    """The trajectory record when train() returned normally, else the verdict saying why not."""
    train = evidence.record("train", "train", TrainMeta)
    if isinstance(train, Verdict):
        return train
    if train.error is not None:
        if train.error.type == "AttributeError" and "has no train() method" in train.error.message:
            return missing_method(evidence, "train")
        return failed("train_failed", f"train() raised {train.error.summary()}")
    return evidence.record("train", "trajectory", TrajectoryMeta)


def endpoint(evidence: Evidence, prefix: str) -> dict[str, np.ndarray]:
    """The parameters recorded right after __init__ ('init') or after train() ('final')."""
    shapes = evidence.rubric.architecture.parameter_shapes()
    return {n: evidence.array("train", "trajectory", f"{prefix}_{n}", param_shapes_allowed(s, n)).reshape(s)
            for n, s in shapes.items()}


def sketch_of(evidence: Evidence, params: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([params[n].reshape(-1)[idx] for n, idx in evidence.host.sketch.items()])


def find_jump(path: np.ndarray) -> tuple[int, float] | None:
    """The first step k (path[k] -> path[k+1]) where the weights were replaced rather than updated.

    A replacement is a step JUMP times larger than the steps just before it (just after it, for the first
    step), that moves the sketched weights by more than 5% of their size, and after which the steps go back
    to their former scale. That last condition tells a replacement from a learning rate that is too high:
    a diverging run's steps keep growing, a replaced network's do not. Returns (k, step / the steps before).
    Vectorised: a 50,000-step trajectory takes milliseconds.
    """
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    steps = np.where(np.isfinite(steps), steps, np.nan)
    size = np.maximum(np.linalg.norm(path[:-1], axis=1), np.linalg.norm(path[1:], axis=1))
    n = len(steps)
    padded = np.concatenate([np.full(HISTORY, np.nan), steps, np.full(AFTER, np.nan)])
    windows_before = np.lib.stride_tricks.sliding_window_view(padded[:n + HISTORY - 1], HISTORY)
    windows_after = np.lib.stride_tricks.sliding_window_view(padded[HISTORY + 1:], AFTER)[:n]
    before = np.nanmax(np.where(np.isnan(windows_before), -np.inf, windows_before), axis=1)
    count_after = np.sum(~np.isnan(windows_after), axis=1)
    after = np.full(n, np.nan)  # a window of NaN only (a diverged run's end) has no median
    has_after = count_after > 0
    after[has_after] = np.nanmedian(windows_after[has_after], axis=1)
    base = np.where(before > -np.inf, before, after)  # the first step is compared with the ones after it
    with np.errstate(invalid="ignore", divide="ignore"):
        candidate = (steps > JUMP * base) & (base > 0) & (steps > 0.05 * size)
        growing = (before > -np.inf) & (count_after >= 3) & (after > 5 * base)
    hits = np.flatnonzero(candidate & ~growing)
    if hits.size == 0:
        return None
    k = int(hits[0])
    return k, float(steps[k] / base[k])


def _snapshot_fits(evidence: Evidence, meta: TrajectoryMeta) -> list[bool]:
    """For each complete snapshot triple (calls k, k+1, k+2): is the update k+1 -> k+2 a gradient step?"""
    shapes = evidence.rubric.architecture.parameter_shapes()
    n_in, n_out = evidence.rubric.architecture.layers[0], evidence.rubric.architecture.layers[-1]
    calls = meta.snapshot_calls
    results = evidence.stages["train"].results
    verdicts = []
    for j in range(len(calls) - 2):
        if calls[j + 1] != calls[j] + 1 or calls[j + 2] != calls[j] + 2 or not results.has_array("trajectory",
                                                                                                   f"snap{j + 1}_X"):
            continue
        params = [{n: evidence.array("train", "trajectory", f"snap{j + i}_{n}", param_shapes_allowed(s, n)).reshape(s)
                   for n, s in shapes.items()} for i in range(3)]
        X = evidence.array("train", "trajectory", f"snap{j + 1}_X", [(range(1, SNAPSHOT_ROWS + 1), n_in)])
        y = evidence.array("train", "trajectory", f"snap{j + 1}_y", [(len(X), n_out)])
        flat = [flatten(p) for p in params]
        grad = flatten(reference.gradients(params[1], X, y))
        fit = fit_step(flat[2] - flat[1], grad, flat[1] - flat[0])
        if fit is not None:
            verdicts.append(fit.is_gradient_step)
    return verdicts


def check_trained(check: TrainedCheck, evidence: Evidence) -> Verdict:
    meta = trained_run(evidence)
    if isinstance(meta, Verdict):
        return meta
    if meta.backward_calls == 0:
        return failed("not_observable", "train() never called self.backward(X_batch, y_batch): the grader cannot "
                      "see the training happen")
    if len(meta.snapshot_calls) > SNAPSHOTS * len(evidence.host.snapshot_at):
        raise UntrustedDataError(f"the trajectory claims {len(meta.snapshot_calls)} snapshots, more than were asked")
    init, final = endpoint(evidence, "init"), endpoint(evidence, "final")
    width = sum(len(idx) for idx in evidence.host.sketch.values())
    rows = min(meta.backward_calls, SKETCH_ROWS)
    sketch = evidence.array("train", "trajectory", "sketch", [(range(1, rows + 1), width)])
    start, end = sketch_of(evidence, init), sketch_of(evidence, final)
    if not np.allclose(sketch[0], start, rtol=1e-5, atol=1e-6, equal_nan=True):
        return failed("params_replaced", "the weights at the first backward() call are not the ones __init__ "
                      "created: train() replaced them before training")
    epochs_seen = round(meta.samples / max(1, evidence.host.train_rows), 2)
    details: dict[str, float | int | str | bool | None] = {"backward_calls": meta.backward_calls,
                                                            "epochs_seen": epochs_seen}
    if all(np.array_equal(init[name], final[name]) for name in init):
        return failed("no_updates", f"train() called backward() {meta.backward_calls} times but never changed the "
                      "weights")
    restored = bool(np.any(np.all(sketch[:-1] == end.astype(np.float32), axis=1))) if len(sketch) > 1 else False
    path = sketch if restored else np.vstack([sketch, end.astype(np.float32)])
    with np.errstate(all="ignore"):  # a diverged run's NaN/inf steps are skipped, not errors
        jump = find_jump(path.astype(np.float64))
    if jump is not None:
        k, ratio = jump
        when = "after train()'s last backward() call" if k == len(sketch) - 1 and not restored \
            else f"between backward() calls {k * meta.stride} and {(k + 1) * meta.stride}"
        return failed("params_replaced", f"the weights jumped {when}, a step {ratio:.0f} times the ones around "
                      "it: they were replaced, not updated by training", details=details)
    variant = evidence.findings.get("forward_variant")
    fits = _snapshot_fits(evidence, meta) if variant == {} else []  # the host's gradients are ReLU's
    details["verified_steps"] = sum(fits)
    if fits and sum(fits) * 2 < len(fits):
        return failed("not_gradient_steps", f"{len(fits) - sum(fits)} of {len(fits)} verified updates do not follow "
                      "the gradients of the batches passed to backward()", details=details)
    if restored:
        evidence.notes.append(("restored_weights", "train() ended by restoring weights from earlier in training: "
                               "accepted"))
    verified = f"{sum(fits)} of {len(fits)} full updates verified" if fits else "no full update verified"
    return passed(f"{meta.backward_calls} backward() calls; the weights moved step by step from their initial "
                  f"values ({verified})", **details)


def _judged_run(evidence: Evidence) -> tuple[Task, dict[str, object], str] | Verdict:
    """The hidden task and the forward pass to judge the trained weights with, or why they cannot be judged."""
    meta = trained_run(evidence)
    if isinstance(meta, Verdict):
        return meta
    assert evidence.host.task is not None
    return (evidence.host.task, *_variant(evidence))


def check_loss_decrease(check: LossDecreaseCheck, evidence: Evidence) -> Verdict:
    run = _judged_run(evidence)
    if isinstance(run, Verdict):
        return run
    task, variant, how = run
    init, final = endpoint(evidence, "init"), endpoint(evidence, "final")
    if not all(np.all(np.isfinite(v)) for v in final.values()):
        return failed("divergence", "after training the weights are NaN/inf: the training diverged")
    with np.errstate(all="ignore"):
        before = reference.cross_entropy(reference.probabilities(init, task.loss_X, **variant), task.loss_y)
        after = reference.cross_entropy(reference.probabilities(final, task.loss_X, **variant), task.loss_y)
    details = {"loss_before": round(before, 4), "loss_after": round(after, 4)}
    if not np.isfinite(after) or after > 2 * before:  # a ReLU net with a stable softmax explodes without NaN
        return failed("divergence", f"the loss exploded from {before:.3f} to {after:.3f}: the training diverged{how}",
                      details=details)
    if after <= before * (1 - check.min_relative_decrease):
        return passed(f"loss fell from {before:.3f} to {after:.3f}{how}", **details)
    return failed("loss_not_decreasing", f"loss went from {before:.3f} to {after:.3f} (needs a "
                  f"{check.min_relative_decrease:.0%} drop){how}", details=details)


def check_accuracy(check: AccuracyCheck, evidence: Evidence) -> Verdict:
    run = _judged_run(evidence)
    if isinstance(run, Verdict):
        return run
    task, variant, how = run
    final = endpoint(evidence, "final")
    label = "preview accuracy (short training, not a grade)" if evidence.quick else "test accuracy"
    if not all(np.all(np.isfinite(v)) for v in final.values()):
        return failed("below_threshold", f"{label}: the weights are NaN/inf after training (it diverged)",
                      accuracy=0.0)
    with np.errstate(all="ignore"):
        predicted = np.argmax(reference.probabilities(final, task.test_X, **variant), axis=1)
    accuracy = float(np.mean(predicted == task.test_y))
    details: dict[str, float | int | str | bool | None] = {"accuracy": accuracy}
    _compare_student_forward(evidence, predicted, task.test_y, details)
    if accuracy > check.threshold:
        return passed(f"{label} {accuracy:.2%} (goal > {check.threshold:.0%}){how}", **details)
    return failed("below_threshold", f"{label} {accuracy:.2%}, goal > {check.threshold:.0%}{how}", details=details)


def _compare_student_forward(evidence: Evidence, predicted: np.ndarray, labels: np.ndarray,
                             details: dict[str, float | int | str | bool | None]) -> None:
    """Record how the student's own forward() on the test images compares with its weights (a note only)."""
    meta = evidence.record("train", "test", RecordMeta)
    if isinstance(meta, Verdict) or meta.error is not None:
        return
    try:
        theirs = evidence.array("train", "test", "predictions", [(len(labels),)], integer=True)
    except (ShapeMismatch, UntrustedDataError):
        return
    disagree = float(np.mean(theirs != predicted))
    details["student_forward_accuracy"] = float(np.mean(theirs == labels))
    details["forward_disagreement"] = disagree
    if disagree > DISAGREE:
        evidence.notes.append(("forward_disagrees", f"on the test images your forward() disagrees with what your own "
                               f"weights compute for {disagree:.1%} of the images; the grade uses the weights"))


TRAINED = CheckKind(
    kind="trained", config=TrainedCheck, run=check_trained, stage="train", records=("train", "trajectory"),
    diagnoses={
        "params_replaced": "train() must train the weights __init__ created, by updating them batch after batch: "
                           "do not load, copy in or re-create weights inside train().",
        "not_gradient_steps": "The weight updates do not follow the gradients of the batches passed to backward(): "
                              "update with v = beta * v - lr * grad; W += v.",
        "not_observable": "train() must call self.forward(X_batch) and self.backward(X_batch, y_batch) for every "
                          "batch (through self), so the grader can observe the training.",
        "train_failed": "train() raised an error: see the message and the line.",
        "no_updates": "train() did not change the weights: update {params} in the training loop.",
    })

LOSS_DECREASE = CheckKind(
    kind="loss_decrease", config=LossDecreaseCheck, run=check_loss_decrease, stage="train",
    records=("train", "trajectory"),
    diagnoses={
        "divergence": "The loss exploded: the learning rate is too high (the starter suggests {learning_rate} "
                      "with momentum {momentum}), or the softmax/gradients are wrong.",
        "loss_not_decreasing": "The loss did not go down: is train() updating the weights with the gradients "
                               "(v = beta * v - lr * grad; W += v), looping over batches and epochs?",
        "train_failed": "train() raised an error: see the message and the line.",
    })

ACCURACY = CheckKind(
    kind="accuracy", config=AccuracyCheck, run=check_accuracy, stage="train", records=("train", "trajectory", "test"),
    diagnoses={
        "below_threshold": "Accuracy is below the goal: check the learning rate (the starter suggests "
                           "{learning_rate} with batch size {batch_size} and momentum {momentum}), the number of "
                           "epochs, the initialisation (He: randn * sqrt(2 / fan_in)) and shuffling.",
        "train_failed": "train() raised an error: see the message and the line.",
    })
