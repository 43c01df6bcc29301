"""Shared helpers of the benchmark suite: robust summaries, paired ordering and timed subprocesses."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference_solution" / "simple_nn.py"
BARE_TRAIN = Path(__file__).resolve().parent / "bare_train.py"
RAW = REPO / "benchmarks" / "raw"  # every measurement, as measured: gitignored
SUMMARIES = REPO / "benchmarks" / "summaries"  # what BENCHMARKS.md cites: committed (benchmarks/summarize.py)
SEED = 0

Summary = dict[str, Any]


def default_data_dir() -> Path:
    """MNIST: $NNGRADER_DATA_DIR, else $NNGRADER_TEST_DATA_DIR, else the shared copy beside the checkout."""
    for name in ("NNGRADER_DATA_DIR", "NNGRADER_TEST_DATA_DIR"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return REPO.parent / "shared" / "data" / "mnist"


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON, creating the folder (benchmarks/raw/ does not exist in a fresh clone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")


def compact_json(data: Any, indent: str = "") -> str:
    """JSON with one line per innermost object or list (a summary's median, min, max... stay on one line)."""
    if not isinstance(data, dict | list) or not any(isinstance(v, dict | list) for v in _items(data)):
        return json.dumps(data)
    inner = indent + " "
    if isinstance(data, list):
        return "[\n" + ",\n".join(inner + compact_json(v, inner) for v in data) + "\n" + indent + "]"
    rows = (f"{inner}{json.dumps(k)}: {compact_json(v, inner)}" for k, v in data.items())
    return "{\n" + ",\n".join(rows) + "\n" + indent + "}"


def _items(data: dict[str, Any] | list[Any]) -> list[Any]:
    return list(data.values()) if isinstance(data, dict) else data


# Settings that name this machine's folders: kept in the raw results, left out of committed summaries.
MACHINE_SETTINGS = ("data_dir", "prepared_root", "python_executable")


def summary_of(results: Any) -> Any:
    """`results` without the raw samples (every `runs` list and each summary's `values`) nor machine paths."""
    if isinstance(results, list):
        return [summary_of(item) for item in results]
    if not isinstance(results, dict):
        return results
    kept = {key: summary_of(value) for key, value in results.items() if key not in ("runs", "values")}
    if isinstance(kept.get("settings"), dict):
        kept["settings"] = {k: v for k, v in kept["settings"].items() if k not in MACHINE_SETTINGS}
    return kept


def summarize(values: Sequence[float]) -> Summary:
    """Median, min, max and quartiles (inclusive method) of a sample; empty dict for no values."""
    data = sorted(float(v) for v in values)
    if not data:
        return {}
    q1 = q3 = data[0]
    if len(data) > 1:
        quartiles = statistics.quantiles(data, n=4, method="inclusive")
        q1, q3 = quartiles[0], quartiles[2]
    return {"median": statistics.median(data), "min": data[0], "max": data[-1], "q1": q1, "q3": q3,
            "n": len(data), "values": [round(v, 4) for v in values]}


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Summary:
    """Summary of the per-pair ratios numerators[i] / denominators[i] (the pairs must line up)."""
    if len(numerators) != len(denominators):
        raise ValueError("ratios need paired samples of the same length")
    return summarize([n / d for n, d in zip(numerators, denominators, strict=True) if d > 0])


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """`items` rotated left by `shift`: pair i runs the legs in a different order than pair i-1."""
    k = shift % len(items) if items else 0
    return list(items[k:]) + list(items[:k])


def fmt(summary: Summary, unit: str = "", digits: int = 2) -> str:
    """'median [min-max]' for a table cell, or '-' when there is nothing to show."""
    if not summary:
        return "-"
    med, lo, hi = (f"{summary[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{med}{unit} [{lo}-{hi}]" if summary["n"] > 1 else f"{med}{unit}"


@dataclass
class Timed:
    """One timed subprocess: wall seconds around it, CPU seconds of it and its reaped children, output."""

    wall_s: float
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(command: Sequence[str], *, env: dict[str, str] | None = None, ok: Sequence[int] = (0,),
              timeout_s: float = 1800.0) -> Timed:
    """Run `command`, timing the whole process; RuntimeError when it exits with a code not in `ok`.

    cpu_s (user + system) covers the process and every descendant it waited for (the local sandbox's
    harness processes), but not work done by the Docker daemon or inside containers.
    """
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(list(command), capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout_s,
                          check=False)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - before
    if proc.returncode not in ok:
        tail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited with {proc.returncode}:\n{tail}")
    return Timed(wall_s=wall, cpu_s=cpu, returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def system_busy_jiffies() -> int:
    """CPU time (in clock ticks, all cores) the whole machine has spent not idle since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grader_cli(*args: str) -> list[str]:
    """The real `nngrader` CLI, run with this interpreter (`python -m grader ...`)."""
    return [sys.executable, "-m", "grader", *args]


def last_json_line(text: str) -> dict[str, Any]:
    """The last line of `text` that parses as a JSON object (student code may print before it)."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError(f"no JSON line in output: {text[-500:]!r}")


# --------------------------------------------------------------------------- paired runs

console = Console(stderr=True)
Leg = Callable[[], dict[str, Any]]


def log(message: str) -> None:
    console.log(message, highlight=False)


def retried(leg: Leg, label: str) -> dict[str, Any]:
    """Run a leg; once more if it fails (the grader may be mid-edit by a colleague), recording the failure."""
    try:
        return leg()
    except RuntimeError as exc:
        log(f"{label} failed, retrying once: {str(exc)[:300]}")
        return leg() | {"retried_after": str(exc)[:500]}


def observed(leg: Leg, label: str) -> dict[str, Any]:
    """Run a leg, recording how busy the whole machine was meanwhile (other users show up here).

    machine_busy_cores = non-idle CPU time of all processes during the leg / its wall time: about the leg's
    own cores when the machine is quiet, more when someone else is running tests.
    """
    load, busy, start = os.getloadavg()[0], system_busy_jiffies(), time.perf_counter()
    result = retried(leg, label)
    cores = (system_busy_jiffies() - busy) / CLOCK_TICKS / (time.perf_counter() - start)
    return result | {"load_1m": load, "machine_busy_cores": cores}


def paired(legs: dict[str, Leg], pairs: int, label: str) -> list[dict[str, Any]]:
    """Run every leg once per pair, in an order rotated by the pair index; one dict per pair."""
    runs = []
    for i in range(pairs):
        pair: dict[str, Any] = {"order": rotated(list(legs), i)}
        for name in pair["order"]:
            pair[name] = observed(legs[name], f"{label} {i + 1}/{pairs} {name}")
            log(f"{label} {i + 1}/{pairs} {name}: {pair[name]['wall_s']:.2f} s, machine busy "
                f"{pair[name]['machine_busy_cores']:.2f} cores")
        runs.append(pair)
    return runs


def column(runs: list[dict[str, Any]], path: str) -> list[float]:
    """Values at a dotted `path` (e.g. 'docker.stages.train.duration_s') across the pairs."""
    values = []
    for run in runs:
        value: Any = run
        for key in path.split("."):
            value = value[key]
        values.append(float(value))
    return values
