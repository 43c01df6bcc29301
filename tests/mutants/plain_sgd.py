"""train() does plain SGD (param -= lr * grad): the velocities are created but never used, so there is no momentum.

Week 3 mini challenge - digit recognizer (784 -> 64 -> 10).
"""
import numpy as np


class SimpleNN:
    def __init__(self):
        # He init because we use ReLU
        self.W1 = np.random.randn(784, 64) * np.sqrt(2.0 / 784)
        self.b1 = np.zeros((1, 64))
        self.W2 = np.random.randn(64, 10) * np.sqrt(2.0 / 64)
        self.b2 = np.zeros((1, 10))

        self.lr = 0.02
        self.beta = 0.9        # momentum
        self.batch_size = 64

        # velocities for momentum
        self.vW1 = np.zeros_like(self.W1)
        self.vb1 = np.zeros_like(self.b1)
        self.vW2 = np.zeros_like(self.W2)
        self.vb2 = np.zeros_like(self.b2)

    def relu(self, z):
        return np.maximum(0, z)

    def softmax(self, z):
        z = z - np.max(z, axis=1, keepdims=True)   # for numerical stability
        e = np.exp(z)
        return e / np.sum(e, axis=1, keepdims=True)

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = self.relu(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.a2 = self.softmax(self.z2)
        return self.a2

    def backward(self, X, y):
        m = X.shape[0]
        dz2 = (self.a2 - y) / m            # softmax + cross entropy
        dW2 = self.a1.T @ dz2
        db2 = np.sum(dz2, axis=0, keepdims=True)
        da1 = dz2 @ self.W2.T
        dz1 = da1 * (self.z1 > 0)          # relu derivative
        dW1 = X.T @ dz1
        db1 = np.sum(dz1, axis=0, keepdims=True)
        return dW1, db1, dW2, db2

    def compute_loss(self, y_pred, y_true):
        return -np.mean(np.sum(y_true * np.log(y_pred + 1e-8), axis=1))

    def train(self, X_train, y_train, epochs=10):
        n = X_train.shape[0]
        losses = []
        for epoch in range(epochs):
            # shuffle every epoch
            perm = np.random.permutation(n)
            X_shuf = X_train[perm]
            y_shuf = y_train[perm]

            epoch_loss = 0.0
            num_batches = 0
            for i in range(0, n, self.batch_size):
                X_batch = X_shuf[i:i + self.batch_size]
                y_batch = y_shuf[i:i + self.batch_size]

                y_pred = self.forward(X_batch)
                epoch_loss += self.compute_loss(y_pred, y_batch)
                num_batches += 1

                dW1, db1, dW2, db2 = self.backward(X_batch, y_batch)

                # gradient descent update
                self.W1 -= self.lr * dW1
                self.b1 -= self.lr * db1
                self.W2 -= self.lr * dW2
                self.b2 -= self.lr * db2

            losses.append(epoch_loss / num_batches)
            print(f"Epoch {epoch + 1}/{epochs} - loss: {losses[-1]:.4f}")
        return losses


if __name__ == "__main__":
    print("run: nngrader check simple_nn.py")
