"""Where a Docker stage's `sandbox_s` goes: create, start, the process itself, remove.

Runs containers with exactly the settings of grader/sandbox/docker.py (container_settings, the image's
user, the rubric's limits) and a trivial command, timing each Docker API call. Alternates three commands
per round so they see the same machine: `true` (the container alone), `python3 -c pass` (+ interpreter)
and `python3 -c 'import numpy'` (+ NumPy, what every stage pays before doing anything).

    python benchmarks/container_lifecycle.py [--rounds 8] [--out benchmarks/raw/container_lifecycle.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from common import RAW, column, fmt, paired, summarize, write_json
from rich.console import Console
from rich.table import Table

from grader.rubric import load_rubric
from grader.sandbox import docker as docker_sandbox
from grader.sandbox.base import SandboxLimits

COMMANDS = {"true": ["true"], "python": ["python3", "-I", "-c", "pass"],
            "numpy": ["python3", "-I", "-c", "import numpy"]}
STEPS = ("create_s", "start_s", "run_and_wait_s", "remove_s")
PHASES = (*STEPS, "total_s")


def limits() -> SandboxLimits:
    rubric = load_rubric(None).rubric.limits
    return SandboxLimits(timeout_s=60, memory_mb=rubric.memory_mb, cpus=rubric.cpus, pids=rubric.pids,
                         file_mb=rubric.file_mb, output_kb=rubric.output_kb)


def lifecycle(box: Any, command: list[str]) -> dict[str, float]:
    """One container through create -> start -> wait -> remove, each call timed."""
    settings = docker_sandbox.container_settings(limits(), image=box.image_id, user=box.user, command=command,
                                                 mounts=[], stage="benchmark")
    marks = [time.perf_counter()]
    container = box.client.containers.create(**settings)
    marks.append(time.perf_counter())
    container.start()
    marks.append(time.perf_counter())
    container.wait(timeout=60)
    marks.append(time.perf_counter())
    container.remove(force=True)
    marks.append(time.perf_counter())
    steps = {name: after - before for name, before, after in zip(STEPS, marks[:-1], marks[1:], strict=True)}
    return steps | {"total_s": marks[-1] - marks[0], "wall_s": marks[-1] - marks[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RAW / "container_lifecycle.json")
    args = parser.parse_args()
    box = docker_sandbox.DockerSandbox()
    legs = {name: (lambda command=command: lifecycle(box, command)) for name, command in COMMANDS.items()}
    runs = paired(legs, args.rounds, "lifecycle")  # type: ignore[arg-type]
    result = {name: {phase: summarize(column(runs, f"{name}.{phase}")) for phase in PHASES} for name in COMMANDS}
    write_json(args.out, {"runs": runs, "summary": result})
    table = Table(title="Docker stage lifecycle (grader's container settings), s: median [min-max]",
                  title_justify="left")
    table.add_column("")
    for name in COMMANDS:
        table.add_column(" ".join(COMMANDS[name]), justify="right")
    for phase in PHASES:
        table.add_row(phase, *(fmt(result[name][phase], digits=3) for name in COMMANDS))
    Console().print(table)


if __name__ == "__main__":
    main()
