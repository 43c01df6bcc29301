"""momentum: a behavioural test that train() uses SGD with momentum.

How: the harness trains a fresh model for one short epoch and records, at each call of
`self.backward(X, y)`, the parameters P_k and the batch. On the host, with d_k = P_{k+1} - P_k and g_k the
true gradient at P_k on that batch, each update is fitted by least squares as

    d_k = a_k * g_k + b_k * d_{k-1}

Plain SGD gives d_k = -lr * g_k, so b_k = 0 (to rounding). Momentum (v = beta*v - lr*g; W += v) gives
b_k = beta, about 0.9. The check passes when the median b_k reaches the rubric's min_coefficient. Learning
rate schedules do not matter (a_k is fitted per step) and nothing depends on the student's names.
"""

from __future__ import annotations

import numpy as np

from grader.checks import reference
from grader.checks.base import Evidence, Verdict, failed, passed
from grader.rubric import MomentumCheck
from grader.sandbox.results import UntrustedDataError


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([params[name].ravel() for name in sorted(params)])


def previous_update_share(updates: list[np.ndarray], grads: list[np.ndarray]) -> list[float]:
    """b_k of the least-squares fit d_k = a_k g_k + b_k d_{k-1}, for each k >= 1."""
    shares = []
    for k in range(1, len(updates)):
        basis = np.stack([grads[k], updates[k - 1]], axis=1)
        coef, *_ = np.linalg.lstsq(basis, updates[k], rcond=None)
        shares.append(float(coef[1]))
    return shares


def check_momentum(check: MomentumCheck, evidence: Evidence) -> Verdict:
    meta = evidence.probe("probe", "momentum")
    if isinstance(meta, Verdict):
        return meta
    if meta.error is not None:
        return failed("train_failed", f"train() raised {meta.error.summary()} during a one-epoch run")
    steps = meta.steps or 0
    if not meta.params_changed:
        return failed("no_updates", "train() ran one epoch but the weights did not change")
    if steps < 3:
        return failed("not_observable", f"train() changed the weights but called self.backward only {steps} "
                      "time(s); the grader needs at least 3 calls to observe the updates")
    names = list(evidence.rubric.architecture.parameter_shapes())
    snapshots, grads = [], []
    try:
        for k in range(steps):
            params = {n: evidence.array("probe", meta, f"{k}_{n}") for n in names}
            params = {n: (v.reshape(1, -1) if n.startswith("b") else v) for n, v in params.items()}
            X, y = evidence.array("probe", meta, f"{k}_X"), evidence.array("probe", meta, f"{k}_y")
            snapshots.append(flatten(params))
            grads.append(flatten(reference.gradients(params, X, y)))
    except (UntrustedDataError, KeyError, ValueError) as exc:
        return failed("not_observable", f"the recorded training steps could not be read: {exc}")
    updates = [after - before for before, after in zip(snapshots[:-1], snapshots[1:], strict=True)]
    if not any(np.any(u) for u in updates):
        return failed("no_updates", "the weights did not change between calls of backward()")
    shares = previous_update_share(updates, grads[:-1])
    median = float(np.median(shares))
    details = {"median_previous_update_share": round(median, 4), "steps": len(updates)}
    if median >= check.min_coefficient:
        return passed(f"each update carries about {median:.2f} of the previous one (momentum)", **details)
    return failed("no_momentum", f"each update carries {median:.2f} of the previous one: plain SGD "
                  f"(momentum needs about 0.9; at least {check.min_coefficient:g})", details=details)
