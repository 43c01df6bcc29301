"""Hints: the likely bug behind a diagnosis, named the way a student would search for it.

Each check kind declares its own diagnoses and hint templates next to its code (see CheckKind); the
diagnoses any check can give (the sandbox stopped it, its output was refused, ...) are here. Templates are
filled from the rubric, so a hint never names a class, a layer size or a hyper-parameter the assignment
does not use: `{class_name}`, `{shapes}` ("W1 (784, 64), b1 (1, 64), ..."), `{params}` ("W1, b1, W2, b2"),
`{self_params}`, `{grads}` ("dW1, db1, dW2, db2"), `{forward_steps}` (the forward pass written out), `{last}`
(the output layer's index), `{n_out}` (its width), `{first_w}` / `{first_shape}`, and the starter
hyper-parameters `{learning_rate}`, `{batch_size}`, `{momentum}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.rubric import Rubric

COMMON: dict[str, str] = {
    "timeout": "It ran past the time limit: look for an infinite loop, or too much work at import time "
               "(training belongs in train(); your own runs go under `if __name__ == \"__main__\":`).",
    "stalled": "Your code stopped making progress (no forward/backward call and no change to the weights for "
               "a long time): look for an infinite loop, a sleep, or a wait on input.",
    "too_slow": "At this speed training cannot finish within the time limit: vectorise (one matrix product per "
                "batch, no Python loop over single images) and use batches of about {batch_size}.",
    "runaway": "train() does not stop: make sure the loop runs exactly `epochs` times over the data (a `while` "
               "loop needs its counter increased; a `for` loop over range(epochs) cannot forget it).",
    "sandbox_error": "The sandbox stopped your code: see the message (memory, file size or process limits).",
    "exited_early": "Do not call sys.exit(), exit() or os._exit() at import time or in your methods.",
    "invalid_output": "The grader could not use what your code produced: see the message. Return plain NumPy "
                      "arrays of the documented shapes, and do not write to the grader's files.",
    "grader_error": "The grader itself failed on this check: this is not your fault. Please report it to the "
                    "course staff with this report.",
    "missing_method": "{class_name} needs the methods forward(X), backward(X, y) and train(X, y, epochs): see "
                      "the message for the one that is missing.",
}


def context(rubric: Rubric) -> dict[str, str]:
    """The values hint templates may use, from the rubric."""
    shapes = rubric.architecture.parameter_shapes()
    layers = len(rubric.architecture.layers) - 1
    steps = []
    previous = "X"
    for i in range(1, layers + 1):
        steps.append(f"z{i} = {previous} @ W{i} + b{i}")
        if i < layers:
            steps.append(f"h{i} = max(0, z{i})")
            previous = f"h{i}"
    steps.append(f"probs = softmax(z{layers})")
    starter = rubric.starter
    return {
        "class_name": rubric.architecture.class_name,
        "shapes": ", ".join(f"{name} {shape}" for name, shape in shapes.items()),
        "params": ", ".join(shapes),
        "self_params": ", ".join(f"self.{name}" for name in shapes),
        "grads": ", ".join(f"d{name}" for name in shapes),
        "forward_steps": "; ".join(steps),
        "last": str(layers),
        "n_out": str(rubric.architecture.layers[-1]),
        "first_w": "W1",
        "first_shape": str(shapes["W1"]),
        "learning_rate": starter.learning_rate,
        "batch_size": str(starter.batch_size),
        "momentum": f"{starter.momentum:g}",
    }


def render(template: str, rubric: Rubric) -> str:
    """A hint template filled from the rubric."""
    return template.format(**context(rubric))
