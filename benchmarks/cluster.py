"""The cluster path against the local batch, side by side, and a model of 10,000 submissions.

    python benchmarks/cluster.py                       # 3 pairs per worker count, a class of 12: ~10 minutes
    python benchmarks/cluster.py --pairs 1 -n 6        # a smoke run

A real `dask scheduler` on 127.0.0.1 and one, then two, `dask worker` processes (one grading thread each, with
the preloads, as the README starts them) grade the class of `benchmarks/make_class.py` in Docker; the local
batch grades the same class with the same parallelism (`--jobs 1`, then `--jobs 2`) on a machine that runs no
Dask process (each cluster leg starts its cluster before its clock starts and stops it after). Both are the real
`nngrader batch` CLI. Within each pair the two legs alternate in order; the overhead is the ratio inside each
pair. "same grades": the two legs' grades.csv are byte-identical. The model: the measured machine CPU-seconds
per student at two workers, spread over N nodes of C cores each, plus the client's own CPU per student (which
does not scale out: it bounds the throughput of any cluster). Raw samples: benchmarks/raw/cluster.json; summary:
benchmarks/summaries/cluster.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # run as a script: common, and tests.local_cluster

from common import (  # noqa: E402
    RAW,
    REPO,
    SUMMARIES,
    compact_json,
    default_data_dir,
    ratios,
    run_timed,
    summarize,
    summary_of,
    system_busy_jiffies,
    write_json,
)

from tests.local_cluster import LocalCluster  # noqa: E402

PYTHON = sys.executable
SUBMISSIONS = 10_000
NODES = (1, 4, 16, 64)
CORES_PER_NODE = 8


def grade(leg: str, class_dir: Path, out: Path, env: dict[str, str], workers: int) -> dict[str, Any]:
    """One leg: the local batch with --jobs `workers` on a machine that runs nothing else, or the cluster with
    `workers` workers, started before the clock starts and stopped after it stops (its idle cost counts only
    in its own legs)."""
    if leg == "local":
        return run_batch(class_dir, out, env, ["--jobs", str(workers), "--sandbox", "docker"])
    cluster = LocalCluster(out.parent, env)
    try:
        for number in range(1, workers + 1):
            cluster.add_worker(f"worker{number}")
        cluster.wait_for_workers(workers)
        return run_batch(class_dir, out, env, ["--cluster", cluster.address])
    finally:
        cluster.close()


def run_batch(class_dir: Path, out: Path, env: dict[str, str], options: list[str]) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    busy = system_busy_jiffies()
    timed = run_timed([PYTHON, "-m", "grader", "batch", str(class_dir), "--out", str(out), *options], env=env)
    machine_cpu = (system_busy_jiffies() - busy) / os.sysconf("SC_CLK_TCK")
    return {"wall_s": timed.wall_s, "client_cpu_s": timed.cpu_s, "machine_cpu_s": machine_cpu,
            "grades": (out / "grades.csv").read_text()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("-n", "--students", type=int, default=12)
    args = parser.parse_args()

    data = default_data_dir()
    env = {**os.environ, "NNGRADER_DATA_DIR": str(data), "NNGRADER_WORKER_SANDBOX": "docker",
           "PYTHONPATH": str(REPO)}
    scratch = Path(tempfile.mkdtemp(prefix="nngrader-cluster-bench-"))
    class_dir = scratch / "class"
    subprocess.run([PYTHON, str(REPO / "benchmarks" / "make_class.py"), str(class_dir), "-n", str(args.students)],
                   check=True, capture_output=True)
    results: dict[str, Any] = {"settings": {"pairs": args.pairs, "students": args.students, "sandbox": "docker",
                                            "threads_per_worker": 1}, "by_workers": {}}
    try:
        for workers in (1, 2):
            runs: list[dict[str, Any]] = []
            for pair in range(args.pairs):
                legs = ("local", "cluster") if pair % 2 == 0 else ("cluster", "local")
                measured = {leg: grade(leg, class_dir, scratch / f"out-{leg}", env, workers) for leg in legs}
                same = measured["local"]["grades"] == measured["cluster"]["grades"]
                runs.append({leg: {k: v for k, v in m.items() if k != "grades"} for leg, m in measured.items()}
                            | {"same_grades": same})
                print(f"{workers} worker(s), pair {pair + 1}: local {measured['local']['wall_s']:.1f} s, "
                      f"cluster {measured['cluster']['wall_s']:.1f} s, same grades: {same}", flush=True)
            results["by_workers"][str(workers)] = summarise(runs, args.students)
        empty = scratch / "empty"
        empty.mkdir()
        fixed: dict[str, list[dict[str, Any]]] = {"local": [], "cluster": []}
        for pair in range(args.pairs):  # start-up, connect, an empty gradebook: what does not grow with the class
            for leg in ("local", "cluster") if pair % 2 == 0 else ("cluster", "local"):
                fixed[leg].append(grade(leg, empty, scratch / "out-empty", env, 2))
        results["client_fixed_cpu_s"] = summarize([run["client_cpu_s"] for run in fixed["cluster"]])
        results["empty_wall_s"] = {leg: summarize([run["wall_s"] for run in runs]) for leg, runs in fixed.items()}
        for r in results["by_workers"].values():
            r["per_student_overhead_ratio"] = per_student_ratio(r["runs"], results["empty_wall_s"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["model"] = model(results["by_workers"]["2"], results["client_fixed_cpu_s"]["median"], args.students)
    write_json(RAW / "cluster.json", results)
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    (SUMMARIES / "cluster.json").write_text(compact_json(summary_of(results)) + "\n")
    print(table(results))


def summarise(runs: list[dict[str, Any]], students: int) -> dict[str, Any]:
    def per_leg(leg: str, key: str) -> list[float]:
        return [run[leg][key] for run in runs]

    return {
        "runs": runs,
        "local_wall_s": summarize(per_leg("local", "wall_s")),
        "cluster_wall_s": summarize(per_leg("cluster", "wall_s")),
        "local_subs_per_min": summarize([60 * students / w for w in per_leg("local", "wall_s")]),
        "cluster_subs_per_min": summarize([60 * students / w for w in per_leg("cluster", "wall_s")]),
        "overhead_ratio": ratios(per_leg("cluster", "wall_s"), per_leg("local", "wall_s")),
        "cluster_machine_cpu_per_student_s": summarize([c / students for c in per_leg("cluster", "machine_cpu_s")]),
        "local_machine_cpu_per_student_s": summarize([c / students for c in per_leg("local", "machine_cpu_s")]),
        "client_cpu_per_student_s": summarize([c / students for c in per_leg("cluster", "client_cpu_s")]),
        "same_grades": all(run["same_grades"] for run in runs),
    }


def per_student_ratio(runs: list[dict[str, Any]], empty: dict[str, Any]) -> dict[str, Any]:
    """Per pair: (cluster wall - an empty cluster batch) / (local wall - an empty local batch), the cost that
    grows with the class (the fixed start-up of each CLI is measured apart, with an empty class)."""
    return ratios([run["cluster"]["wall_s"] - empty["cluster"]["median"] for run in runs],
                  [run["local"]["wall_s"] - empty["local"]["median"] for run in runs])


def model(two_workers: dict[str, Any], client_fixed_s: float, students: int) -> dict[str, Any]:
    """Hours for SUBMISSIONS on N nodes: the grading CPU spread over N x C cores, bounded by the client's CPU
    per student (its CPU in a batch minus that of an empty batch: start-up does not grow with the class)."""
    grading_cpu = two_workers["cluster_machine_cpu_per_student_s"]["median"]
    client_total = two_workers["client_cpu_per_student_s"]["median"] * students
    client_cpu = max(0.0, client_total - client_fixed_s) / students
    rows = []
    for nodes in NODES:
        cores = nodes * CORES_PER_NODE
        grading_h = SUBMISSIONS * grading_cpu / cores / 3600
        client_h = SUBMISSIONS * client_cpu / 3600  # one client process, whatever the cluster's size
        rows.append({"nodes": nodes, "cores": cores, "grading_h": grading_h, "client_bound_h": client_h,
                     "hours": max(grading_h, client_h)})
    return {"submissions": SUBMISSIONS, "cores_per_node": CORES_PER_NODE, "cpu_per_student_s": grading_cpu,
            "client_cpu_per_student_s": client_cpu, "rows": rows}


def cell(summary: dict[str, Any], digits: int = 1) -> str:
    return f"{summary['median']:.{digits}f} [{summary['min']:.{digits}f}–{summary['max']:.{digits}f}]"


def table(results: dict[str, Any]) -> str:
    lines = ["| workers / --jobs | local s | cluster s | local subs/min | cluster subs/min | cluster ÷ local "
             "| per student, without start-up | same grades |", "|---|---|---|---|---|---|---|---|"]
    for workers, r in results["by_workers"].items():
        lines.append(f"| {workers} | {cell(r['local_wall_s'])} | {cell(r['cluster_wall_s'])} | "
                     f"{cell(r['local_subs_per_min'])} | {cell(r['cluster_subs_per_min'])} | "
                     f"{cell(r['overhead_ratio'], 3)} | {cell(r['per_student_overhead_ratio'], 3)} | "
                     f"{'yes' if r['same_grades'] else 'NO'} |")
    empty = results["empty_wall_s"]
    lines += ["", f"An empty class: local {cell(empty['local'], 2)} s, cluster {cell(empty['cluster'], 2)} s."]
    m = results["model"]
    lines += ["", f"Model: {m['submissions']:,} submissions, {m['cpu_per_student_s']:.2f} machine CPU-s per student, "
              f"client {m['client_cpu_per_student_s']:.3f} CPU-s per student, {m['cores_per_node']} cores per node",
              "", "| nodes | cores | grading h | client bound h | hours |", "|---|---|---|---|---|"]
    for row in m["rows"]:
        lines.append(f"| {row['nodes']} | {row['cores']} | {row['grading_h']:.2f} | {row['client_bound_h']:.2f} | "
                     f"{row['hours']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
