"""What training integrity and hostile outputs cost, measured side by side in one run.

    python benchmarks/integrity.py                 # all three parts, ~5 min on 2 cores
    python benchmarks/integrity.py --only permutation,recording,forged --pairs 5

1. permutation: the reference trained on MNIST as published and under the hidden permutation of pixels and
   classes, same seed, for each of N seeds: the accuracy distribution must not change.
2. recording: training the reference bare and with the harness's Recorder installed exactly as in the graded
   run (a sketch of the weights at every backward() call, three full snapshots): paired, alternating order.
3. forged: the host-side cost (grading wall time minus the sandbox stages, and the largest allocation peak
   (tracemalloc: Python and NumPy) while the host judges one check) of
   grading the reference and of grading a forger that fills results.bin, within its file-size limit, with the
   largest records every check will accept. Each grading runs in a fresh process; paired.

Raw samples go to benchmarks/raw/integrity.json; the tables printed at the end go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import default_data_dir  # noqa: E402
from grader.data import mnist  # noqa: E402
from grader.harness import HARNESS_PATH  # noqa: E402
from grader.task import permutations  # noqa: E402

REFERENCE = ROOT / "reference_solution" / "simple_nn.py"
RAW = ROOT / "benchmarks" / "raw"


def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_reference(X: np.ndarray, y: np.ndarray, seed: int, recorder: Any = None) -> tuple[Any, float]:
    module = load_module(REFERENCE, f"reference_{seed}_{time.monotonic_ns()}")
    np.random.seed(seed)
    model = module.SimpleNN()
    if recorder is not None:
        recorder(model)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        model.train(X, y, epochs=10)
    return model, time.perf_counter() - started


def accuracy(model: Any, X: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.forward(X), axis=1) == labels))


def part_permutation(arrays: dict[str, np.ndarray], seeds: int) -> dict[str, Any]:
    X = np.asarray(arrays["train_images"], dtype=np.float32) / 255
    Xt = np.asarray(arrays["test_images"], dtype=np.float32) / 255
    labels, test_labels = np.asarray(arrays["train_labels"]), np.asarray(arrays["test_labels"])
    key = os.urandom(32)
    rows = []
    for seed in range(seeds):
        pixel, klass = permutations(seed, key, 784, 10)
        plain, _ = train_reference(X, np.eye(10, dtype=np.float32)[labels], seed)
        hidden, _ = train_reference(X[:, pixel], np.eye(10, dtype=np.float32)[klass[labels]], seed)
        rows.append({"seed": seed, "published": accuracy(plain, Xt, test_labels),
                     "permuted": accuracy(hidden, Xt[:, pixel], klass[test_labels])})
        print(f"  seed {seed}: published {rows[-1]['published']:.4f}  permuted {rows[-1]['permuted']:.4f}")
    return {"rows": rows}


def part_recording(arrays: dict[str, np.ndarray], pairs: int) -> dict[str, Any]:
    harness = load_module(HARNESS_PATH, "harness_benchmark")
    X = np.asarray(arrays["train_images"], dtype=np.float32) / 255
    y = np.eye(10, dtype=np.float32)[np.asarray(arrays["train_labels"])]
    rng = np.random.default_rng(0)
    shapes = {"W1": (784, 64), "b1": (1, 64), "W2": (64, 10), "b2": (1, 10)}
    sketch = {n: np.sort(rng.choice(int(np.prod(s)), size=min(16, int(np.prod(s))), replace=False))
              for n, s in shapes.items()}

    class FakeStage:  # what the Recorder needs of a harness Stage
        param_names = list(shapes)
        calls = samples = 0

    def install(model: Any) -> None:
        recorder = harness.Recorder(FakeStage(), model, sketch=sketch, snapshots=[60000, 300000, 540000])
        recorder.install()

    samples = []
    for pair in range(pairs):
        legs = ["bare", "recorded"] if pair % 2 == 0 else ["recorded", "bare"]
        times = {}
        for leg in legs:
            _, times[leg] = train_reference(X, y, pair, install if leg == "recorded" else None)
        samples.append(times)
        print(f"  pair {pair}: bare {times['bare']:.2f} s  recorded {times['recorded']:.2f} s")
    return {"pairs": samples}


FORGER = r'''
import atexit as _atexit, json as _json, os as _os, struct as _struct, sys as _sys
import numpy as _np


def _blob(array):
    import io
    buffer = io.BytesIO()
    _np.lib.format.write_array(buffer, _np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _record(name, meta, arrays):
    meta = dict(meta, name=name, ok=True, arrays=list(arrays))
    head = _json.dumps(meta).encode()
    return b"NNGR" + _struct.pack("<I", len(head)) + head + b"".join(_blob(a) for a in arrays.values())


_P = {"W1": (784, 64), "b1": (1, 64), "W2": (64, 10), "b2": (1, 10)}


def _forge():
    request = _json.load(open(_os.path.join(_sys.argv[1], "request.json")))
    rng = _np.random.default_rng(0)
    out = []
    if request["stage"] == "probe":
        arrays = {}
        for k in range(request["momentum_steps"]):
            arrays.update({"%d_%s" % (k, n): rng.normal(size=s) for n, s in _P.items()})
            arrays["%d_X" % k] = rng.random((2048, 784), dtype=_np.float32)
            arrays["%d_y" % k] = _np.eye(10, dtype=_np.float32)[rng.integers(0, 10, 2048)]
        out.append(_record("momentum", {"steps": request["momentum_steps"], "calls": 9999,
                                        "params_changed": True}, arrays))
    if request["stage"] == "train":
        # A trajectory that passes every cheap test, so the host goes through all of it: it starts at the
        # initial weights, moves in tiny steps for 50,000 calls, and has three snapshots with 4096-row batches.
        init = {n: rng.normal(size=s) for n, s in _P.items()}
        idx = {n: _np.asarray(v) for n, v in request["sketch"].items()}
        start = _np.concatenate([init[n].reshape(-1)[idx[n]] for n in _P])
        sketch = (start + _np.cumsum(rng.normal(0, 1e-6, (50000, start.size)), axis=0)).astype(_np.float32)
        sketch[0] = start
        final = {n: v.copy() for n, v in init.items()}
        offset = 0
        for n in _P:
            final[n].reshape(-1)[idx[n]] = sketch[-1, offset:offset + len(idx[n])]
            offset += len(idx[n])
        arrays = {"init_%s" % n: v for n, v in init.items()}
        arrays.update({"final_%s" % n: v for n, v in final.items()})
        arrays["sketch"] = sketch
        calls = [1000, 1001, 1002, 5000, 5001, 5002, 9000, 9001, 9002]
        for j, call in enumerate(calls):
            arrays.update({"snap%d_%s" % (j, n): rng.normal(size=s) for n, s in _P.items()})
            if j % 3 == 1:
                arrays["snap%d_X" % j] = rng.random((4096, 784), dtype=_np.float32)
                arrays["snap%d_y" % j] = _np.eye(10, dtype=_np.float32)[rng.integers(0, 10, 4096)]
        out.append(_record("trajectory", {"backward_calls": 50000, "samples": 600000, "snapshot_calls": calls},
                           arrays))
    with open(_os.path.join(_sys.argv[2], "results.bin"), "ab") as f:
        for record in out:
            f.write(record)


_atexit.register(_forge)
'''

MEASURE = r'''
import json, sys, tracemalloc
from grader import api, grade_submission

peaks = []
judge = api._judge


def measured(check, grading):  # the peak of what the host allocates while judging, check by check
    tracemalloc.start()
    try:
        return judge(check, grading)
    finally:
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


api._judge = measured
report = grade_submission(sys.argv[1], sandbox="local", data_dir=sys.argv[2], seed=11, speculate=False)
stages = sum(stage.duration_s for stage in report.environment.stages)
print(json.dumps({"host_s": report.environment.total_s - stages, "total_s": report.environment.total_s,
                  "maxrss_mb": max(peaks) / 2**20, "score": report.score,
                  "verdicts": {c.id: c.diagnosis for c in report.checks if c.diagnosis}}))
'''


def part_forged(pairs: int, data: Path) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="nngrader-bench-"))
    forger = folder / "forger.py"
    forger.write_text(REFERENCE.read_text().replace("import numpy as np\n", "import numpy as np\n" + FORGER, 1))
    samples = []
    for pair in range(pairs):
        legs = ["honest", "forged"] if pair % 2 == 0 else ["forged", "honest"]
        row = {}
        for leg in legs:
            path = REFERENCE if leg == "honest" else forger
            result = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(data)], capture_output=True,
                                    text=True, check=True, cwd=ROOT)
            row[leg] = json.loads(result.stdout.strip().splitlines()[-1])
        samples.append(row)
        print(f"  pair {pair}: host honest {row['honest']['host_s']:.2f} s / {row['honest']['maxrss_mb']:.0f} MB, "
              f"forged {row['forged']['host_s']:.2f} s / {row['forged']['maxrss_mb']:.0f} MB "
              f"({row['forged']['verdicts']})")
    return {"pairs": samples}


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def tables(results: dict[str, Any]) -> str:
    lines = []
    if "permutation" in results:
        rows = results["permutation"]["rows"]
        lines += ["| seed | MNIST as published | hidden permutation | difference |", "|---|---|---|---|"]
        lines += [f"| {r['seed']} | {r['published']:.2%} | {r['permuted']:.2%} | "
                  f"{r['permuted'] - r['published']:+.2%} |" for r in rows]
        pub, per = [r["published"] for r in rows], [r["permuted"] for r in rows]
        lines += [f"| mean ± sd | {np.mean(pub):.2%} ± {np.std(pub):.2%} | {np.mean(per):.2%} ± {np.std(per):.2%} "
                  f"| {np.mean(per) - np.mean(pub):+.2%} |", ""]
    if "recording" in results:
        pairs = results["recording"]["pairs"]
        ratios = [p["recorded"] / p["bare"] for p in pairs]
        lines += ["| | median [min–max] |", "|---|---|",
                  f"| bare training (s) | {spread([p['bare'] for p in pairs], '{:.2f}')} |",
                  f"| with recording (s) | {spread([p['recorded'] for p in pairs], '{:.2f}')} |",
                  f"| ratio recorded / bare (per pair) | {spread(ratios)} |", ""]
    if "forged" in results:
        pairs = results["forged"]["pairs"]
        lines += ["| | honest | forged | forged − honest (per pair) |", "|---|---|---|---|",
                  f"| host-side time (s) | {spread([p['honest']['host_s'] for p in pairs], '{:.2f}')} | "
                  f"{spread([p['forged']['host_s'] for p in pairs], '{:.2f}')} | "
                  f"{spread([p['forged']['host_s'] - p['honest']['host_s'] for p in pairs], '{:+.2f}')} |",
                  "| host peak allocation while judging a check (MB) | "
                  f"{spread([p['honest']['maxrss_mb'] for p in pairs], '{:.0f}')} | "
                  f"{spread([p['forged']['maxrss_mb'] for p in pairs], '{:.0f}')} | "
                  f"{spread([p['forged']['maxrss_mb'] - p['honest']['maxrss_mb'] for p in pairs], '{:+.0f}')} |",
                  ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="permutation,recording,forged")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RAW / "integrity.json")
    args = parser.parse_args()
    parts = args.only.split(",")
    data = default_data_dir()
    arrays = mnist.load_arrays(mnist.prepare(data))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    results: dict[str, Any] = {}
    if "permutation" in parts:
        print("permutation:")
        results["permutation"] = part_permutation(arrays, args.seeds)
    if "recording" in parts:
        print("recording:")
        results["recording"] = part_recording(arrays, args.pairs)
    if "forged" in parts:
        print("forged:")
        results["forged"] = part_forged(args.pairs, data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nraw samples: {args.out}\n")
    print(tables(results))


if __name__ == "__main__":
    main()
