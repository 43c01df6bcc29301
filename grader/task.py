"""The graded task: MNIST under a hidden permutation of its pixels and of its classes.

MNIST's test set is public, so a network that never learns could carry the answers (a 9 KB table of test
labels, or trained weights shipped as text). For the graded run the host therefore permutes the 784 input
pixels and the 10 classes, for training and test data alike. An MLP is invariant to both (a permuted
input only permutes the rows of W1, a permuted class only the columns of the last layer), so honest code
learns exactly as well; shipped weights and embedded label tables score at chance.

The permutations are drawn per grading from the grading seed and a secret key kept in the grader's cache
folder (created on first use, readable by its owner only): the same seed gives the same task on the same
installation (batch re-runs give the same grades), and nobody without the key can compute it. They are
applied on the host; the sandbox only ever sees the permuted data, never the permutations or the labels
of the test set.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np

from grader.checks.base import Task
from grader.checks.reference import one_hot

KEY_FILE = "task.key"


def secret_key(cache_dir: Path) -> bytes:
    """The installation's task key: 32 random bytes in cache_dir/task.key (mode 0600), made on first use."""
    path = cache_dir / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        key = path.read_bytes()
        if len(key) == 32:
            return key
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = cache_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    with contextlib.suppress(FileExistsError):
        os.link(tmp, path)  # first writer wins; concurrent graders then all read the same key
    tmp.unlink()
    return path.read_bytes()


def permutations(seed: int, key: bytes, pixels: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixel_perm, class_perm) for this grading: a function of the seed and the secret key only."""
    digest = hmac.new(key, f"nngrader-task:{seed}".encode(), hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:16], "big"))
    return rng.permutation(pixels), rng.permutation(classes)


def build(arrays: dict[str, np.ndarray], seed: int, key: bytes, loss_idx: np.ndarray) -> Task:
    """The host's side of the task: permutations, the loss subset and the test set, all permuted."""
    pixel_perm, class_perm = permutations(seed, key, arrays["train_images"].shape[1], 10)
    loss_X = np.asarray(arrays["train_images"][loss_idx][:, pixel_perm], dtype=np.float32) / np.float32(255.0)
    loss_y = one_hot(class_perm[np.asarray(arrays["train_labels"][loss_idx])])
    test_X = np.asarray(arrays["test_images"], dtype=np.uint8)[:, pixel_perm].astype(np.float32) / np.float32(255.0)
    test_y = class_perm[np.asarray(arrays["test_labels"])]
    return Task(pixel_perm=pixel_perm, class_perm=class_perm, loss_X=loss_X, loss_y=loss_y, test_X=test_X,
                test_y=test_y)


def write_stage_data(data_dir: Path, arrays: dict[str, np.ndarray], task: Task, train_rows: int) -> None:
    """The train stage's data folder: the first `train_rows` training images and labels and the test images,
    permuted. Never the test labels."""
    data_dir.mkdir(parents=True, exist_ok=True)
    images = np.asarray(arrays["train_images"][:train_rows])
    public = {
        "train_images": np.take(images, task.pixel_perm, axis=1),
        "train_labels": task.class_perm[np.asarray(arrays["train_labels"][:train_rows])].astype(np.uint8),
        "test_images": np.take(np.asarray(arrays["test_images"]), task.pixel_perm, axis=1),
    }
    for name, array in public.items():
        np.save(data_dir / f"{name}.npy", array, allow_pickle=False)
        (data_dir / f"{name}.npy").chmod(0o644)
    data_dir.chmod(0o755)
