"""momentum: a behavioural test that train() takes SGD steps with momentum.

How: the harness trains a fresh model for one short epoch and records, at each call of
`self.backward(X, y)`, the parameters P_k and the batch. On the host, with d_k = P_{k+1} - P_k and g_k the
true gradient at P_k on that batch (computed here, never taken from the student), each update is fitted by
least squares as

    d_k = a_k * g_k + b_k * d_{k-1}

Momentum (v = beta*v - lr*g; W += v) gives a_k = -lr < 0 and b_k = beta (about 0.9); plain SGD gives
b_k = 0. The fit must also *explain* the update: an update that only repeats the previous one (b_k = 0.9,
a_k = 0), or that does not follow the gradient at all, is not a gradient step and fails. The check passes
when the median b_k reaches the rubric's min_coefficient and the updates are gradient steps. Learning-rate
schedules do not matter (a_k is fitted per step) and nothing depends on the student's names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from grader.checks import reference
from grader.checks.base import CheckConfig, CheckKind, Evidence, HostData, Verdict, failed, passed
from grader.checks.loading import missing_method
from grader.probes import sample_images
from grader.results import RecordMeta, UntrustedDataError

if TYPE_CHECKING:
    from grader.rubric import Rubric

# An update is a gradient step when the fit leaves at most this share of it unexplained, and the
# gradient term explains at least GRADIENT_SHARE of it with the descent sign (a_k < 0).
MAX_RESIDUAL = 0.5
GRADIENT_SHARE = 0.05


class MomentumCheck(CheckConfig):
    """Behavioural: during train(), each update is a gradient step that carries a share of the previous one."""

    kind: Literal["momentum"] = "momentum"
    samples: int = Field(default=2048, ge=64, le=60000, description="Training samples for the probe run (epochs=1).")
    steps: int = Field(default=6, ge=3, le=50, description="Updates recorded.")
    min_coefficient: float = Field(default=0.2, gt=0, lt=1, description="Smallest share of the previous update.")


class MomentumMeta(RecordMeta):
    steps: int = Field(default=0, ge=0)
    calls: int = Field(default=0, ge=0)
    params_changed: bool = False
    unrecordable: list[str] = Field(default_factory=list, max_length=10)


def momentum_inputs(check: MomentumCheck, rubric: Rubric, rng: np.random.Generator,
                    host: HostData) -> dict[str, np.ndarray]:
    X, y = sample_images(host, rng, check.samples)
    return {"X": X, "y": y.astype(np.float32)}


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([params[name].ravel() for name in sorted(params)])


@dataclass
class StepFit:
    """d = a g + b d_prev, fitted by least squares, and how much of d it leaves unexplained."""

    a: float
    b: float
    residual: float  # |d - a g - b d_prev| / |d|
    gradient_share: float  # |a g| / |d|

    @property
    def is_gradient_step(self) -> bool:
        return self.a < 0 and self.residual <= MAX_RESIDUAL and self.gradient_share >= GRADIENT_SHARE


def fit_step(update: np.ndarray, grad: np.ndarray, previous: np.ndarray) -> StepFit | None:
    """The fit of one update, or None when it cannot be made (NaN/inf weights: a diverged run)."""
    basis = np.stack([grad, previous], axis=1)
    if not (np.all(np.isfinite(basis)) and np.all(np.isfinite(update))):
        return None
    try:
        coef, *_ = np.linalg.lstsq(basis, update, rcond=None)
    except np.linalg.LinAlgError:
        return None
    a, b = float(coef[0]), float(coef[1])
    size = max(float(np.linalg.norm(update)), 1e-30)
    residual = float(np.linalg.norm(update - basis @ coef)) / size
    return StepFit(a, b, residual, abs(a) * float(np.linalg.norm(grad)) / size)


def param_shapes_allowed(shape: tuple[int, int], name: str) -> list[tuple[int, ...]]:
    return [shape, (shape[1],)] if name.startswith("b") else [shape]


def recorded_steps(evidence: Evidence, meta: MomentumMeta, steps: int,
                   samples: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Flattened parameters and true gradients at each recorded backward call (host arithmetic)."""
    shapes = evidence.rubric.architecture.parameter_shapes()
    n_in, n_out = evidence.rubric.architecture.layers[0], evidence.rubric.architecture.layers[-1]
    snapshots, grads = [], []
    for k in range(steps):
        params = {n: evidence.array("probe", "momentum", f"{k}_{n}", param_shapes_allowed(s, n)).reshape(s)
                  for n, s in shapes.items()}
        X = evidence.array("probe", "momentum", f"{k}_X", [(range(1, samples + 1), n_in)])
        y = evidence.array("probe", "momentum", f"{k}_y", [(len(X), n_out)])
        snapshots.append(flatten(params))
        grads.append(flatten(reference.gradients(params, X, y)))
    return snapshots, grads


def check_momentum(check: MomentumCheck, evidence: Evidence) -> Verdict:
    meta = evidence.record("probe", "momentum", MomentumMeta)
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        if meta.error.type == "AttributeError" and "has no train() method" in meta.error.message:
            return missing_method(evidence, "train")
        return failed("train_failed", f"train() raised {meta.error.summary()} during a one-epoch run")
    if not meta.params_changed:
        return failed("no_updates", "train() ran one epoch but the weights did not change")
    if meta.steps > check.steps + 1:
        raise UntrustedDataError(f"the momentum result claims {meta.steps} recorded steps, more than were asked")
    if meta.steps < 3:
        if meta.unrecordable:
            return failed("not_observable", "train() calls self.backward with arguments the grader cannot "
                          f"record ({meta.unrecordable[0]}); the contract is backward(X_batch, y_batch)")
        return failed("not_observable", f"train() changed the weights but called self.backward only "
                      f"{meta.calls} time(s); the grader needs at least 3 calls to observe the updates")
    snapshots, grads = recorded_steps(evidence, meta, meta.steps, check.samples)
    updates = [after - before for before, after in zip(snapshots[:-1], snapshots[1:], strict=True)]
    if not any(np.any(u) for u in updates):
        return failed("no_updates", "the weights did not change between calls of backward()")
    fits = [fit for k in range(1, len(updates)) if (fit := fit_step(updates[k], grads[k], updates[k - 1]))]
    if not fits:
        return failed("divergence", "the recorded updates are NaN/inf: the training diverged at once")
    median = float(np.median([fit.b for fit in fits]))
    steps_ok = sum(fit.is_gradient_step for fit in fits)
    details = {"median_previous_update_share": round(median, 4), "steps": len(updates),
               "gradient_steps": steps_ok, "median_residual": round(float(np.median([f.residual for f in fits])), 4)}
    if steps_ok * 2 <= len(fits):
        return failed("not_gradient_steps", f"only {steps_ok} of {len(fits)} updates follow the gradients of the "
                      "batches passed to backward(): the weights are not changed by gradient descent",
                      details=details)
    if median >= check.min_coefficient:
        return passed(f"each update is a gradient step carrying about {median:.2f} of the previous one (momentum)",
                      **details)
    return failed("no_momentum", f"each update carries {median:.2f} of the previous one: plain SGD "
                  f"(momentum needs about 0.9; at least {check.min_coefficient:g})", details=details)


KIND = CheckKind(
    kind="momentum", config=MomentumCheck, run=check_momentum, stage="probe", records=("momentum",),
    inputs=momentum_inputs,
    diagnoses={
        "no_momentum": "The updates are plain SGD: keep a velocity per parameter, v = beta * v - lr * grad; "
                       "W += v (beta about {momentum}).",
        "no_updates": "train() did not change the weights: update {params} in the training loop.",
        "not_observable": "train() must call self.forward(X_batch) and self.backward(X_batch, y_batch) for every "
                          "batch (through self), so the grader can observe the updates.",
        "not_gradient_steps": "The weight updates do not follow the gradients that backward() returns: update "
                              "with v = beta * v - lr * grad; W += v, using the gradients of the current batch.",
        "train_failed": "train() raised an error: see the message and the line.",
        "divergence": "The weights became NaN/inf within a few steps: the learning rate is far too high (the "
                      "starter suggests {learning_rate}).",
    })
