"""Markdown tables of a run's results (for BENCHMARKS.md), so figures are never copied by hand.

    python benchmarks/tables_md.py [benchmarks/summaries/results.json]   # a summary or raw results
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import SUMMARIES, Summary


def cell(summary: Summary, digits: int = 2) -> str:
    """'median [min–max]' (or '-')."""
    if not summary:
        return "-"
    med, lo, hi = (f"{summary[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{med} [{lo}–{hi}]" if summary["n"] > 1 else med


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def iqr(summary: Summary) -> str:
    return f"{summary['q1']:.2f}–{summary['q3']:.2f}" if summary else "-"


def overhead(res: dict[str, Any]) -> str:
    rows = [[f"{name} wall (s)", cell(s), iqr(s)] for name, s in res["wall_s"].items()]
    rows += [[f"{name} CPU (s){', host side only' if name == 'docker' else ''}", cell(s), iqr(s)]
             for name, s in res["cpu_s"].items()]
    rows += [[f"machine busy during {name} (cores)", cell(s), iqr(s)] for name, s in res["machine_busy_cores"].items()]
    rows += [[f"**{name} wall ratio**", f"**{cell(s)}**", iqr(s)] for name, s in res["ratio"].items()]
    rows += [[f"{name} CPU ratio", cell(s), iqr(s)] for name, s in res["cpu_ratio"].items()]
    return table(["", "median [min–max]", "IQR"], rows)


def keyed(res: dict[str, dict[str, Any]], keys: list[str], columns: list[str], digits: int = 2) -> str:
    rows = [[key] + [cell(res[col][key], digits) for col in columns] for key in keys]
    return table([""] + columns, rows)


def batch(res: dict[str, Any]) -> str:
    rows = []
    for key, cfg in res["configs"].items():
        for jobs in (k for k in cfg if k.startswith("j") and k[1:].isdigit()):
            row = cfg[jobs]
            speedup = next((cell(s) for name, s in cfg["speedup"].items() if name.startswith(jobs + "/")), "")
            last = jobs == [k for k in cfg if k.startswith("j") and k[1:].isdigit()][-1]
            rows.append([key, jobs[1:], cell(row["wall_s"], 1), cell(row["per_minute"], 1),
                         cell(row["student_s_median"], 1), cell(row["machine_busy_cores"], 2), speedup,
                         cell(cfg["acceptance"]) if last else "",
                         cell(cfg.get("of_cpu_bound_ceiling", {})) if last else ""])
    return table(["class", "jobs", "wall s", "subs/min", "s/student", "busy cores", "speed-up", "acceptance",
                  "of CPU-bound ceiling"], rows)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SUMMARIES / "results.json"
    results = json.loads(path.read_text())
    sec, sandboxes = results["sections"], results["settings"]["sandboxes"]
    stages = [f"{st}.{f}" for st in ("load", "probe", "train") for f in ("duration_s", "sandbox_s")]
    parts: dict[str, Callable[[], str]] = {
        "overhead": lambda: overhead(sec["overhead"]),
        "stages": lambda: keyed(sec["overhead"]["stages"], stages + [
            "stages_sum_s", "host_s", "host_outside_stages_s", "cli_start_s", "total_s", "wall_s"], sandboxes),
        "inside": lambda: keyed(sec["inside"], ["training_s", "evaluation_s", "handover_s", "harness/bare_train"]
                                + [f"stages.{st}.{f}" for st in ("load", "probe", "train")
                                   for f in ("sandbox_s", "probe_work_s", "rest_s")], sandboxes, 3),
        "speculation": lambda: keyed(sec["speculation"], ["speculate_total_s", "serial_total_s", "speculate/serial",
                                                          "saved_s"], sandboxes),
        "batch": lambda: batch(sec["batch"]),
        "quick": lambda: keyed(sec["quick"], ["wall_s", "total_s", "cli_start_s", "host_outside_stages_s",
                                              "load.duration_s", "probe.duration_s", "train.duration_s"], sandboxes),
    }
    section_of = {"stages": "overhead"}  # a run made with --only has just some sections
    parts = {name: part for name, part in parts.items() if section_of.get(name, name) in sec}
    for name, part in parts.items():
        print(f"<!-- {name} -->\n{part()}\n")


if __name__ == "__main__":
    main()
