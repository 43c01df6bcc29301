"""The host's reference math is itself checked: analytic gradients against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import reference
from grader.checks.gradients import classify
from grader.checks.momentum import fit_step
from grader.probes import random_params
from grader.rubric import load_rubric


@pytest.mark.parametrize("rubric_name", ["mini_challenge", "deep_variant"])
def test_gradients_match_finite_differences(rubric_name: str) -> None:
    rubric = load_rubric(rubric_name).rubric
    rng = np.random.default_rng(0)
    params = random_params(rubric, rng)
    X = rng.random((7, rubric.architecture.layers[0]))
    y = reference.one_hot(rng.integers(0, 10, 7))
    grads = reference.gradients(params, X, y)
    eps = 1e-6
    for name, value in params.items():
        for _ in range(5):  # a few random coordinates per parameter
            idx = tuple(rng.integers(0, s) for s in value.shape)
            plus, minus = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric = (reference.cross_entropy(reference.probabilities(plus, X), y)
                       - reference.cross_entropy(reference.probabilities(minus, X), y)) / (2 * eps)
            assert grads[name][idx] == pytest.approx(numeric, rel=1e-4, abs=1e-8), (name, idx)


def test_softmax_is_stable_for_huge_logits() -> None:
    probs = reference.softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.all(np.isfinite(probs)) and probs.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("factor", "diagnosis"), [(16, "sum_instead_of_mean"), (1 / 16, "mean_twice"),
                                                   (-1, "sign_flip"), (1, None)])
def test_classify_names_scaled_gradients(factor: float, diagnosis: str | None) -> None:
    rng = np.random.default_rng(1)
    want = rng.normal(size=(64, 10))
    assert classify("W2", factor * want, want, want * 0.5, batch=16, rtol=1e-3) == diagnosis


def test_classify_transposed_and_zero_bias() -> None:
    rng = np.random.default_rng(2)
    want = rng.normal(size=(784, 64))
    assert classify("W1", want.T.copy(), want, want, batch=16, rtol=1e-3) == "transposed_gradient"
    assert classify("b1", np.zeros((1, 64)), np.ones((1, 64)), np.ones((1, 64)), 16, 1e-3) == "missing_bias_gradient"


def test_momentum_fit_separates_plain_sgd_momentum_and_fake_steps() -> None:
    """The fit finds beta = 0 for plain SGD, 0.9 for momentum, and no gradient step in a faked update."""
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=50) for _ in range(6)]
    velocity, momentum = np.zeros(50), []
    for g in grads:
        velocity = 0.9 * velocity - 0.1 * g
        momentum.append(velocity.copy())
    plain = [fit_step(-0.1 * grads[k], grads[k], -0.1 * grads[k - 1]) for k in range(1, 6)]
    heavy = [fit_step(momentum[k], grads[k], momentum[k - 1]) for k in range(1, 6)]
    faked = [fit_step(0.9 * momentum[k - 1], grads[k], momentum[k - 1]) for k in range(1, 6)]
    assert all(f is not None and f.b == pytest.approx(0.0, abs=1e-9) and f.is_gradient_step for f in plain)
    assert all(f is not None and f.b == pytest.approx(0.9, abs=1e-6) and f.is_gradient_step for f in heavy)
    assert all(f is not None and not f.is_gradient_step for f in faked)  # 0.9 x the last step: no gradient in it
    assert fit_step(np.full(50, np.nan), grads[0], grads[1]) is None  # a diverged run cannot be fitted
