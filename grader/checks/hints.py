"""One hint per diagnosis: the likely bug, named the way a student would search for it.

Kept in one table so the class-wide summary and every report use the same words.
"""

HINTS: dict[str, str] = {
    # from_scratch
    "forbidden_import": "Implement the network with NumPy only: remove imports of other ML/array libraries.",
    # loads
    "syntax_error": "Fix the syntax error at the line shown; run `python your_file.py` to see it.",
    "import_error": "The file raised an error while being imported: keep top-level code to definitions, "
                    "and move data loading/training under `if __name__ == \"__main__\":`.",
    "class_not_found": "Define `class SimpleNN` with forward, backward and train methods.",
    "init_failed": "SimpleNN() must work with no arguments: fix the error in __init__.",
    "exited_early": "Do not call sys.exit()/exit()/os._exit() at import or in your methods.",
    "timeout": "It ran past the time limit: look for an infinite loop, or too much work at import time "
               "(training belongs in train(), under `if __name__ == \"__main__\":` for your own runs).",
    "sandbox_error": "The sandbox stopped your code: see the message (memory, output or process limits).",
    # shapes
    "wrong_shape": "Use W1 (784, 64), b1 (1, 64), W2 (64, 10), b2 (1, 10) and compute X @ W1 + b1.",
    "missing_parameter": "Store the parameters as attributes self.W1, self.b1, self.W2, self.b2.",
    # forward
    "returned_none": "forward(X) must `return` the probabilities; it returned None.",
    "wrong_output_shape": "forward(X) must return an array of shape (N, 10): one row of probabilities per image.",
    "nan_output": "forward produced NaN/inf on ordinary inputs: check the softmax and the log/exp calls.",
    "not_normalized": "Each row must sum to 1: apply softmax to the output layer (did you return the logits?).",
    "softmax_wrong_axis": "Softmax is taken over the wrong axis: use axis=1 with keepdims=True (per image).",
    "missing_relu": "The hidden layer is linear: apply ReLU, np.maximum(0, z1), before the second layer.",
    "wrong_activation": "The hidden layer must use ReLU (np.maximum(0, z)), not sigmoid or tanh.",
    "missing_bias": "The biases are not added: compute X @ W1 + b1 and h @ W2 + b2.",
    "forward_mismatch": "The probabilities differ from ReLU + softmax: compare your forward step by step with "
                        "z1 = X @ W1 + b1; h = max(0, z1); z2 = h @ W2 + b2; softmax(z2).",
    # stability
    "softmax_overflow": "Softmax overflows for large logits: subtract the row max first, "
                        "z - z.max(axis=1, keepdims=True), before np.exp.",
    "stability_mismatch": "With large logits the probabilities are wrong: shift by the row max before np.exp "
                          "and avoid clipping the logits.",
    # gradients
    "no_gradients": "backward(X, y) must return the gradients (a dict with W1, b1, W2, b2, or a tuple "
                    "(dW1, db1, dW2, db2)) or store them as self.dW1, ...",
    "sum_instead_of_mean": "Gradients are N times too large: the loss is the MEAN over the batch, divide by "
                           "the batch size (dz2 = (probs - y) / N).",
    "mean_twice": "Gradients are N times too small: you divide by the batch size twice.",
    "sign_flip": "Gradients have the wrong sign: dz2 = probs - y (not y - probs); the update subtracts lr * grad.",
    "missing_bias_gradient": "Bias gradients are missing or zero: db = dz.sum(axis=0, keepdims=True).",
    "missing_relu_mask": "dW1/db1 are wrong where the hidden pre-activation is negative: multiply by the ReLU "
                         "derivative, dz1 = dh * (z1 > 0).",
    "transposed_gradient": "A weight gradient is transposed: dW must have the shape of W (dW1 = X.T @ dz1).",
    "gradient_mismatch": "Gradients differ from the mean cross-entropy's: check each layer's formula and shapes.",
    # momentum
    "no_momentum": "The updates are plain SGD: keep a velocity per parameter, v = beta * v - lr * grad; "
                   "W += v (beta about 0.9).",
    "no_updates": "train() did not change the weights: update W1, b1, W2, b2 in the training loop.",
    "not_observable": "train() changed the weights without calling self.backward(X_batch, y_batch): call it "
                      "through self so the grader can observe the updates.",
    # training
    "divergence": "The loss became NaN/inf: learning rate too high? Try lr = 0.1 or lower, and check softmax.",
    "loss_not_decreasing": "The loss did not go down: is train() updating the weights with the gradients "
                           "(W -= lr * dW), and looping over batches and epochs?",
    "train_failed": "train() raised an error: see the message and the line.",
    "below_threshold": "Accuracy is below the goal: check the learning rate (0.1 with batch 64), the number of "
                       "epochs, the initialisation (e.g. He: randn * sqrt(2/784)) and shuffling.",
}


def hint(diagnosis: str) -> str:
    """The hint for a diagnosis ('' when there is none)."""
    return HINTS.get(diagnosis, "")
