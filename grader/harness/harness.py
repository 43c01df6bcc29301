"""nngrader's in-sandbox harness: run one stage of a submission and write its raw outputs.

Usage: python3 -I harness.py IN_DIR OUT_DIR SUBMISSION [DATA_DIR]

IN_DIR holds request.json and the probe arrays (.npy) the host chose; DATA_DIR (train stage only)
holds the public MNIST arrays. Raw outputs go to OUT_DIR as <probe>.json + <probe>_<name>.npy.
Nothing here decides pass or fail: the host reads these files as untrusted data, so a submission that
tampers with this process can only change its own outputs, never the verdict logic.
Standard library + NumPy only; it runs on the grading image's Python.
"""

import importlib.util
import json
import os
import random
import resource
import sys
import time
import traceback


def apply_limits():
    """Resource limits asked for by the local sandbox (Docker sets its own ulimits instead).

    Set here rather than in a preexec_fn: a preexec_fn forces fork() in the multithreaded grader,
    where OpenBLAS's fork handler can deadlock; without one, subprocess can use vfork/exec.
    """
    limits = json.loads(os.environ.pop("NNGRADER_RLIMITS", "{}"))
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (value, value))


apply_limits()

import numpy as np  # noqa: E402 - after the limits, so they cover NumPy's own allocations

MAX_ELEMENTS = 2_000_000  # an output larger than this is reported, not saved
GRAD_ALIASES = ("{}", "d{}", "grad_{}", "d_{}", "grad{}")


class Stage:
    """One stage's I/O: requests in, raw outputs and progress markers out."""

    def __init__(self, in_dir, out_dir, submission, data_dir):
        self.in_dir, self.out_dir, self.submission, self.data_dir = in_dir, out_dir, submission, data_dir
        with open(os.path.join(in_dir, "request.json")) as f:
            self.request = json.load(f)
        self.param_names = self.request["param_names"]
        # Read once up front: the probes hand out copies, and a bad input fails before student code runs.
        self.inputs = {name[:-4]: np.load(os.path.join(in_dir, name), allow_pickle=False)
                       for name in os.listdir(in_dir) if name.endswith(".npy")}
        self.data = {}
        if data_dir is not None:
            self.data = {name: np.load(os.path.join(data_dir, name + ".npy"), mmap_mode="r", allow_pickle=False)
                         for name in ("train_images", "train_labels", "test_images")}

    def load_input(self, name):
        return self.inputs[name].copy()  # a copy: student code may modify its arguments in place

    def progress(self, probe):
        # Appended before each probe starts, so a timeout or crash is pinned to the probe that was running.
        with open(os.path.join(self.out_dir, "progress.txt"), "a") as f:
            f.write(probe + "\n")

    def write(self, probe, meta, arrays=None):
        saved = {}
        for name, value in (arrays or {}).items():
            array, problem = coerce(value)
            if problem:
                meta.setdefault("problems", {})[name] = problem
                continue
            filename = "%s_%s.npy" % (probe, name)
            np.save(os.path.join(self.out_dir, filename), array, allow_pickle=False)
            saved[name] = filename
        meta["arrays"] = saved
        path = os.path.join(self.out_dir, probe + ".json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(meta, f, allow_nan=True)
        os.replace(tmp, path)


def coerce(value):
    """A plain float64 ndarray from what student code returned, or a description of why not."""
    if value is None:
        return None, "None"
    try:
        size = np.size(value)
    except Exception:
        return None, "not array-like (%s)" % type(value).__name__
    if size > MAX_ELEMENTS:
        return None, "too large (%d elements)" % size
    try:
        array = np.array(value, dtype=np.float64, copy=True)
    except Exception:
        return None, "not numeric (%s)" % type(value).__name__
    return np.ascontiguousarray(array), None


def describe(exc):
    """Exception type, message and the frames inside the submission file."""
    frames = [
        {"line": fr.lineno, "function": fr.name, "code": (fr.line or "")[:200]}
        for fr in traceback.extract_tb(exc.__traceback__)
        if fr.filename.endswith("submission.py")
    ]
    return {"type": type(exc).__name__, "message": str(exc)[:500], "frames": frames[-5:]}


def import_submission(path):
    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def find_class(module, expected):
    """The expected class, or the unique class defining forward, backward and train."""
    obj = getattr(module, expected, None)
    if isinstance(obj, type):
        return obj, []
    candidates = [
        name for name, value in vars(module).items()
        if isinstance(value, type) and getattr(value, "__module__", "") == "submission"
        and all(callable(getattr(value, m, None)) for m in ("forward", "backward", "train"))
    ]
    if len(candidates) == 1:
        return getattr(module, candidates[0]), candidates
    return None, candidates


def build(stage):
    """Import the submission and instantiate its class with the grader's seed."""
    meta = {"ok": False}
    try:
        module = import_submission(stage.submission)
    except SystemExit as exc:
        meta["error"] = {"type": "SystemExit", "message": "sys.exit(%r) at import" % (exc.code,), "frames": []}
        return None, meta
    except BaseException as exc:  # a student's import failure is data, whatever it is
        meta["error"] = describe(exc)
        if isinstance(exc, SyntaxError):
            meta["error"]["line"] = exc.lineno
        return None, meta
    cls, candidates = find_class(module, stage.request["class_name"])
    meta["candidates"] = candidates
    if cls is None:
        meta["error"] = {"type": "ClassNotFound", "message": "", "frames": [],
                         "classes": [n for n, v in vars(module).items() if isinstance(v, type)][:20]}
        return None, meta
    meta["class_name"] = cls.__name__
    try:
        model = instantiate(cls, stage.request["seed"])
    except BaseException as exc:
        meta["error"] = describe(exc)
        meta["error"]["phase"] = "init"
        return None, meta
    meta["ok"] = True
    return model, meta


def instantiate(cls, seed):
    np.random.seed(seed % 2**32)
    random.seed(seed)
    return cls()


def get_params(model, names):
    return {name: getattr(model, name, None) for name in names}


def set_params(model, stage, prefix):
    """Assign the host's parameters, keeping the student's own bias layout ((n,) or (1, n))."""
    for name in stage.param_names:
        value = stage.load_input(prefix + "_" + name)
        current = getattr(model, name, None)
        if isinstance(current, np.ndarray) and current.size == value.size:
            value = value.reshape(current.shape)
        setattr(model, name, value.copy())


def run_guarded(stage, probe, func):
    """Run one probe; an exception becomes data in <probe>.json."""
    stage.progress(probe)
    start = time.perf_counter()
    try:
        meta, arrays = func()
        meta["ok"] = True
    except SystemExit as exc:
        meta, arrays = {"ok": False, "error": {"type": "SystemExit", "message": repr(exc.code), "frames": []}}, {}
    except BaseException as exc:
        meta, arrays = {"ok": False, "error": describe(exc)}, {}
    meta["seconds"] = time.perf_counter() - start
    stage.write(probe, meta, arrays)


def extract_gradients(model, returned, names):
    """Gradients as a dict, a tuple in parameter order, or attributes dW1, ... ; and which form."""
    if isinstance(returned, dict):
        found = {}
        lowered = {str(k).lower(): v for k, v in returned.items()}
        for name in names:
            for alias in GRAD_ALIASES:
                key = alias.format(name).lower()
                if key in lowered:
                    found[name] = lowered[key]
                    break
        return found, "dict"
    if isinstance(returned, (tuple, list)) and len(returned) == len(names):
        return dict(zip(names, returned)), "tuple"
    found = {}
    for name in names:
        for alias in GRAD_ALIASES[1:]:
            if getattr(model, alias.format(name), None) is not None:
                found[name] = getattr(model, alias.format(name))
                break
    if found:
        return found, "attributes"
    return {}, "none" if returned is None else type(returned).__name__


def stage_load(stage):
    model, meta = build(stage)
    if model is not None:
        meta["params"] = {
            name: {"shape": list(np.shape(v)), "type": type(v).__name__} if v is not None else None
            for name, v in get_params(model, stage.param_names).items()
        }
    stage.write("load", meta)


def stage_probe(stage):
    model, meta = build(stage)
    stage.write("build", meta)
    if model is None:
        return
    for probe in ("forward", "stability"):
        def forward_probe(probe=probe):
            set_params(model, stage, probe)
            return {}, {"output": model.forward(stage.load_input(probe + "_X"))}
        run_guarded(stage, probe, forward_probe)

    def gradient_probe():
        set_params(model, stage, "gradients")
        X, y = stage.load_input("gradients_X"), stage.load_input("gradients_y")
        model.forward(X)
        returned = model.backward(X, y)
        grads, form = extract_gradients(model, returned, stage.param_names)
        after = get_params(model, stage.param_names)
        changed = [n for n in stage.param_names
                   if not np.array_equal(np.asarray(after[n]).ravel(), stage.load_input("gradients_" + n).ravel())]
        return {"form": form, "changed_params": changed}, grads
    run_guarded(stage, "gradients", gradient_probe)
    run_guarded(stage, "momentum", lambda: momentum_probe(stage, type(model)))


def momentum_probe(stage, cls):
    """Train a fresh model briefly, recording parameters and batch at each backward() call."""
    model = instantiate(cls, stage.request["seed"])
    names, steps = stage.param_names, stage.request["momentum_steps"]
    before = {n: np.array(v, dtype=np.float64) for n, v in get_params(model, names).items()}
    records = []
    original = model.backward

    def recording_backward(X, y, *args, **kwargs):
        if len(records) < steps:
            snapshot = {n: np.array(getattr(model, n), dtype=np.float64) for n in names}
            records.append((snapshot, np.array(X, dtype=np.float64), np.array(y, dtype=np.float64)))
        return original(X, y, *args, **kwargs)

    model.backward = recording_backward
    model.train(stage.load_input("momentum_X"), stage.load_input("momentum_y"), epochs=1)
    after = get_params(model, names)
    changed = any(not np.array_equal(np.asarray(after[n], dtype=np.float64).ravel(), before[n].ravel())
                  for n in names)
    arrays = {}
    for k, (snapshot, X, y) in enumerate(records):
        arrays.update({"%d_%s" % (k, n): v for n, v in snapshot.items()})
        arrays["%d_X" % k], arrays["%d_y" % k] = X, y
    return {"steps": len(records), "params_changed": changed}, arrays


def stage_train(stage):
    model, meta = build(stage)
    stage.write("build", meta)
    if model is None:
        return
    req = stage.request
    images, labels = stage.data["train_images"], stage.data["train_labels"]
    n = req["train_samples"] or len(labels)
    X = np.asarray(images[:n], dtype=np.float32) / np.float32(255.0)
    y = np.eye(10, dtype=np.float32)[np.asarray(labels[:n])]
    subset = stage.load_input("loss_idx")
    run_guarded(stage, "before", lambda: ({}, {"probs": model.forward(X[subset])}))

    def train():
        returned = model.train(X, y, epochs=req["epochs"])
        losses = []
        if isinstance(returned, (list, tuple, np.ndarray)) and np.size(returned) <= 10_000:
            try:
                losses = [float(v) for v in np.asarray(returned, dtype=np.float64).ravel()]
            except Exception:
                losses = []
        return {"losses": losses}, {}
    run_guarded(stage, "train", train)
    run_guarded(stage, "after", lambda: ({}, {"probs": model.forward(X[subset])}))
    test = np.asarray(stage.data["test_images"], dtype=np.float32) / np.float32(255.0)
    run_guarded(stage, "test", lambda: ({}, {"probs": model.forward(test)}))


def main(argv):
    in_dir, out_dir, submission = argv[1], argv[2], argv[3]
    data_dir = argv[4] if len(argv) > 4 else None
    stage = Stage(in_dir, out_dir, submission, data_dir)
    name = stage.request["stage"]
    if name == "load":
        stage_load(stage)
    elif name == "probe":
        stage_probe(stage)
    elif name == "train":
        stage_train(stage)
    # The completion sentinel: without it the host knows the process died or exited early.
    with open(os.path.join(out_dir, "done.txt"), "w") as f:
        f.write(name)


if __name__ == "__main__":
    main(sys.argv)
