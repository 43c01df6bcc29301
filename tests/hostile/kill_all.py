"""Hostile: forward() (first call) tries to kill everything it can see: kill(-1, SIGKILL), kill(-1,
SIGTERM), its parent (the container's init) and PID 1, printing what each attempt did.

Inside the container the only process it can reach is its own: kill(-1) finds no other process,
PID 1 (the container's init, tini) ignores SIGKILL from inside but forwards SIGTERM to its child, the
harness. So the submission kills itself: the probe stage crashed with SIGTERM, pinned on forward
(error naming SIGTERM). The grader, outside the container's PID namespace, is untouched, and no
container or process is left behind.
"""

from __future__ import annotations

import os
import signal
import time
import numpy as np


_DONE = set()


def once(tag):
    """True the first time it is called with `tag` in this process."""
    if tag in _DONE:
        return False
    _DONE.add(tag)
    return True


def kill_everything():
    for target, sig in ((-1, signal.SIGKILL), (-1, signal.SIGTERM), (os.getppid(), signal.SIGKILL),
                        (1, signal.SIGKILL), (1, signal.SIGTERM)):
        try:
            os.kill(target, sig)
            print(f"KILL_ALL kill({target}, {sig.name}) sent", flush=True)
        except OSError as exc:
            print(f"KILL_ALL kill({target}, {sig.name}) refused: {type(exc).__name__}", flush=True)


class SimpleNN:
    """784 -> 64 -> 10 classifier: ReLU hidden layer, softmax output, SGD with momentum."""

    def __init__(self) -> None:
        n_in, n_hidden, n_out = 784, 64, 10

        # He initialisation (std = sqrt(2 / fan_in)) keeps the ReLU activations at a
        # healthy scale; float32 halves memory traffic and speeds up the matrix products.
        self.W1 = (np.random.randn(n_in, n_hidden) * np.sqrt(2.0 / n_in)).astype(np.float32)
        self.b1 = np.zeros((1, n_hidden), dtype=np.float32)
        self.W2 = (np.random.randn(n_hidden, n_out) * np.sqrt(2.0 / n_hidden)).astype(np.float32)
        self.b2 = np.zeros((1, n_out), dtype=np.float32)

        # Hyper-parameters of mini-batch SGD with momentum.  With momentum 0.9 the effective
        # step is about lr / (1 - 0.9) = 10 * lr: 0.02 is steady, 0.1 is too jumpy to pass 97%.
        self.learning_rate = 0.02
        self.momentum = 0.9
        self.batch_size = 64

        # Velocity (running update direction) of each parameter, same shape as the parameter.
        self.velocity = {name: np.zeros_like(getattr(self, name)) for name in ("W1", "b1", "W2", "b2")}

        # Intermediate values that forward() keeps for backward().
        self._cache: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Return the softmax probabilities (N, 10) for a batch X (N, 784).

        Always reads the current W1, b1, W2, b2, and stores what backward() needs.
        """
        if once("kill"):
            kill_everything()
            time.sleep(5)  # tini forwards SIGTERM asynchronously: let it land here, not in a later probe
        z1 = X @ self.W1 + self.b1          # (N, 64) hidden pre-activations
        a1 = np.maximum(z1, 0)  # ReLU
        z2 = a1 @ self.W2 + self.b2  # (N, 10) logits

        # Numerically stable softmax: subtracting each row's maximum leaves the result
        # unchanged but keeps np.exp from overflowing on large logits.
        z2 = z2 - z2.max(axis=1, keepdims=True)
        exp = np.exp(z2)
        probs = exp / exp.sum(axis=1, keepdims=True)

        self._cache = {"z1": z1, "a1": a1, "probs": probs}
        return probs

    def backward(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean cross-entropy loss w.r.t. W1, b1, W2, b2.

        Must be called right after forward(X); y is one-hot (N, 10).
        """
        z1, a1, probs = self._cache["z1"], self._cache["a1"], self._cache["probs"]
        n = X.shape[0]

        # Softmax + cross-entropy together have the simple gradient (p - y); dividing by
        # the batch size makes it the gradient of the *mean* loss.
        dz2 = (probs - y) / n  # (N, 10)
        dW2 = a1.T @ dz2  # (64, 10)
        db2 = dz2.sum(axis=0, keepdims=True)  # (1, 10)

        da1 = dz2 @ self.W2.T  # (N, 64)
        dz1 = da1 * (z1 > 0)  # ReLU passes gradient only where z1 > 0
        dW1 = X.T @ dz1  # (784, 64)
        db1 = dz1.sum(axis=0, keepdims=True)  # (1, 64)

        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    # ------------------------------------------------------------------ training
    @staticmethod
    def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy of predicted probabilities against one-hot labels."""
        eps = 1e-12  # avoids log(0) for a confidently wrong prediction
        return float(-np.sum(y * np.log(probs + eps)) / y.shape[0])

    def train(self, X_train: np.ndarray, y_train: np.ndarray, epochs: int = 10) -> list[float]:
        """Train in place with mini-batch SGD with momentum; return the mean loss of each epoch."""
        n = X_train.shape[0]
        losses: list[float] = []

        for epoch in range(epochs):
            # A new random order every epoch so the batches differ between epochs.
            order = np.random.permutation(n)
            total_loss = 0.0

            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                Xb, yb = X_train[idx], y_train[idx]

                probs = self.forward(Xb)
                total_loss += self.cross_entropy(probs, yb) * len(idx)
                grads = self.backward(Xb, yb)

                # Momentum: v <- mu * v - lr * grad ; param <- param + v.  The velocity is
                # updated in place; the parameter gets a new array, so nobody holding the
                # old one (e.g. a copy kept for plotting) sees it change.
                for name, grad in grads.items():
                    v = self.velocity[name]
                    v *= self.momentum
                    v -= self.learning_rate * grad
                    setattr(self, name, getattr(self, name) + v)

            losses.append(total_loss / n)
            print(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}")

        return losses

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted digit (0-9) for each row of X."""
        return np.argmax(self.forward(X), axis=1)


if __name__ == "__main__":
    print("Grade this file with:  nngrader check simple_nn.py")
