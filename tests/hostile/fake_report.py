"""Hostile: the starter code (nothing implemented) that prints a forged grading report at import and at
exit: a JSON document with score 100/100 and "passed": true, and a text table where every check shows
PASS.

Student output is only a log: it must never be parsed for a score. The grade is the starter's: at
most 15 points, not passed.
"""

import atexit
import json
import numpy as np


FAKE = {
    "score": 100.0, "max_score": 100.0, "passed": True, "pass_mark": 70.0,
    "checks": [{"id": c, "status": "pass", "points": p, "max_points": p} for c, p in (
        ("from_scratch", 5), ("loads", 5), ("shapes", 5), ("forward", 15), ("stability", 5),
        ("gradients", 20), ("momentum", 10), ("loss_decrease", 10), ("accuracy", 25))],
}
TABLE = "\n".join(["Check            Status  Points", "-" * 32]
                   + [f"{c['id']:<16} PASS    {c['points']}/{c['max_points']}" for c in FAKE["checks"]]
                   + ["TOTAL            PASS    100/100"])


def fake_report():
    print(json.dumps(FAKE), flush=True)
    print(TABLE, flush=True)


fake_report()
atexit.register(fake_report)


class SimpleNN:
    """A 784 -> 64 -> 10 network: ReLU hidden layer, softmax output, SGD with momentum.

    Attributes (NumPy float arrays; the grader reads *and sets* them):
        W1: (784, 64) weights of the hidden layer.
        b1: (1, 64) biases of the hidden layer.
        W2: (64, 10) weights of the output layer.
        b2: (1, 10) biases of the output layer.

    The grader may assign its own values to W1, b1, W2, b2 and then call ``forward`` and
    ``backward``, so both methods must always use the current attributes.  The only state
    that may be kept between calls is what ``forward`` stores for the ``backward`` that
    follows it.
    """

    def __init__(self):
        """Create the parameters.  Takes no arguments.

        Hint: ``np.random.randn(...) * 0.01`` works; He initialisation
        (``* np.sqrt(2 / fan_in)``) trains faster with ReLU.  You may also create
        hyper-parameters (learning rate, momentum, batch size) and velocity arrays here.
        """
        # TODO: Initialize weights
        self.W1 = np.random.randn(784, 64) * 0.01
        self.W2 = np.random.randn(64, 10) * 0.01
        self.b1 = np.zeros((1, 64))
        self.b2 = np.zeros((1, 10))

    def forward(self, X):
        """Forward pass.

        Args:
            X: (N, 784) float32 array of pixel values in [0, 1].

        Returns:
            (N, 10) array of softmax probabilities: every row is >= 0 and sums to 1.

        Compute ``ReLU(X @ W1 + b1) @ W2 + b2`` and apply a softmax over each row.
        Subtract each row's maximum logit before ``np.exp`` so large logits do not
        overflow.  Store what ``backward`` will need (e.g. ``self.z1``, ``self.a1``,
        ``self.probs``).
        """
        # TODO: Implement forward pass
        pass

    def backward(self, X, y):
        """Backpropagation.  Called right after ``forward(X)`` on the same X.

        Args:
            X: (N, 784) the batch given to ``forward``.
            y: (N, 10) one-hot labels.

        Returns:
            The gradients of the MEAN cross-entropy loss over the batch, with the same
            shapes as the parameters, in any one of these forms:

            * a dict ``{"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}``
              (the keys ``"dW1"``, ``"db1"``, ... are accepted too),
            * a tuple ``(dW1, db1, dW2, db2)``,
            * or return nothing and store them as ``self.dW1``, ``self.db1``,
              ``self.dW2``, ``self.db2``.

        Hint: with softmax + cross-entropy the output error is ``(probs - y) / N``.
        """
        # TODO: Implement backpropagation
        pass

    def train(self, X_train, y_train, epochs=10):
        """Train the network in place with mini-batch SGD with momentum.

        Args:
            X_train: (60000, 784) float32 images scaled to [0, 1].
            y_train: (60000, 10) float32 one-hot labels.
            epochs: number of passes over the training set.

        Returns:
            Optionally, a list with the mean training loss of each epoch.

        For every mini-batch call ``self.forward(Xb)`` then ``self.backward(Xb, yb)`` and
        update each parameter with momentum::

            v = momentum * v - learning_rate * grad
            param += v

        Shuffle the data each epoch with ``np.random.permutation``.  Keep training fast:
        the grader stops a run that takes longer than a few minutes.
        """
        # TODO: Implement training loop
        pass


# Your task:
# 1. Complete the methods above
# 2. Load MNIST data
# 3. Train for 10 epochs
# 4. Evaluate on test set
# 5. Report accuracy
#
# Bonus challenges:
# - Implement learning rate decay
# - Add dropout regularization (only while training!)
# - Visualize decision boundaries

if __name__ == "__main__":
    # Your own experiments go here; importing this file must not run them.
    print("Check your implementation with:  nngrader check simple_nn.py")
    print("(add --sandbox local if Docker is not installed, --quick for a fast preview)")
