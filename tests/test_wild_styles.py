"""Submissions written the way real students write them, each graded to an exact verdict with a message that
says what the grader expected and what it found.

STUDENT is one student's working solution in a style unlike the reference (helper functions, a cache dict,
float64, biases of shape (n,), a `lr` argument); each case is STUDENT plus one change, or a small layout
of files built from it (helper modules, a package, a notebook export).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader import grade_submission
from grader.models import Status

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

HELPERS = '''import numpy as np


def relu(z):
    return np.maximum(0, z)


def softmax(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)
'''

STUDENT = '''import numpy as np
{imports}

class SimpleNN:
    def __init__(self, hidden=64, lr=0.02, beta=0.9):
        self.W1 = np.random.randn(784, hidden) * np.sqrt(2.0 / 784)
        self.b1 = np.zeros(hidden)
        self.W2 = np.random.randn(hidden, 10) * np.sqrt(2.0 / hidden)
        self.b2 = np.zeros(10)
        self.lr, self.beta = lr, beta
        self.v = {{k: 0.0 for k in ("W1", "b1", "W2", "b2")}}

    def forward(self, X):
        self.cache = {{"X": X, "z1": X @ self.W1 + self.b1}}
        self.cache["a1"] = relu(self.cache["z1"])
        self.cache["p"] = softmax(self.cache["a1"] @ self.W2 + self.b2)
        return self.cache["p"]

    def backward(self, X, y):
        c = self.cache
        dz2 = (c["p"] - y) / len(X)
        dz1 = dz2 @ self.W2.T * (c["z1"] > 0)
        return {{"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": c["a1"].T @ dz2, "b2": dz2.sum(0)}}

    def train(self, X_train, y_train, epochs=10):
        history = []
        for epoch in range(epochs):
            order = np.random.permutation(len(X_train))
            for i in range(0, len(X_train), 64):
                xb, yb = X_train[order[i:i + 64]], y_train[order[i:i + 64]]
                p = self.forward(xb)
                grads = self.backward(xb, yb)
                for k, g in grads.items():
                    self.v[k] = self.beta * self.v[k] - self.lr * g
                    setattr(self, k, getattr(self, k) + self.v[k])
            history.append(float(-np.mean(np.sum(y_train[:1000] * np.log(self.forward(X_train[:1000]) + 1e-9), 1))))
        return history
'''


def student(imports: str = "", replace: dict[str, str] | None = None) -> str:
    source = STUDENT.format(imports=imports)
    for anchor, new in (replace or {}).items():
        assert anchor in source, anchor
        source = source.replace(anchor, new)
    return source


WITH_HELPERS = HELPERS + "\n\n" + student()

CASES: dict[str, dict[str, Any]] = {
    "one_file": {  # the style itself: lenient about (n,) biases and a constructor with defaults
        "files": {"digits.py": WITH_HELPERS},
        "fails": {}, "notes": ["bias_shape_1d"]},
    "helper_module": {  # model.py imports its activations from a sibling module
        "files": {"model.py": student("from layers import relu, softmax\n"), "layers.py": HELPERS},
        "fails": {}},
    "package_relative_imports": {  # a package with `from .activations import ...`
        "files": {"mnistnet/__init__.py": "", "mnistnet/activations.py": HELPERS,
                  "mnistnet/model.py": student("from .activations import relu, softmax\n")},
        "fails": {}},
    "chatty": {  # prints every batch: the output is cut, the grade stands
        "files": {"digits.py": HELPERS + student(replace={"                grads = self.backward(xb, yb)":
                  "                grads = self.backward(xb, yb)\n                print('batch', i, p[:2])"})},
        "fails": {}},
    "notebook_export": {  # `jupyter nbconvert --to script` keeps the magics as get_ipython() calls
        "files": {"digits.py": "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\n"
                  "get_ipython().run_line_magic('matplotlib', 'inline')\n" + WITH_HELPERS},
        "fails": {"loads": "notebook_magic"}, "message": {"loads": ["get_ipython", "line 7"]}},
    "transposed_layout": {  # W1 stored (64, 784), forward multiplies by W1.T
        "files": {"digits.py": HELPERS + student(replace={
            "np.random.randn(784, hidden)": "np.random.randn(hidden, 784)",
            "X @ self.W1 + self.b1": "X @ self.W1.T + self.b1"})},
        "fails": {"shapes": "transposed_layout"}, "message": {"shapes": ["W1 is (64, 784), expected (784, 64)"]}},
    "lowercase_names": {
        "files": {"digits.py": WITH_HELPERS.replace("self.W1", "self.w1").replace("self.W2", "self.w2")},
        "fails": {"shapes": "missing_parameter"}, "message": {"shapes": ["found w1 (784, 64)", "w2 (64, 10)"]}},
    "init_needs_arguments": {
        "files": {"digits.py": HELPERS + student(replace={
            "def __init__(self, hidden=64,": "def __init__(self, hidden,"})},
        "fails": {"loads": "init_failed"}, "message": {"loads": ["hidden", "no arguments", "__init__(self, hidden,"]}},
    "backward_takes_the_cache": {  # backward(cache, y): the probe's backward(X, y) crashes inside student code
        "files": {"digits.py": HELPERS + student(replace={
            "    def backward(self, X, y):\n        c = self.cache":
            "    def backward(self, c, y):\n        X = c['X']",
            "grads = self.backward(xb, yb)": "grads = self.backward(self.cache, yb)"})},
        "fails": {"gradients": "backward_raised", "momentum": "not_observable"},
        "message": {"gradients": ["backward() raised", "line"], "momentum": ["dict", "backward(X_batch, y_batch)"]}},
    "fit_instead_of_train": {  # sklearn habits: fit(), no train()
        "files": {"digits.py": WITH_HELPERS.replace("def train(", "def fit(")},
        "fails": {"momentum": "missing_method", "trained": "missing_method"},
        "message": {"momentum": ["no train() method", "fit(self, X_train, y_train, epochs=10)"]},
        "notes": ["missing_methods"]},
    "returns_logits": {  # forward returns logits, the loss applies softmax: accuracy is still judged
        "files": {"digits.py": HELPERS + student(replace={
            'self.cache["p"] = softmax(self.cache["a1"] @ self.W2 + self.b2)\n        return self.cache["p"]':
            'self.cache["p"] = softmax(self.cache["a1"] @ self.W2 + self.b2)\n'
            '        return self.cache["a1"] @ self.W2 + self.b2'})},
        "fails": {"forward": "not_normalized"}},
    "renamed_class": {  # class NeuralNetwork: graded, with a note naming both
        "files": {"digits.py": WITH_HELPERS.replace("class SimpleNN", "class NeuralNetwork")},
        "fails": {}, "notes": ["class_renamed"]},
    "train_loop_hangs": {  # a while loop whose counter is never increased
        "files": {"digits.py": HELPERS + student(replace={
            "        for epoch in range(epochs):": "        epoch = 0\n        while epoch < epochs:\n"
                                                 "            _ = epoch\n            continue\n"
                                                 "        for epoch in range(epochs):"})},
        "fails": {"momentum": "stalled"}, "message": {"momentum": ["no progress"]}},
}


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path if len(files) > 1 else tmp_path / next(iter(files))


@pytest.mark.parametrize("name", sorted(CASES))
def test_wild_style(name: str, tmp_path: Path, mnist_data: Path) -> None:
    case = CASES[name]
    report = grade_submission(write(tmp_path, case["files"]), sandbox="local", data_dir=mnist_data, seed=21)
    fails: dict[str, str] = case["fails"]
    for result in report.checks:
        if result.id in fails:
            assert result.status is not Status.PASS and result.diagnosis == fails[result.id], result
            assert result.hint
            for keyword in case.get("message", {}).get(result.id, []):
                assert keyword in result.message, (keyword, result.message)
        elif result.status is not Status.PASS:
            # What cannot be judged without a failed check is skipped, never failed a second time.
            assert result.status is Status.SKIPPED and any(f"'{c.title}'" in result.message or "momentum probe"
                                                           in result.message for c in report.checks
                                                           if c.id in fails), (result.id, result.message)
    notes = {note.code for note in report.notes}
    assert set(case.get("notes", [])) <= notes, notes
    assert "Traceback" not in report.model_dump_json()


def test_check_grades_a_folder_with_its_entry(tmp_path: Path, mnist_data: Path) -> None:
    """The CLI takes a folder and --entry, as the README shows (two files define a class; the entry decides)."""
    import subprocess
    import sys

    write(tmp_path, {"model.py": student("from layers import relu, softmax\n"), "layers.py": HELPERS,
                     "old_attempt.py": WITH_HELPERS})
    result = subprocess.run([sys.executable, "-m", "grader", "check", str(tmp_path), "--entry", "model.py",
                             "--sandbox", "local", "--data-dir", str(mnist_data), "--quick", "--format", "json",
                             "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr
    assert '"submission":' in result.stdout and "model.py" in result.stdout
    ambiguous = subprocess.run([sys.executable, "-m", "grader", "check", str(tmp_path), "--sandbox", "local",
                                "--data-dir", str(mnist_data), "--quiet"], capture_output=True, text=True, timeout=600)
    assert ambiguous.returncode == 2 and "--entry" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
