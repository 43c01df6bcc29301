"""Does the grader's own process need more than one BLAS thread? A paired experiment.

The host process (the `nngrader` CLI) does small matrix products of its own (probe inputs, reference
forward/backward for the checks) with NumPy's default BLAS thread count (= cores), while the sandbox's
stages are pinned to 1 thread. OpenBLAS worker threads spin for a while after each call, and with
speculative training the host's checks run while the train stage trains: on a 2-core machine the spinning
threads take CPU from the student's training.

Pairs alternate the same command with BLAS variables unset (today's behaviour) and with
OPENBLAS/OMP/MKL_NUM_THREADS=1 in the CLI's environment (the stages get 1 thread either way):
`nngrader check` (local and docker) and, with --batch, `nngrader batch --jobs 2` on a make_class.py class.
Reported: wall, CPU (the CLI and its reaped children: for docker the host side only) and how busy the
whole machine was, as median [min-max], plus the median of the per-pair ratios (one thread / default).
Optionally `--busy N` busy-loop processes stand in for other users of the machine.

    python benchmarks/host_threads.py [--pairs 5] [--batch] [--busy 0] [--out benchmarks/raw/host_threads.json]
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import RAW, Leg, column, default_data_dir, fmt, paired, ratios, summarize, write_json
from legs import Context, batch_cli, check_cli, make_class
from rich.console import Console
from rich.table import Table

from grader.data import mnist
from grader.sandbox.image import IMAGE_TAG
from grader.sandbox.local import thread_env

FIELDS = ("wall_s", "cpu_s", "machine_busy_cores")


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """`count` CPU-bound processes for the duration, stopped by their own process ids."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def environments() -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if k not in thread_env(1)}
    return {"default": base, "one_thread": {**base, **thread_env(1)}}


def commands(ctx: Context, batch_class: Path | None) -> dict[str, Callable[..., dict[str, Any]]]:
    """The measured commands, each called with env=<the CLI's environment>."""
    out: dict[str, Callable[..., dict[str, Any]]] = {}
    for sandbox in ("local", "docker"):
        out[f"check_{sandbox}"] = functools.partial(check_cli, ctx, sandbox)
        if batch_class is not None:
            out[f"batch_{sandbox}_j2"] = functools.partial(batch_cli, ctx, batch_class, sandbox, 2)
    return out


def summary(runs: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per command: each field for both environments, and the per-pair ratio one_thread / default."""
    result: dict[str, Any] = {}
    for command in names:
        default, one = f"{command}.default", f"{command}.one_thread"
        result[command] = {field: {"default": summarize(column(runs, f"{default}.{field}")),
                                   "one_thread": summarize(column(runs, f"{one}.{field}")),
                                   "one/default": ratios(column(runs, f"{one}.{field}"),
                                                         column(runs, f"{default}.{field}"))}
                           for field in FIELDS}
    return result


def table(result: dict[str, Any], busy: int) -> Table:
    out = Table(title=f"Host BLAS threads: default vs 1 ({busy} busy-loop process(es)), median [min-max]",
                title_justify="left")
    for name in ("command", "field", "default", "1 thread", "ratio 1/default"):
        out.add_column(name, justify="left" if name in ("command", "field") else "right")
    for command, fields in result.items():
        for field, cells in fields.items():
            out.add_row(command, field, fmt(cells["default"]), fmt(cells["one_thread"]), fmt(cells["one/default"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--batch", action="store_true", help="also `nngrader batch --jobs 2` on a 12-student class")
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes simulating other users [0]")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=RAW / "host_threads.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nngrader-bench-") as scratch:
        ctx = Context(data_dir=args.data_dir, prepared_root=mnist.prepare(args.data_dir).root, scratch=Path(scratch),
                      image=IMAGE_TAG, cpus=1.0)
        batch_class = make_class(ctx, 12, "mixed")[0] if args.batch else None
        measured, envs = commands(ctx, batch_class), environments()
        legs: dict[str, Leg] = {f"{name}_{env_name}": functools.partial(run, env=env)
                                for name, run in measured.items() for env_name, env in envs.items()}
        with busy_loops(args.busy):
            flat = paired(legs, args.pairs, "host-threads")
    # Regroup each pair as {command: {env: result}} so dotted paths read "check_local.default.wall_s".
    runs = [{name: {env: pair[f"{name}_{env}"] for env in envs} for name in measured} for pair in flat]
    result = {"summary": summary(runs, list(measured)), "runs": flat, "busy": args.busy, "pairs": args.pairs}
    write_json(args.out, result)
    Console(width=140).print(table(result["summary"], args.busy))


if __name__ == "__main__":
    main()
