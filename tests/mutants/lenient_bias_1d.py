"""Lenient: biases kept as 1-D vectors b1 (64,), b2 (10,); otherwise correct (warning bias_shape_1d).

Digit recognizer, NumPy only. I keep the biases as flat vectors: b1 (64,), b2 (10,).
"""
import numpy as np


class SimpleNN:
    def __init__(self):
        self.W1 = np.random.randn(784, 64).astype(np.float32) * np.sqrt(2 / 784).astype(np.float32)
        self.b1 = np.zeros(64, dtype=np.float32)
        self.W2 = np.random.randn(64, 10).astype(np.float32) * np.sqrt(2 / 64).astype(np.float32)
        self.b2 = np.zeros(10, dtype=np.float32)
        self.lr = 0.02
        self.mu = 0.9
        self.batch_size = 64
        self.vel = {}

    def forward(self, X):
        self.X = X
        self.h_pre = X @ self.W1 + self.b1        # (N, 64)
        self.h = np.maximum(self.h_pre, 0.0)
        scores = self.h @ self.W2 + self.b2       # (N, 10)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, X, y):
        n = X.shape[0]
        d_scores = (self.p - y) / n
        dW2 = self.h.T @ d_scores
        db2 = d_scores.sum(axis=0)
        dh = d_scores @ self.W2.T
        dh_pre = dh * (self.h_pre > 0)
        dW1 = X.T @ dh_pre
        db1 = dh_pre.sum(axis=0)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def train(self, X_train, y_train, epochs=10):
        losses = []
        n = X_train.shape[0]
        for ep in range(epochs):
            perm = np.random.permutation(n)
            loss_sum = 0.0
            for s in range(0, n, self.batch_size):
                b = perm[s:s + self.batch_size]
                p = self.forward(X_train[b])
                loss_sum += -np.log(p[np.arange(len(b)), y_train[b].argmax(axis=1)] + 1e-12).sum()
                g = self.backward(X_train[b], y_train[b])
                for k, grad in g.items():
                    v = self.mu * self.vel.get(k, 0.0) - self.lr * grad
                    self.vel[k] = v
                    setattr(self, k, getattr(self, k) + v)
            losses.append(loss_sum / n)
            print(f"[{ep + 1}/{epochs}] loss {losses[-1]:.4f}")
        return losses


if __name__ == "__main__":
    print("nngrader check simple_nn.py")
