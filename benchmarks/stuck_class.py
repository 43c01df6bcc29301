"""What stuck students cost a batch: a class of 30 with 3 stuck students against the same class without them.

    python benchmarks/stuck_class.py                 # 2 pairs, Docker, --jobs 2: about 8 minutes
    python benchmarks/stuck_class.py --pairs 1 --sandbox local

The honest class is 30 copies of the reference (each with its own comment, so every file differs). In the
stuck class, 3 of them are replaced: two whose train() loops forever without a single call (stopped in the
momentum probe; the graded run is then not started) and one that trains and then sleeps in the graded run
(stopped by the watch in the train stage). Both classes are graded by the real `nngrader batch` CLI, paired
and alternating; the ratio is taken inside each pair. Raw samples: benchmarks/raw/stuck_class.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference_solution" / "simple_nn.py"
RAW = ROOT / "benchmarks" / "raw"

LOOP = ("        n = X_train.shape[0]\n        losses: list[float] = []",
        "        while True:\n            pass\n        n = X_train.shape[0]\n        losses: list[float] = []")
SLEEP = ("        return losses\n", "        if n > 10000:\n            __import__('time').sleep(10**6)\n"
         "        return losses\n")


def make_class(folder: Path, stuck: bool) -> None:
    folder.mkdir(parents=True)
    source = REFERENCE.read_text()
    for i in range(30):
        text = source
        if stuck and i in (3, 14):
            text = text.replace(*LOOP)
        if stuck and i == 25:
            text = text.replace(*SLEEP)
        (folder / f"student{i:02d}.py").write_text(f"# student {i}\n{text}")


def grade(folder: Path, out: Path, sandbox: str, jobs: int, data: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out), "--sandbox", sandbox,
                    "--jobs", str(jobs), "--data-dir", data], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--sandbox", default="docker")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RAW / "stuck_class.json")
    args = parser.parse_args()
    data = os.environ.get("NNGRADER_DATA_DIR") or str(ROOT.parent / "shared" / "data" / "mnist")
    work = Path(tempfile.mkdtemp(prefix="nngrader-stuck-"))
    make_class(work / "honest", stuck=False)
    make_class(work / "stuck", stuck=True)
    pairs = []
    try:
        for pair in range(args.pairs):
            legs = ["honest", "stuck"] if pair % 2 == 0 else ["stuck", "honest"]
            times = {leg: grade(work / leg, work / f"out-{leg}-{pair}", args.sandbox, args.jobs, data)
                     for leg in legs}
            stuck = json.loads((work / f"out-stuck-{pair}" / "reports" / "student03.json").read_text())
            verdict = {c["id"]: c["diagnosis"] for c in stuck["report"]["checks"] if c["diagnosis"]}
            pairs.append({**times, "ratio": times["stuck"] / times["honest"], "stuck_verdict": verdict})
            print(f"pair {pair}: honest {times['honest']:.1f} s, stuck {times['stuck']:.1f} s, "
                  f"ratio {pairs[-1]['ratio']:.3f} ({verdict})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sandbox": args.sandbox, "jobs": args.jobs, "pairs": pairs}, indent=1))
    ratios = [p["ratio"] for p in pairs]
    print(f"\n| | median [min–max] |\n|---|---|\n"
          f"| class of 30, wall (s) | {statistics.median(p['honest'] for p in pairs):.1f} |\n"
          f"| same class with 3 stuck, wall (s) | {statistics.median(p['stuck'] for p in pairs):.1f} |\n"
          f"| ratio stuck / honest (per pair) | {statistics.median(ratios):.3f} "
          f"[{min(ratios):.3f}–{max(ratios):.3f}] |")


if __name__ == "__main__":
    main()
