"""Training integrity: the accuracy must come from training on the data the grader gave.

Each cheat is the reference solution plus the cheat; each must lose exactly the points it tried to steal.
Honest variations that look unusual (restoring the best epoch's weights) keep their full grade.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from grader import grade_submission
from grader.data import mnist
from grader.models import Report, Status
from tests.conftest import REFERENCE

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

SEED = 1234


def reference_with(tmp_path: Path, name: str, *, replace: dict[str, str] | None = None, append: str = "") -> Path:
    """The reference solution with `replace` applied (each anchor must exist) and `append` added at the end."""
    source = REFERENCE.read_text()
    for anchor, new in (replace or {}).items():
        assert anchor in source, f"anchor not found in the reference: {anchor!r}"
        source = source.replace(anchor, new)
    path = tmp_path / f"{name}.py"
    path.write_text(source + "\n" + append)
    return path


def grade(path: Path, mnist_data: Path) -> Report:
    return grade_submission(path, sandbox="local", data_dir=mnist_data, seed=SEED)


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


@pytest.fixture(scope="module")
def public_test_labels(mnist_data: Path) -> str:
    arrays = mnist.load_arrays(mnist.prepare(mnist_data))
    return _encode(np.asarray(arrays["test_labels"], dtype=np.uint8))


@pytest.fixture(scope="module")
def shipped_weights(mnist_data: Path) -> dict[str, str]:
    """Weights trained on the public, unpermuted MNIST, as a student could ship them (float16, base64)."""
    arrays = mnist.load_arrays(mnist.prepare(mnist_data))
    namespace: dict[str, object] = {}
    exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), namespace)  # noqa: S102 - our own reference
    np.random.seed(0)
    model = namespace["SimpleNN"]()  # type: ignore[operator]
    X = np.asarray(arrays["train_images"], dtype=np.float32) / 255
    model.train(X, np.eye(10, dtype=np.float32)[arrays["train_labels"]], epochs=2)
    return {name: _encode(np.asarray(getattr(model, name), dtype=np.float16)) for name in ("W1", "b1", "W2", "b2")}


SHIPPED = """
import base64 as _b64
_SHIPPED = {shipped!r}
_SHAPES = {{"W1": (784, 64), "b1": (1, 64), "W2": (64, 10), "b2": (1, 10)}}


def _load_shipped(model):
    for name, text in _SHIPPED.items():
        setattr(model, name, np.frombuffer(_b64.b64decode(text), dtype=np.float16).reshape(_SHAPES[name])
                .astype(np.float32))
"""


def test_embedded_test_labels_without_training_score_nothing_for_accuracy(tmp_path: Path, mnist_data: Path,
                                                                         public_test_labels: str) -> None:
    """forward() answers the public test labels for the test set; train() only pretends."""
    path = reference_with(tmp_path, "embedded_labels", replace={
        "        z1 = X @ self.W1 + self.b1": "        if len(X) == 10000:\n"
        "            return np.eye(10)[_LABELS]\n        z1 = X @ self.W1 + self.b1",
        "        n = X_train.shape[0]\n        losses: list[float] = []":
        "        return [2.3 - 0.2 * epoch for epoch in range(epochs)]\n        n = X_train.shape[0]\n"
        "        losses: list[float] = []",
    }, append=f"_LABELS = np.frombuffer(__import__('base64').b64decode({public_test_labels!r}), dtype=np.uint8)\n")
    report = grade(path, mnist_data)
    assert report.check("trained").diagnosis == "not_observable"
    assert report.check("accuracy").status is Status.SKIPPED and report.check("loss_decrease").points == 0
    assert report.check("forward").status is Status.PASS  # the probes never show it the test set
    assert report.score == 55 and not report.passed


def test_a_forward_that_special_cases_the_test_set_gains_nothing(tmp_path: Path, mnist_data: Path,
                                                                  public_test_labels: str) -> None:
    """An honest trainer whose forward() answers embedded labels on the test set: graded on its weights."""
    path = reference_with(tmp_path, "forward_cheat", replace={
        "        z1 = X @ self.W1 + self.b1": "        if len(X) == 10000:\n"
        "            return np.eye(10)[_LABELS]\n        z1 = X @ self.W1 + self.b1",
    }, append=f"_LABELS = np.frombuffer(__import__('base64').b64decode({public_test_labels!r}), dtype=np.uint8)\n")
    report = grade(path, mnist_data)
    accuracy = report.check("accuracy")
    assert accuracy.status is Status.PASS and 0.96 < accuracy.details["accuracy"] < 0.99  # type: ignore[operator]
    assert accuracy.details["student_forward_accuracy"] < 0.3  # type: ignore[operator]  # the classes are permuted
    assert any(note.code == "forward_disagrees" for note in report.notes)


@pytest.mark.parametrize(("where", "diagnosis"), [
    ("start", "params_replaced"),  # train() loads the weights, then trains a little
    ("middle", "params_replaced"),  # honest training, then the weights are swapped in
    ("end", "params_replaced"),  # swapped in after the last batch
])
def test_shipped_weights_are_caught_wherever_they_are_loaded(tmp_path: Path, mnist_data: Path,
                                                             shipped_weights: dict[str, str], where: str,
                                                             diagnosis: str) -> None:
    hook = {
        "start": ("        n = X_train.shape[0]\n        losses: list[float] = []",
                  "        _load_shipped(self)\n        n = X_train.shape[0]\n        losses: list[float] = []"),
        "middle": ("            losses.append(total_loss / n)",
                   "            if epoch == 4:\n                _load_shipped(self)\n"
                   "            losses.append(total_loss / n)"),
        "end": ("        return losses\n", "        _load_shipped(self)\n        return losses\n"),
    }[where]
    path = reference_with(tmp_path, f"shipped_{where}", replace=dict([hook]),
                          append=SHIPPED.format(shipped=shipped_weights))
    report = grade(path, mnist_data)
    trained = report.check("trained")
    assert trained.status is Status.FAIL and trained.diagnosis == diagnosis, trained.message
    assert "replaced" in trained.message and trained.hint
    assert report.check("accuracy").status is Status.SKIPPED
    assert report.check("loss_decrease").status is Status.SKIPPED
    assert report.check("momentum").status is Status.PASS  # the probe run is honest: those points stand
    assert report.score == 65 and not report.passed


def test_shipped_weights_in_init_score_at_chance_without_training(tmp_path: Path, mnist_data: Path,
                                                                   shipped_weights: dict[str, str]) -> None:
    """Weights shipped as the initial values do not fit the permuted task: without real training, chance."""
    path = reference_with(tmp_path, "shipped_init", replace={
        "        self.velocity = {": "        _load_shipped(self)\n        self.velocity = {",
        "                idx = order[start : start + self.batch_size]":
        "                if start >= self.batch_size:\n                    break\n"
        "                idx = order[start : start + self.batch_size]",
    }, append=SHIPPED.format(shipped=shipped_weights))
    report = grade(path, mnist_data)
    assert report.check("trained").status is Status.PASS  # it did take (a few) real gradient steps
    accuracy = report.check("accuracy")
    assert accuracy.status is Status.FAIL and accuracy.details["accuracy"] < 0.6  # type: ignore[operator]  # shipped alone: 11%


def test_faked_momentum_updates_are_not_gradient_steps(tmp_path: Path, mnist_data: Path) -> None:
    """After the first step, each update repeats 0.9 x the previous one, ignoring the gradients."""
    path = reference_with(tmp_path, "fake_momentum", replace={
        "                for name, grad in grads.items():\n                    v = self.velocity[name]\n"
        "                    v *= self.momentum\n                    v -= self.learning_rate * grad":
        "                for name, grad in grads.items():\n                    v = self.velocity[name]\n"
        "                    v *= self.momentum\n                    if not v.any():\n"
        "                        v -= self.learning_rate * grad",
    })
    report = grade(path, mnist_data)
    assert report.check("momentum").diagnosis == "not_gradient_steps"
    assert report.check("trained").diagnosis == "not_gradient_steps"
    assert report.check("accuracy").status is Status.SKIPPED


def test_restoring_the_best_epoch_is_honest(tmp_path: Path, mnist_data: Path) -> None:
    path = reference_with(tmp_path, "keeps_best", replace={
        "        n = X_train.shape[0]\n        losses: list[float] = []":
        "        n = X_train.shape[0]\n        losses: list[float] = []\n        best = (np.inf, None)",
        "            losses.append(total_loss / n)":
        "            losses.append(total_loss / n)\n            if losses[-1] < best[0]:\n"
        "                best = (losses[-1], {k: getattr(self, k).copy() for k in ('W1', 'b1', 'W2', 'b2')})\n"
        "            if epoch == epochs - 1:\n                for k, v in best[1].items():\n"
        "                    setattr(self, k, v)",
    })
    report = grade(path, mnist_data)
    assert report.score == 100, [(c.id, c.message) for c in report.checks if c.status is not Status.PASS]


def test_sigmoid_network_is_judged_on_its_own_terms(tmp_path: Path, mnist_data: Path) -> None:
    """A wrong hidden activation fails forward once; its training and accuracy are still judged."""
    path = reference_with(tmp_path, "sigmoid", replace={
        "        a1 = np.maximum(z1, 0)  # ReLU": "        a1 = 1 / (1 + np.exp(-z1))",
        "        dz1 = da1 * (z1 > 0)  # ReLU passes gradient only where z1 > 0": "        dz1 = da1 * a1 * (1 - a1)",
        "        self.learning_rate = 0.02": "        self.learning_rate = 0.1",
    })
    report = grade(path, mnist_data)
    assert report.check("forward").diagnosis == "wrong_activation"
    accuracy = report.check("accuracy")
    assert accuracy.status is Status.PASS and "sigmoid" in accuracy.message
