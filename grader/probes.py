"""The host's probe inputs: parameters and batches drawn from the grading seed, and how they reach a stage.

Each check kind declares the inputs its probe needs (CheckKind.inputs); these helpers draw them. The
inputs of probe P are written into the stage's in/ folder as `P_<name>.npy` (the harness reads them by
the same rule); the host keeps its own copy. Test labels are never written anywhere a submission can read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grader.checks.reference import one_hot

if TYPE_CHECKING:
    from grader.checks.base import HostData
    from grader.rubric import Rubric


def input_file(probe: str, name: str) -> str:
    """The file name of input `name` of `probe` in a stage's in/ folder (the harness uses the same rule)."""
    return f"{probe}_{name}.npy"


def random_params(rubric: Rubric, rng: np.random.Generator, bias_scale: float = 0.5) -> dict[str, np.ndarray]:
    """He-scaled weights and clearly non-zero biases (so a forward pass that drops them is caught)."""
    params = {}
    for name, shape in rubric.architecture.parameter_shapes().items():
        if name.startswith("W"):
            params[name] = rng.normal(0.0, np.sqrt(2.0 / shape[0]), size=shape)
        else:
            params[name] = rng.normal(0.0, bias_scale, size=shape)
    return params


def sample_images(host: HostData, rng: np.random.Generator, n: int,
                  onehot: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`n` training images (float32 in [0, 1]) and their labels (one-hot float64), drawn without replacement."""
    idx = np.sort(rng.choice(len(host.train_labels), size=n, replace=False))
    X = np.asarray(host.train_images[idx], dtype=np.float32) / np.float32(255.0)
    labels = np.asarray(host.train_labels[idx])
    return X, one_hot(labels) if onehot else labels


def write_inputs(in_dir: Path, request: dict[str, object], inputs: dict[str, dict[str, np.ndarray]]) -> None:
    """request.json plus every probe input of this stage."""
    in_dir.mkdir(parents=True, exist_ok=True)
    for probe, arrays in inputs.items():
        for name, value in arrays.items():
            np.save(in_dir / input_file(probe, name), value, allow_pickle=False)
    (in_dir / "request.json").write_text(json.dumps(request))
    for path in in_dir.iterdir():
        path.chmod(0o644)
