"""Lenient: the class is named DigitRecognizer instead of SimpleNN; otherwise correct (warning class_renamed).

Two-layer neural network for handwritten digits (MNIST), from scratch with NumPy.
"""
import numpy as np


class DigitRecognizer:
    """784 -> 64 (ReLU) -> 10 (softmax), trained with mini-batch SGD + momentum."""

    def __init__(self):
        self.W1 = np.random.randn(784, 64) * np.sqrt(2.0 / 784)
        self.b1 = np.zeros((1, 64))
        self.W2 = np.random.randn(64, 10) * np.sqrt(2.0 / 64)
        self.b2 = np.zeros((1, 10))
        self.lr = 0.02
        self.momentum = 0.9
        self.batch_size = 64
        self.v = {k: np.zeros_like(getattr(self, k)) for k in ("W1", "b1", "W2", "b2")}

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = np.maximum(0, self.z1)
        z2 = self.a1 @ self.W2 + self.b2
        z2 = z2 - z2.max(axis=1, keepdims=True)
        self.out = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
        return self.out

    def backward(self, X, y):
        n = len(X)
        d2 = (self.out - y) / n
        d1 = (d2 @ self.W2.T) * (self.z1 > 0)
        return {
            "W1": X.T @ d1,
            "b1": d1.sum(axis=0, keepdims=True),
            "W2": self.a1.T @ d2,
            "b2": d2.sum(axis=0, keepdims=True),
        }

    def train(self, X_train, y_train, epochs=10):
        losses = []
        for epoch in range(epochs):
            idx = np.random.permutation(len(X_train))
            batch_losses = []
            for i in range(0, len(idx), self.batch_size):
                bi = idx[i:i + self.batch_size]
                xb, yb = X_train[bi], y_train[bi]
                probs = self.forward(xb)
                batch_losses.append(-np.sum(yb * np.log(probs + 1e-12)) / len(bi))
                grads = self.backward(xb, yb)
                for k in self.v:
                    self.v[k] = self.momentum * self.v[k] - self.lr * grads[k]
                    setattr(self, k, getattr(self, k) + self.v[k])
            losses.append(float(np.mean(batch_losses)))
            print("epoch %d/%d  loss %.4f" % (epoch + 1, epochs, losses[-1]))
        return losses


if __name__ == "__main__":
    print("Run `nngrader check simple_nn.py` to grade this file.")
