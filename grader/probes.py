"""The host's probe inputs: parameters and batches chosen with the grading seed.

They are written into each stage's `in/` folder; the host keeps its own copy (and the test labels,
which are never written anywhere a submission can read).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grader.checks.base import ProbeInputs
from grader.checks.reference import one_hot
from grader.rubric import Rubric


def random_params(rubric: Rubric, rng: np.random.Generator, bias_scale: float = 0.5) -> dict[str, np.ndarray]:
    """He-scaled weights and clearly non-zero biases (so a forward pass that drops them is caught)."""
    params = {}
    for name, shape in rubric.architecture.parameter_shapes().items():
        if name.startswith("W"):
            params[name] = rng.normal(0.0, np.sqrt(2.0 / shape[0]), size=shape)
        else:
            params[name] = rng.normal(0.0, bias_scale, size=shape)
    return params


def _images(arrays: dict[str, np.ndarray], rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.sort(rng.choice(len(arrays["train_labels"]), size=n, replace=False))
    X = np.asarray(arrays["train_images"][idx], dtype=np.float32) / np.float32(255.0)
    return X, np.asarray(arrays["train_labels"][idx])


def _large_logits(params: dict[str, np.ndarray], X: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    """The same network with the last layer scaled so the logits reach about `scale`."""
    from grader.checks.reference import forward

    last = sum(1 for name in params if name.startswith("W"))
    logits = forward(params, X)[2][-1]
    factor = scale / max(float(np.abs(logits).max()), 1e-6)
    scaled = dict(params)
    scaled[f"W{last}"], scaled[f"b{last}"] = params[f"W{last}"] * factor, params[f"b{last}"] * factor
    return scaled


def choose(rubric: Rubric, arrays: dict[str, np.ndarray], seed: int, *, train_samples: int) -> ProbeInputs:
    """Draw every probe input from the seed. `arrays` are the prepared MNIST arrays (memory-mapped)."""
    rng = np.random.default_rng(seed)
    inputs = ProbeInputs(train_labels=np.asarray(arrays["train_labels"]),
                         test_labels=np.asarray(arrays["test_labels"]))
    forward_check = rubric.get("forward")
    X, _ = _images(arrays, rng, getattr(forward_check, "batch_size", 32))
    inputs.params["forward"] = random_params(rubric, rng)
    inputs.batches["forward_X"] = X
    stability = rubric.get("stability")
    inputs.params["stability"] = _large_logits(inputs.params["forward"], X, getattr(stability, "logit_scale", 2000.0))
    inputs.batches["stability_X"] = X
    gradients = rubric.get("gradients")
    Xg, yg = _images(arrays, rng, getattr(gradients, "batch_size", 16))
    inputs.params["gradients"] = random_params(rubric, rng, bias_scale=0.2)
    inputs.batches["gradients_X"], inputs.batches["gradients_y"] = Xg, one_hot(yg)
    momentum = rubric.get("momentum")
    Xm, ym = _images(arrays, rng, getattr(momentum, "samples", 2048))
    inputs.batches["momentum_X"], inputs.batches["momentum_y"] = Xm, one_hot(ym).astype(np.float32)
    loss = rubric.get("loss_decrease")
    subset = min(getattr(loss, "subset", 2000), train_samples)
    inputs.loss_idx = np.sort(rng.choice(train_samples, size=subset, replace=False))
    return inputs


def write_stage_inputs(in_dir: Path, request: dict[str, object], inputs: ProbeInputs, stage: str) -> None:
    """request.json plus the arrays this stage needs. Test labels are never written."""
    in_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    if stage == "probe":
        for probe, params in inputs.params.items():
            arrays.update({f"{probe}_{name}": value for name, value in params.items()})
        arrays.update(inputs.batches)
    if stage == "train" and inputs.loss_idx is not None:
        arrays["loss_idx"] = inputs.loss_idx
    for name, value in arrays.items():
        np.save(in_dir / f"{name}.npy", value, allow_pickle=False)
    (in_dir / "request.json").write_text(json.dumps(request))
    for path in in_dir.iterdir():
        path.chmod(0o644)
