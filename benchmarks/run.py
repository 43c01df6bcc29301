"""nngrader benchmark suite: what grading costs on top of simply training the network.

Method. The machine is small (2 cores) and shared, so absolute times drift by a factor of two from one
minute to the next. Every comparison is therefore PAIRED and ALTERNATING within one invocation: pair i
runs each leg once (e.g. bare training, `nngrader check --sandbox docker`, `--sandbox local`), in an order
rotated by i, and a ratio is computed inside the pair (docker_i / bare_i). Reported: the median of the
per-pair ratios with their min/max and IQR, never a ratio of medians. Absolute times are reported the
same way (median [min-max]).

Sections:
  1. overhead   `nngrader check` (real CLI subprocess, wall time around it) vs bare_train.py (one plain
                Python subprocess training the same SimpleNN on the same prepared arrays, same seed, same
                BLAS thread count as the sandbox).
  2. stages     from the check runs' JSON reports: per-stage duration and sandbox_s, host time
                (total_s - sum of stages; with speculative training the stages overlap, so also total_s -
                max(train, load + probe)) and CLI process start (wall - total_s); then, in-process with
                keep_workdir=True and the stages run one after the other, the harness's per-probe `seconds`:
                training vs evaluation vs data hand-over, plus bare_train.py inside the grading image (the
                image's NumPy/BLAS speed); the start-up of `python`, `import numpy`, `import grader.cli`
                (what CLI start is made of); and speculative training on vs off (in-process, paired).
  3. batch      `nngrader batch --jobs 1|2` throughput on classes of several sizes (skipped without it).
  4. cold       first-run data preparation vs a warm call; `nngrader image build` with --cold only.
  5. quick      `nngrader check --quick` wall time (goal: < 10 s).

Usage: python benchmarks/run.py [--pairs N] [--quick-only] [--skip-docker] [--cold] [--out RAW.json]
(--help lists the rest: --rounds, --batch-*, --skip-batch, --only SECTIONS, --data-dir). The raw results go to
benchmarks/raw/results.json (gitignored); `python benchmarks/summarize.py` makes the summary that is committed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common import (
    RAW,
    Leg,
    Summary,
    column,
    default_data_dir,
    fmt,
    grader_cli,
    log,
    paired,
    ratios,
    run_timed,
    summarize,
    write_json,
)
from legs import (
    STAGES,
    STARTUP_COMMANDS,
    Context,
    bare_host,
    bare_image,
    batch_cli,
    check_cli,
    grade_kept,
    make_class,
    speculation,
    startup,
)
from machine import describe
from rich.console import Console
from rich.table import Table

from grader.data import mnist
from grader.rubric import load_rubric
from grader.sandbox.image import IMAGE_TAG

QUICK_GOAL_S = 10.0


# --------------------------------------------------------------------------- 1 + 2: overhead and stages


def overhead(ctx: Context, sandboxes: list[str], pairs: int) -> dict[str, Any]:
    legs: dict[str, Leg] = {"bare": lambda: bare_host(ctx)}
    legs.update({sb: (lambda sb=sb: check_cli(ctx, sb)) for sb in sandboxes})  # type: ignore[misc]
    runs = paired(legs, pairs, "overhead")
    bare = column(runs, "bare.wall_s")
    return {"runs": runs, "wall_s": {name: summarize(column(runs, f"{name}.wall_s")) for name in legs},
            "cpu_s": {name: summarize(column(runs, f"{name}.cpu_s")) for name in legs},
            "machine_busy_cores": {name: summarize(column(runs, f"{name}.machine_busy_cores")) for name in legs},
            "ratio": {f"{sb}/bare": ratios(column(runs, f"{sb}.wall_s"), bare) for sb in sandboxes},
            # Contention only ever slows a run down: the ratio of the fastest runs estimates a quiet machine.
            "ratio_of_minima": {f"{sb}/bare": min(column(runs, f"{sb}.wall_s")) / min(bare) for sb in sandboxes},
            # CPU time is far less sensitive to other users; complete for local only (containers are not children).
            "cpu_ratio": {"local/bare": ratios(column(runs, "local.cpu_s"), column(runs, "bare.cpu_s"))}
            if "local" in sandboxes else {},
            "stages": {sb: stage_breakdown(runs, sb) for sb in sandboxes}}


BREAKDOWN = ("stages_sum_s", "host_s", "host_outside_stages_s", "cli_start_s", "total_s", "wall_s")


def stage_breakdown(runs: list[dict[str, Any]], sandbox: str) -> dict[str, Any]:
    """Per-stage duration / sandbox_s, host time and CLI start of one sandbox's check runs."""
    out: dict[str, Any] = {f"{stage}.{field}": summarize(column(runs, f"{sandbox}.stages.{stage}.{field}"))
                           for stage in STAGES for field in ("duration_s", "sandbox_s")}
    for field in BREAKDOWN:
        out[field] = summarize(column(runs, f"{sandbox}.{field}"))
    out["overlapped_runs"] = sum(1 for run in runs if run[sandbox]["overlapped"])
    return out


def speculation_effect(ctx: Context, sandboxes: list[str], pairs: int) -> dict[str, Any]:
    """In-process grading with speculative training on vs off (stages one after the other), paired."""
    if not speculation(True):
        return {"skipped": "this grader's grade_submission has no `speculate` argument"}
    legs: dict[str, Leg] = {}
    for sb in sandboxes:
        legs[f"{sb}_speculate"] = lambda sb=sb: grade_kept(ctx, sb, speculate=True)  # type: ignore[misc]
        legs[f"{sb}_serial"] = lambda sb=sb: grade_kept(ctx, sb, speculate=False)  # type: ignore[misc]
    runs = paired(legs, pairs, "speculation")
    result: dict[str, Any] = {"runs": runs}
    for sb in sandboxes:
        on, off = column(runs, f"{sb}_speculate.total_s"), column(runs, f"{sb}_serial.total_s")
        result[sb] = {"speculate_total_s": summarize(on), "serial_total_s": summarize(off),
                      "speculate/serial": ratios(on, off),
                      "saved_s": summarize([b - a for a, b in zip(on, off, strict=True)]),
                      "train_speculate_s": summarize(column(runs, f"{sb}_speculate.stages.train.duration_s")),
                      "train_serial_s": summarize(column(runs, f"{sb}_serial.stages.train.duration_s"))}
    return result


def inside(ctx: Context, sandboxes: list[str], rounds: int) -> dict[str, Any]:
    """In-process gradings with keep_workdir: the harness's own probe timings, plus bare training in the image."""
    legs: dict[str, Leg] = {"bare": lambda: bare_host(ctx)}
    if "docker" in sandboxes:
        legs["bare_image"] = lambda: bare_image(ctx)
    legs.update({sb: (lambda sb=sb: grade_kept(ctx, sb)) for sb in sandboxes})  # type: ignore[misc]
    runs = paired(legs, rounds, "inside")
    result: dict[str, Any] = {"runs": runs, "bare_train_s": summarize(column(runs, "bare.train_s"))}
    if "bare_image" in legs:
        result["bare_image_train_s"] = summarize(column(runs, "bare_image.train_s"))
        result["image/host_train"] = ratios(column(runs, "bare_image.train_s"), column(runs, "bare.train_s"))
    for sb in sandboxes:
        fields = ["training_s", "evaluation_s", "handover_s", "total_s"]
        fields += [f"stages.{st}.{f}" for st in STAGES for f in ("duration_s", "sandbox_s", "probe_work_s", "rest_s")]
        result[sb] = {field: summarize(column(runs, f"{sb}.{field}")) for field in fields}
        result[sb]["harness/bare_train"] = ratios(column(runs, f"{sb}.training_s"), column(runs, "bare.train_s"))
    return result


def process_start(pairs: int) -> dict[str, Any]:
    """Interpreter, NumPy and grader import times: what `cli_start_s` is made of."""
    legs: dict[str, Leg] = {name: (lambda name=name: startup(name)) for name in STARTUP_COMMANDS}  # type: ignore[misc]
    runs = paired(legs, pairs, "start")
    return {"runs": runs, "wall_s": {name: summarize(column(runs, f"{name}.wall_s")) for name in legs}}


# --------------------------------------------------------------------------- 3: batch


def batch(ctx: Context, sandboxes: list[str], sizes: list[int], jobs: list[int], reps: int,
          kind: str) -> dict[str, Any]:
    if importlib.util.find_spec("grader.batch") is None:
        return {"skipped": "grader.batch is not installed (nngrader batch missing)"}
    classes = {size: make_class(ctx, size, kind) for size in sizes}
    legs: dict[str, Leg] = {f"{sb}/{size}/j{j}": (lambda sb=sb, size=size, j=j:  # type: ignore[misc]
                                                 batch_cli(ctx, classes[size][0], sb, j))
                           for sb in sandboxes for size in sizes for j in jobs}
    runs = paired(legs, reps, "batch")
    cores, cpus = os.cpu_count() or 1, ctx.cpus
    results: dict[str, Any] = {"classes": {str(s): c[1] for s, c in classes.items()}, "runs": runs,
                               "cores": cores, "cpus_per_job": cpus, "configs": {}}
    for sb in sandboxes:
        for size in sizes:
            results["configs"][f"{sb}/{size}"] = batch_config(runs, f"{sb}/{size}", jobs, cores, cpus)
    return results


def batch_config(runs: list[dict[str, Any]], key: str, jobs: list[int], cores: int, cpus: float) -> dict[str, Any]:
    """Throughput per --jobs, speed-up over one job, and the acceptance figure for one sandbox/class size.

    acceptance = best-jobs throughput / (cores x single-job submissions per core-second), where one job
    uses `cpus` cores (the rubric's quota): 1.0 means the cores are used as well as by one job on one core.
    of_cpu_bound_ceiling = best-jobs throughput / (cores / machine CPU-seconds per student with one job):
    1.0 means every core is busy grading (more throughput then needs less CPU per student).
    """
    per_minute = {j: column(runs, f"{key}/j{j}.per_minute") for j in jobs}
    fields = ("wall_s", "student_s_median", "sandbox_s_median", "train_stage_s_median", "fixed_s", "cpu_s",
              "machine_busy_cores")
    out: dict[str, Any] = {f"j{j}": {field: summarize(column(runs, f"{key}/j{j}.{field}")) for field in fields}
                           | {"per_minute": summarize(per_minute[j])} for j in jobs}
    base = min(jobs)
    best = [max(per_minute[j][i] for j in jobs) for i in range(len(runs))]
    out["speedup"] = {f"j{j}/j{base}": ratios(per_minute[j], per_minute[base]) for j in jobs if j != base}
    out["acceptance"] = ratios(best, [cores * p / (base * cpus) for p in per_minute[base]])
    # CPU-bound ceiling: all cores busy at the machine CPU-seconds one student costs with one job.
    cpu_per_student = [run[f"{key}/j{base}"]["machine_busy_cores"] * run[f"{key}/j{base}"]["wall_s"]
                       / run[f"{key}/j{base}"]["graded"] for run in runs]
    out["machine_cpu_s_per_student"] = summarize(cpu_per_student)
    out["of_cpu_bound_ceiling"] = ratios(best, [cores / c * 60.0 for c in cpu_per_student])
    return out


# --------------------------------------------------------------------------- 4 + 5: cold start and --quick


def cold(ctx: Context, reps: int, image_build: bool) -> dict[str, Any]:
    """mnist.prepare into a fresh cache (decode + checksum + write) vs a warm call; optionally the image build."""
    runs = []
    for i in range(reps):
        cache = ctx.fresh("cache")
        pair = {}
        for name in ("cold", "warm"):
            start = time.perf_counter()
            mnist.prepare(ctx.data_dir, cache_dir=cache)
            pair[name] = {"wall_s": time.perf_counter() - start}
        shutil.rmtree(cache, ignore_errors=True)
        log(f"cold {i + 1}/{reps}: prepare cold {pair['cold']['wall_s']:.2f} s, warm {pair['warm']['wall_s']:.4f} s")
        runs.append(pair)
    result: dict[str, Any] = {"runs": runs, "prepare_cold_s": summarize(column(runs, "cold.wall_s")),
                              "prepare_warm_s": summarize(column(runs, "warm.wall_s"))}
    if image_build:
        log("cold: nngrader image build --offline --force (about a minute)")
        result["image_build_s"] = run_timed(grader_cli("image", "build", "--offline", "--force")).wall_s
    return result


def quick(ctx: Context, sandboxes: list[str], pairs: int) -> dict[str, Any]:
    legs: dict[str, Leg] = {sb: (lambda sb=sb: check_cli(ctx, sb, quick=True)) for sb in sandboxes}  # type: ignore[misc]
    runs = paired(legs, pairs, "quick")
    result: dict[str, Any] = {"runs": runs, "goal_s": QUICK_GOAL_S}
    for sb in sandboxes:
        result[sb] = stage_breakdown(runs, sb)
        result[sb]["meets_goal"] = max(column(runs, f"{sb}.wall_s")) < QUICK_GOAL_S
    if len(sandboxes) == 2:
        result["docker/local"] = ratios(column(runs, "docker.wall_s"), column(runs, "local.wall_s"))
    return result


# --------------------------------------------------------------------------- tables


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", min_width=72)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right")
    return table


def _iqr(s: Summary, digits: int = 2) -> str:
    return f"{s['q1']:.{digits}f}-{s['q3']:.{digits}f}" if s else "-"


def overhead_table(res: dict[str, Any]) -> Table:
    table = _table(f"1. Overhead vs bare training ({res['wall_s']['bare']['n']} pairs)", "", "median", "min",
                   "max", "IQR")
    rows = [(f"{name} wall (s)", s) for name, s in res["wall_s"].items()]
    rows += [(f"{name} CPU (s){' host side only' if name == 'docker' else ''}", s) for name, s in res["cpu_s"].items()]
    rows += [(f"machine busy during {name} (cores)", s) for name, s in res["machine_busy_cores"].items()]
    rows += [(f"{name} wall ratio", s) for name, s in res["ratio"].items()]
    rows += [(f"{name} CPU ratio", s) for name, s in res["cpu_ratio"].items()]
    for label, s in rows:
        table.add_row(label, *(f"{s[k]:.2f}" for k in ("median", "min", "max")), _iqr(s))
    for name, value in res["ratio_of_minima"].items():
        table.add_row(f"{name} ratio of fastest runs", f"{value:.2f}", "", "", "")
    return table


def stages_table(res: dict[str, Any]) -> Table:
    sandboxes = list(res["stages"])
    table = _table("2a. Stage breakdown from the check reports, s: median [min-max]", "", *sandboxes)
    keys = [f"{st}.{f}" for st in STAGES for f in ("duration_s", "sandbox_s")]
    keys += list(BREAKDOWN)
    for key in keys:
        table.add_row(key, *(fmt(res["stages"][sb][key]) for sb in sandboxes))
    table.add_row("runs with overlapping stages", *(str(res["stages"][sb]["overlapped_runs"]) for sb in sandboxes))
    return table


def speculation_table(res: dict[str, Any], sandboxes: list[str]) -> Table:
    table = _table("2d. Speculative training on vs off (in-process total_s), s: median [min-max]", "", *sandboxes)
    for key in ("speculate_total_s", "serial_total_s", "speculate/serial", "saved_s", "train_speculate_s",
                "train_serial_s"):
        table.add_row(key, *(fmt(res[sb][key]) for sb in sandboxes))
    return table


def inside_table(res: dict[str, Any], sandboxes: list[str]) -> Table:
    table = _table("2b. Inside the stages (keep_workdir, harness probe seconds), s: median [min-max]", "",
                   *sandboxes)
    keys = ["training_s", "evaluation_s", "handover_s", "harness/bare_train"]
    keys += [f"stages.{st}.{f}" for st in STAGES for f in ("sandbox_s", "probe_work_s", "rest_s")]
    for key in keys:
        table.add_row(key, *(fmt(res[sb][key], digits=3) for sb in sandboxes))
    table.add_row("bare_train.py train_s (host)", *(fmt(res["bare_train_s"]) for _ in sandboxes))
    if "bare_image_train_s" in res:
        table.add_row("bare_train.py train_s (image)", *(fmt(res["bare_image_train_s"]) for _ in sandboxes))
        table.add_row("image/host train ratio", *(fmt(res["image/host_train"]) for _ in sandboxes))
    return table


def start_table(res: dict[str, Any]) -> Table:
    table = _table("2c. Process start (what cli_start_s is made of), s", "", "median [min-max]")
    for name, summary in res["wall_s"].items():
        table.add_row("python " + " ".join(STARTUP_COMMANDS[name][1:]), fmt(summary, digits=3))
    return table


def quick_table(res: dict[str, Any], sandboxes: list[str]) -> Table:
    table = _table(f"5. check --quick (goal < {res['goal_s']:g} s), s: median [min-max]", "", *sandboxes)
    for key in ("wall_s", "total_s", "cli_start_s", "host_outside_stages_s", "load.duration_s", "probe.duration_s",
                "train.duration_s"):
        table.add_row(key, *(fmt(res[sb][key]) for sb in sandboxes))
    table.add_row("meets goal", *(str(res[sb]["meets_goal"]) for sb in sandboxes))
    return table


def batch_table(res: dict[str, Any]) -> Table:
    table = _table(f"3. batch throughput ({res['cores']} cores, {res['cpus_per_job']:g} cpu/job)", "class",
                   "jobs", "wall s", "subs/min", "s/student", "fixed s", "busy cores", "speed-up", "acceptance")
    table.caption = "; ".join(f"class {size}: {what[:60]}..." if len(what) > 60 else f"class {size}: {what}"
                              for size, what in res["classes"].items())
    for key, cfg in res["configs"].items():
        for job_key in (k for k in cfg if k.startswith("j")):
            speedup = next((fmt(s) for name, s in cfg["speedup"].items() if name.startswith(job_key + "/")), "")
            last = job_key == [k for k in cfg if k.startswith("j")][-1]
            row = cfg[job_key]
            table.add_row(key, job_key[1:], fmt(row["wall_s"], digits=1), fmt(row["per_minute"], digits=1),
                          fmt(row["student_s_median"], digits=1), fmt(row["fixed_s"], digits=1),
                          fmt(row["machine_busy_cores"], digits=1), speedup,
                          fmt(cfg["acceptance"]) if last else "")
    return table


def cold_table(res: dict[str, Any]) -> Table:
    table = _table("4. Cold start, s: median [min-max]", "", "value")
    table.add_row("mnist.prepare, fresh cache", fmt(res["prepare_cold_s"]))
    table.add_row("mnist.prepare, warm", fmt(res["prepare_warm_s"], digits=4))
    table.add_row("nngrader image build --offline --force",
                  f"{res['image_build_s']:.1f}" if "image_build_s" in res else "not run (--cold)")
    return table


def print_tables(results: dict[str, Any], sandboxes: list[str]) -> None:
    out = Console()
    if not out.is_terminal:
        out = Console(width=132)  # a file or a pipe: wide enough for the batch table
    sections = results["sections"]
    if "overhead" in sections:
        out.print(overhead_table(sections["overhead"]), stages_table(sections["overhead"]))
    if "inside" in sections:
        out.print(inside_table(sections["inside"], sandboxes))
    if "process_start" in sections:
        out.print(start_table(sections["process_start"]))
    if "speculation" in sections:
        spec = sections["speculation"]
        out.print(f"2d. speculation: skipped ({spec['skipped']})" if "skipped" in spec else
                  speculation_table(spec, sandboxes))
    if "batch" in sections:
        batch_res = sections["batch"]
        out.print(f"3. batch: skipped ({batch_res['skipped']})" if "skipped" in batch_res else batch_table(batch_res))
    if "cold" in sections:
        out.print(cold_table(sections["cold"]))
    if "quick" in sections:
        out.print(quick_table(sections["quick"], sandboxes))


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=5, help="pairs of alternating runs per comparison [5]")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the in-process stage split [3]")
    parser.add_argument("--quick-only", action="store_true", help="only the --quick timings (and the machine)")
    parser.add_argument("--skip-docker", action="store_true", help="local sandbox only")
    parser.add_argument("--cold", action="store_true", help="also time `nngrader image build --offline --force`")
    parser.add_argument("--batch-sizes", default="6,12", help="class sizes for the batch section [6,12]")
    parser.add_argument("--batch-jobs", default="1,2", help="--jobs values compared [1,2]")
    parser.add_argument("--batch-reps", type=int, default=3, help="alternating repetitions of the batch runs [3]")
    parser.add_argument("--batch-class", choices=("mixed", "reference"), default="mixed",
                        help="mixed: benchmarks/make_class.py's class (default); reference: copies of the reference")
    parser.add_argument("--skip-batch", action="store_true", help="leave out the batch section")
    parser.add_argument("--only", help=f"comma-separated sections to run, of: {','.join(SECTIONS)}")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="MNIST [$NNGRADER_DATA_DIR, $NNGRADER_TEST_DATA_DIR or ../shared/data/mnist]")
    parser.add_argument("--out", type=Path, default=RAW / "results.json",
                        help="raw results [benchmarks/raw/results.json, gitignored; see benchmarks/summarize.py]")
    return parser.parse_args(argv)


SECTIONS = ("overhead", "inside", "process_start", "speculation", "batch", "cold", "quick")


def plan(args: argparse.Namespace, ctx: Context, sandboxes: list[str]) -> dict[str, Callable[[], dict[str, Any]]]:
    """The sections to run, in order."""
    sizes, jobs = ([int(v) for v in text.split(",")] for text in (args.batch_sizes, args.batch_jobs))
    sections: dict[str, Callable[[], dict[str, Any]]] = {
        "overhead": lambda: overhead(ctx, sandboxes, args.pairs),
        "inside": lambda: inside(ctx, sandboxes, args.rounds),
        "process_start": lambda: process_start(args.pairs),
        "speculation": lambda: speculation_effect(ctx, sandboxes, args.rounds),
        "batch": lambda: batch(ctx, sandboxes, sizes, jobs, args.batch_reps, args.batch_class),
        "cold": lambda: cold(ctx, 3, args.cold),
        "quick": lambda: quick(ctx, sandboxes, args.pairs),
    }
    wanted = ["quick"] if args.quick_only else args.only.split(",") if args.only else list(SECTIONS)
    if args.skip_batch and "batch" in wanted:
        wanted.remove("batch")
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}")
    return {name: sections[name] for name in SECTIONS if name in wanted}


def save(results: dict[str, Any], path: Path) -> None:
    write_json(path, results)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sandboxes = ["local"] if args.skip_docker else ["docker", "local"]
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="nngrader-bench-"))
    cpus = load_rubric(None).rubric.limits.cpus
    ctx = Context(data_dir=args.data_dir, prepared_root=mnist.prepare(args.data_dir).root, scratch=scratch,
                  image=IMAGE_TAG, cpus=cpus)
    results: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": describe("docker" in sandboxes, IMAGE_TAG),
        "settings": {"pairs": args.pairs, "rounds": args.rounds, "seed": 0, "data_dir": str(args.data_dir),
                     "prepared_root": str(ctx.prepared_root), "cpus_per_stage": cpus, "sandboxes": sandboxes,
                     "python_executable": sys.executable, "platform": platform.platform()},
    }
    results["sections"] = {}
    try:
        for name, section in plan(args, ctx, sandboxes).items():
            results["sections"][name] = section()
            save(results, args.out)  # a later failure keeps what was measured
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    results["duration_s"] = time.perf_counter() - started
    save(results, args.out)
    print_tables(results, sandboxes)
    Console().print(f"results: {args.out} ({results['duration_s']:.0f} s)")


if __name__ == "__main__":
    main()
