"""Bare training: what grading costs at the very least, with no grader around it.

Loads the prepared MNIST .npy arrays exactly like the harness's train stage (float32 / 255, one-hot
labels), seeds np.random like the harness, builds SimpleNN from a submission file, trains it, predicts
the 10,000 test images and prints one JSON line:
    {"accuracy": ..., "load_s": ..., "train_s": ..., "test_s": ..., "total_s": ...}

Standard library + NumPy only, so it also runs on the grading image's Python:
    python benchmarks/bare_train.py PREPARED_ROOT SUBMISSION [--epochs 10] [--seed 0]
PREPARED_ROOT is `mnist.prepare(...).root` (it holds public/ and hidden/).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import time
from types import ModuleType

import numpy as np


def import_file(path: str) -> ModuleType:
    """Import a submission file as the module `submission`."""
    spec = importlib.util.spec_from_file_location("submission", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def load(root: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train images/one-hot labels and test images/labels, converted as the harness does."""
    public, hidden = os.path.join(root, "public"), os.path.join(root, "hidden")
    images = np.load(os.path.join(public, "train_images.npy"), mmap_mode="r")
    labels = np.load(os.path.join(public, "train_labels.npy"), mmap_mode="r")
    X = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    y = np.eye(10, dtype=np.float32)[np.asarray(labels)]
    test = np.asarray(np.load(os.path.join(public, "test_images.npy"), mmap_mode="r"), dtype=np.float32)
    test_labels = np.load(os.path.join(hidden, "test_labels.npy"))
    return X, y, test / np.float32(255.0), test_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("prepared_root")
    parser.add_argument("submission")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class-name", default="SimpleNN")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X, y, test, test_labels = load(args.prepared_root)
    module = import_file(args.submission)
    np.random.seed(args.seed % 2**32)
    random.seed(args.seed)
    model = getattr(module, args.class_name)()
    loaded = time.perf_counter()
    model.train(X, y, epochs=args.epochs)
    trained = time.perf_counter()
    accuracy = float(np.mean(np.argmax(model.forward(test), axis=1) == test_labels))
    done = time.perf_counter()
    print(json.dumps({"accuracy": accuracy, "load_s": loaded - start, "train_s": trained - loaded,
                      "test_s": done - trained, "total_s": done - start}))


if __name__ == "__main__":
    main()
