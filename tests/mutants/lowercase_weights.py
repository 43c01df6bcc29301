"""The weights are stored as self.w1 and self.w2 (lower case) instead of W1 and W2.

Otherwise a correct solution; the grader cannot find W1/W2 (missing_parameter), so everything that
sets or reads the parameters is skipped.
"""
import numpy as np

LEARNING_RATE = 0.02
MOMENTUM = 0.9
BATCH_SIZE = 64


class SimpleNN:
    def __init__(self):
        self.w1 = (np.random.randn(784, 64) * np.sqrt(2.0 / 784)).astype(np.float32)
        self.b1 = np.zeros((1, 64), dtype=np.float32)
        self.w2 = (np.random.randn(64, 10) * np.sqrt(2.0 / 64)).astype(np.float32)
        self.b2 = np.zeros((1, 10), dtype=np.float32)
        # one velocity per parameter for SGD with momentum
        self.velocity = {"W1": np.zeros_like(self.w1), "b1": np.zeros_like(self.b1),
                         "W2": np.zeros_like(self.w2), "b2": np.zeros_like(self.b2)}
        self.cache = {}

    def forward(self, X):
        z1 = X.dot(self.w1) + self.b1
        h = np.maximum(z1, 0)
        logits = h.dot(self.w2) + self.b2
        logits = logits - logits.max(axis=1, keepdims=True)  # stable softmax
        exp_logits = np.exp(logits)
        probs = exp_logits / exp_logits.sum(axis=1, keepdims=True)
        self.cache = {"z1": z1, "h": h, "probs": probs}
        return probs

    def backward(self, X, y):
        z1, h, probs = self.cache["z1"], self.cache["h"], self.cache["probs"]
        batch = X.shape[0]
        delta2 = (probs - y) / batch
        grads = {}
        grads["dW2"] = h.T.dot(delta2)
        grads["db2"] = delta2.sum(axis=0, keepdims=True)
        delta1 = delta2.dot(self.w2.T)
        delta1[z1 <= 0] = 0  # ReLU gate
        grads["dW1"] = X.T.dot(delta1)
        grads["db1"] = delta1.sum(axis=0, keepdims=True)
        return grads

    def train(self, X_train, y_train, epochs=10):
        N = len(X_train)
        epoch_losses = []
        for epoch in range(epochs):
            order = np.random.permutation(N)
            running = []
            for k in range(0, N, BATCH_SIZE):
                idx = order[k:k + BATCH_SIZE]
                xb = X_train[idx]
                yb = y_train[idx]
                out = self.forward(xb)
                running.append(-np.mean(np.log(out[yb == 1] + 1e-10)))
                grads = self.backward(xb, yb)
                for name, attr in (("W1", "w1"), ("b1", "b1"), ("W2", "w2"), ("b2", "b2")):
                    self.velocity[name] = MOMENTUM * self.velocity[name] - LEARNING_RATE * grads["d" + name]
                    setattr(self, attr, getattr(self, attr) + self.velocity[name])
            epoch_losses.append(float(np.mean(running)))
            print(f"epoch {epoch + 1}: loss={epoch_losses[-1]:.4f}")
        return epoch_losses


if __name__ == "__main__":
    print("Check it with: nngrader check simple_nn.py")
