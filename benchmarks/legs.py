"""Single measurements ("legs") that the paired sections of run.py alternate.

Every leg returns a plain dict (JSON-ready) with at least `wall_s`.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from common import BARE_TRAIN, REFERENCE, SEED, grader_cli, last_json_line, run_timed
from docker.types import Mount

from grader.api import grade_submission
from grader.sandbox.local import thread_env

STAGES = ("load", "probe", "train")
EVALUATION_PROBES = ("before", "after", "test")


@dataclass(frozen=True)
class Context:
    """What every leg needs: the data, the prepared arrays, a scratch folder and the sandbox CPU quota."""

    data_dir: Path
    prepared_root: Path
    scratch: Path
    image: str
    cpus: float

    def fresh(self, prefix: str) -> Path:
        """A new, unique path under the scratch folder (not created)."""
        return self.scratch / f"{prefix}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- bare training


def bare_host(ctx: Context) -> dict[str, Any]:
    """bare_train.py in a plain subprocess of this Python, with the sandbox's BLAS thread count."""
    env = {**os.environ, **thread_env(ctx.cpus)}
    timed = run_timed([sys.executable, str(BARE_TRAIN), str(ctx.prepared_root), str(REFERENCE),
                       "--seed", str(SEED)], env=env)
    return {"wall_s": timed.wall_s, "cpu_s": timed.cpu_s, **last_json_line(timed.stdout)}


def bare_image(ctx: Context) -> dict[str, Any]:
    """bare_train.py in one plain container of the grading image (same CPU quota and thread count).

    Its `train_s` against bare_host's tells the image's NumPy/BLAS speed apart from sandbox overhead.
    """
    client = docker.from_env(timeout=600)
    mounts = [Mount("/prep", str(ctx.prepared_root), type="bind", read_only=True),
              Mount("/bench/bare_train.py", str(BARE_TRAIN), type="bind", read_only=True),
              Mount("/sub/simple_nn.py", str(REFERENCE), type="bind", read_only=True)]
    start = time.perf_counter()
    output = client.containers.run(ctx.image, ["python3", "-I", "/bench/bare_train.py", "/prep",
                                               "/sub/simple_nn.py", "--seed", str(SEED)],
                                   mounts=mounts, environment=thread_env(ctx.cpus), network_mode="none",
                                   nano_cpus=int(ctx.cpus * 1e9), remove=True)
    wall = time.perf_counter() - start
    client.close()
    return {"wall_s": wall, **last_json_line(output.decode())}


# --------------------------------------------------------------------------- process start

STARTUP_COMMANDS: dict[str, list[str]] = {  # keys are dotted-path safe (no dots)
    "python": [sys.executable, "-c", "pass"],
    "import_numpy": [sys.executable, "-c", "import numpy"],
    "import_grader_cli": [sys.executable, "-c", "import grader.cli"],
    "nngrader_version": grader_cli("--version"),
}


def startup(name: str) -> dict[str, Any]:
    """Wall time of one of STARTUP_COMMANDS: how much of `cli_start_s` is the interpreter, NumPy, the grader."""
    timed = run_timed(STARTUP_COMMANDS[name])
    return {"wall_s": timed.wall_s, "cpu_s": timed.cpu_s}


# --------------------------------------------------------------------------- the real CLI


def check_cli(ctx: Context, sandbox: str, *, quick: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`nngrader check` of the reference as a subprocess; wall time around it plus its JSON report's timings."""
    report_path = ctx.fresh("report").with_suffix(".json")
    args = ["check", str(REFERENCE), "--sandbox", sandbox, "--data-dir", str(ctx.data_dir), "--format", "json",
            "-o", str(report_path), "--seed", str(SEED)] + (["--quick"] if quick else [])
    timed = run_timed(grader_cli(*args), ok=(0, 1), env=env)  # 1 = did not pass (a --quick preview never does)
    report = json.loads(report_path.read_text())
    report_path.unlink()
    total_s = float(report["environment"]["total_s"])
    stages = {s["stage"]: {"duration_s": s["duration_s"], "sandbox_s": s["sandbox_s"], "status": s["status"]}
              for s in report["environment"]["stages"]}
    return {"wall_s": timed.wall_s, "cpu_s": timed.cpu_s, "total_s": total_s, "score": report["score"],
            "stages": stages, "cli_start_s": timed.wall_s - total_s, **host_times(total_s, stages)}


def host_times(total_s: float, stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Host time = total_s - time in stages. Stages that ran one after the other: minus their sum. When the
    sum exceeds total_s they overlapped (speculative training runs train beside load -> probe): then minus
    the critical path max(train, load + probe). `host_s` is always total - sum (negative when overlapped)."""
    duration = {name: float(stage["duration_s"]) for name, stage in stages.items()}
    in_stages = sum(duration.values())
    overlapped = in_stages > total_s
    critical = max(duration.get("train", 0.0), duration.get("load", 0.0) + duration.get("probe", 0.0))
    return {"stages_sum_s": in_stages, "host_s": total_s - in_stages, "overlapped": overlapped,
            "host_outside_stages_s": total_s - (critical if overlapped else in_stages)}


def batch_cli(ctx: Context, class_dir: Path, sandbox: str, jobs: int, *,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """`nngrader batch CLASS_DIR --jobs N` as a subprocess into a fresh --out folder."""
    out = ctx.fresh("batch-out")
    timed = run_timed(grader_cli("batch", str(class_dir), "--out", str(out), "--jobs", str(jobs), "--sandbox",
                                 sandbox, "--data-dir", str(ctx.data_dir), "--seed", str(SEED)), env=env)
    records = [json.loads(path.read_text()) for path in sorted((out / "reports").glob("*.json"))]
    shutil.rmtree(out, ignore_errors=True)
    result = {"wall_s": timed.wall_s, "cpu_s": timed.cpu_s, "graded": len(records),
              "per_minute": len(records) / timed.wall_s * 60.0,
              "summary_line": timed.stdout.strip().splitlines()[0] if timed.stdout.strip() else ""}
    return result | _batch_records(records, timed.wall_s, jobs)


def _batch_records(records: list[dict[str, Any]], wall_s: float, jobs: int) -> dict[str, Any]:
    """Per-student medians from the batch's records, and the batch's fixed cost (wall not spent grading)."""
    reports = [r["report"] for r in records if r.get("report")]
    durations = sorted(float(r["duration_s"]) for r in records)
    sandbox = sorted(sum(s["sandbox_s"] for s in rep["environment"]["stages"]) for rep in reports)
    train = sorted(s["duration_s"] for rep in reports for s in rep["environment"]["stages"] if s["stage"] == "train")
    return {"passed": sum(1 for rep in reports if rep["passed"]),
            "student_s_median": statistics.median(durations) if durations else 0.0,
            "sandbox_s_median": statistics.median(sandbox) if sandbox else 0.0,
            "train_stage_s_median": statistics.median(train) if train else 0.0,
            "fixed_s": wall_s - sum(durations) / jobs}


# --------------------------------------------------------------------------- inside the stages


@contextmanager
def _tempdir_root(path: Path) -> Iterator[None]:
    """Make tempfile create its folders under `path`, so the grading's kept work folder can be found."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(path)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def _probe_seconds(out_dir: Path) -> dict[str, float]:
    """The harness's own per-probe `seconds` from a stage's out/<probe>.json files."""
    seconds: dict[str, float] = {}
    for path in sorted(out_dir.glob("*.json")):
        meta = json.loads(path.read_text())
        if isinstance(meta, dict) and isinstance(meta.get("seconds"), int | float):
            seconds[path.stem] = float(meta["seconds"])
    return seconds


def _split_stage(duration_s: float, sandbox_s: float, probes: dict[str, float]) -> dict[str, Any]:
    work = sum(probes.values())
    return {"duration_s": duration_s, "sandbox_s": sandbox_s, "probes": probes, "probe_work_s": work,
            "rest_s": duration_s - sandbox_s - work}


def speculation(on: bool) -> dict[str, bool]:
    """grade_submission's `speculate` argument, when this grader version has it."""
    return {"speculate": on} if "speculate" in inspect.signature(grade_submission).parameters else {}


def grade_kept(ctx: Context, sandbox: str, *, speculate: bool = False) -> dict[str, Any]:
    """grade_submission(keep_workdir=True) in-process; each stage split into sandbox / probe work / rest.

    speculate=False (default) runs the stages one after the other, so each stage's time is its own.

    rest = stage duration - sandbox_s - sum(probe seconds): interpreter + NumPy start, importing and building
    the submission, loading inputs (the MNIST arrays for train: the data hand-over) and writing outputs.
    """
    root = ctx.fresh("kept")
    root.mkdir()
    try:
        with _tempdir_root(root):
            start = time.perf_counter()
            report = grade_submission(REFERENCE, sandbox=sandbox, data_dir=ctx.data_dir, seed=SEED,
                                      keep_workdir=True, **speculation(speculate))
            wall = time.perf_counter() - start
        missing = set(STAGES) - {t.stage for t in report.environment.stages}
        if missing:
            failed = "; ".join(f"{c.id}: {c.message}" for c in report.checks if c.status.value != "pass")
            raise RuntimeError(f"{sandbox} grading ran no {', '.join(sorted(missing))} stage ({failed[:500]})")
        (workdir,) = root.glob("nngrader-*")
        stages = {t.stage: _split_stage(t.duration_s, t.sandbox_s, _probe_seconds(workdir / t.stage / "out"))
                  for t in report.environment.stages}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    train = stages["train"]["probes"]
    return {"wall_s": wall, "total_s": report.environment.total_s, "score": report.score, "stages": stages,
            **host_times(report.environment.total_s, stages),
            "training_s": train.get("train", 0.0),
            "evaluation_s": sum(train.get(p, 0.0) for p in EVALUATION_PROBES),
            "handover_s": stages["train"]["rest_s"]}


# --------------------------------------------------------------------------- classes for batch


def make_class(ctx: Context, size: int, kind: str) -> tuple[Path, str]:
    """A class folder of `size` submissions and what is in it.

    kind 'mixed': benchmarks/make_class.py (reference variants, starter, notebooks, zips, Classroom clones,
    mutants, hostile files) when it exists; kind 'reference' (or no make_class.py): copies of the reference.
    """
    dest = ctx.fresh(f"class{size}")
    script = Path(__file__).resolve().parent / "make_class.py"
    if kind == "mixed" and script.is_file():
        made = run_timed([sys.executable, str(script), str(dest), "--count", str(size)])
        return dest, "make_class.py: " + ", ".join(line.strip() for line in made.stdout.splitlines()[:-1])
    dest.mkdir()
    for k in range(size):
        shutil.copy(REFERENCE, dest / f"student{k + 1:02d}.py")
    return dest, f"{size} copies of the reference solution"
