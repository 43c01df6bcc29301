"""backward() stores its gradients as self.gW1, self.gb1, ... (names the contract does not mention) and returns nothing.

Otherwise a correct solution: train() reads the same attributes, so training works; only the gradients check
cannot find them (no_gradients).
"""
import numpy as np


def relu(x):
    return np.maximum(0, x)


def relu_derivative(x):
    return (x > 0).astype(x.dtype)


def softmax(x):
    exps = np.exp(x - np.max(x, axis=1, keepdims=True))
    return exps / np.sum(exps, axis=1, keepdims=True)


class SimpleNN:
    def __init__(self):
        input_size, hidden_size, output_size = 784, 64, 10
        # small random weights (He scaling), zero biases
        self.W1 = np.random.randn(input_size, hidden_size).astype(np.float32) * np.float32(np.sqrt(2 / input_size))
        self.b1 = np.zeros((1, hidden_size), dtype=np.float32)
        self.W2 = np.random.randn(hidden_size, output_size).astype(np.float32) * np.float32(np.sqrt(2 / hidden_size))
        self.b2 = np.zeros((1, output_size), dtype=np.float32)

        self.learning_rate = 0.01
        self.momentum = 0.9
        self.batch_size = 64
        self.velocities = [np.zeros_like(p) for p in (self.W1, self.b1, self.W2, self.b2)]

    def forward(self, X):
        self.Z1 = np.dot(X, self.W1) + self.b1
        self.A1 = relu(self.Z1)
        self.Z2 = np.dot(self.A1, self.W2) + self.b2
        self.A2 = softmax(self.Z2)
        return self.A2

    def backward(self, X, y):
        m = X.shape[0]
        dZ2 = (self.A2 - y) / m
        self.gW2 = np.dot(self.A1.T, dZ2)
        self.gb2 = np.sum(dZ2, axis=0, keepdims=True)
        dA1 = np.dot(dZ2, self.W2.T)
        dZ1 = dA1 * relu_derivative(self.Z1)
        self.gW1 = np.dot(X.T, dZ1)
        self.gb1 = np.sum(dZ1, axis=0, keepdims=True)

    def train(self, X_train, y_train, epochs=10):
        n_samples = X_train.shape[0]
        history = []
        for epoch in range(epochs):
            indices = np.random.permutation(n_samples)
            total_loss = 0.0
            for start in range(0, n_samples, self.batch_size):
                batch = indices[start:start + self.batch_size]
                Xb, yb = X_train[batch], y_train[batch]

                probs = self.forward(Xb)
                total_loss += -np.sum(yb * np.log(probs + 1e-9))
                self.backward(Xb, yb)

                params = [self.W1, self.b1, self.W2, self.b2]
                grads = [self.gW1, self.gb1, self.gW2, self.gb2]
                for i in range(4):
                    # v = momentum * v - lr * grad, then p += v (in place)
                    self.velocities[i] = self.momentum * self.velocities[i] - self.learning_rate * grads[i]
                    params[i] += self.velocities[i]

            history.append(total_loss / n_samples)
            print("epoch", epoch + 1, "loss", round(history[-1], 4))
        return history


if __name__ == "__main__":
    print("Grade me with: nngrader check simple_nn.py")
