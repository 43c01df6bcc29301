"""The host's own SimpleNN math: the trusted reference every student output is compared with.

Generic over the rubric's layer widths: hidden layers use ReLU, the last layer softmax, and the loss is
the mean cross-entropy over the batch. Its gradients are verified by finite differences in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]
Activation = Callable[[np.ndarray], np.ndarray]


def relu(z: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(z, 0.0))


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    """Softmax with the max shift, so logits in the thousands stay finite."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=axis, keepdims=True))


def n_layers(params: Params) -> int:
    return sum(1 for name in params if name.startswith("W"))


def forward(params: Params, X: np.ndarray, *, hidden: Activation = relu, use_bias: bool = True,
            softmax_axis: int = 1) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Probabilities, plus each layer's input activations and pre-activations (for backward)."""
    activations, pre = [X], []
    a = X
    layers = n_layers(params)
    for i in range(1, layers + 1):
        z = a @ params[f"W{i}"] + (params[f"b{i}"].reshape(1, -1) if use_bias else 0.0)
        pre.append(z)
        if i < layers:
            a = hidden(z)
            activations.append(a)
    return softmax(pre[-1], axis=softmax_axis), activations, pre


def probabilities(params: Params, X: np.ndarray, **variant: object) -> np.ndarray:
    """Just the output of `forward` (variants: hidden=, use_bias=, softmax_axis=)."""
    return forward(params, X, **variant)[0]  # type: ignore[arg-type]


def cross_entropy(probs: np.ndarray, y_onehot: np.ndarray) -> float:
    """Mean cross-entropy; probabilities are clipped so log(0) does not give inf."""
    return float(-np.mean(np.sum(y_onehot * np.log(np.clip(probs, 1e-12, 1.0)), axis=1)))


def gradients(params: Params, X: np.ndarray, y_onehot: np.ndarray, *, relu_mask: bool = True) -> Params:
    """Gradients of the mean cross-entropy. relu_mask=False gives the classic 'missing mask' bug."""
    probs, activations, pre = forward(params, X)
    delta = (probs - y_onehot) / X.shape[0]  # softmax + cross-entropy, averaged over the batch
    grads: Params = {}
    for i in range(n_layers(params), 0, -1):
        grads[f"W{i}"] = activations[i - 1].T @ delta
        grads[f"b{i}"] = delta.sum(axis=0, keepdims=True)
        if i > 1:
            delta = delta @ params[f"W{i}"].T
            if relu_mask:
                delta = delta * (pre[i - 2] > 0)
    return grads


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    return np.eye(classes)[np.asarray(labels, dtype=np.int64)]
