"""The `nngrader` command: parses options, calls the library, renders. No grading logic lives here.

Exit codes: 0 the submission passed the rubric's pass mark, 1 it did not, 2 usage or grader errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from grader import __version__
from grader.api import grade_submission
from grader.errors import GraderError
from grader.report import FORMATS, render
from grader.rubric import Rubric, builtin_rubrics, load_rubric
from grader.sandbox.select import SANDBOXES

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn a GraderError into one readable line and exit code 2 (never a traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GraderError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def sandbox_option(func: F) -> F:
    return click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True,
                        help="Where submissions run: docker (isolated), local (a child process, NOT isolated), "
                             "or auto (docker when available, else local with a warning).")(func)


def data_dir_option(func: F) -> F:
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NNGRADER_DATA_DIR",
                        help="Folder with the four MNIST .gz files [env NNGRADER_DATA_DIR; default: the cache, "
                             "filled by `nngrader data fetch`].")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nngrader")
def main() -> None:
    """nngrader: grade SimpleNN (784 -> 64 -> 10 on MNIST) submissions in a sandbox."""


@main.command()
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@sandbox_option
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--quick", is_flag=True, help="Fast preview: every correctness check + a short training run "
                                           "on a subset. Not a grade.")
@click.option("--seed", type=int, help="Seed for the probes and training (default: random, shown in the report).")
@click.option("--timeout", "timeout_s", type=float, help="Override the training stage's time limit (seconds).")
@click.option("--memory-mb", type=int, help="Override the memory limit (MB).")
@click.option("--cpus", type=float, help="Override the CPU quota (cores).")
@friendly_errors
def check(submission: Path, rubric: str | None, sandbox: str, data_dir: Path | None, fmt: str,
          output: Path | None, quick: bool, seed: int | None, timeout_s: float | None, memory_mb: int | None,
          cpus: float | None) -> None:
    """Grade one SUBMISSION file and print the report.

    \b
    Example:
      nngrader check my_nn.py
      nngrader check my_nn.py --quick --sandbox local
      nngrader check my_nn.py --format json -o report.json
    """
    report = grade_submission(submission, rubric=rubric, sandbox=sandbox, data_dir=data_dir, seed=seed,
                              quick=quick, timeout_s=timeout_s, memory_mb=memory_mb, cpus=cpus)
    color = output is None and fmt == "text" and sys.stdout.isatty()
    text = render(report, fmt, color=color)
    if output is not None:
        output.write_text(text)
        click.echo(f"{report.score:g}/{report.max_score:g} -> {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(0 if report.passed else 1)


@main.group()
def rubric() -> None:
    """Validate, show and document rubric files."""


@rubric.command("validate")
@click.argument("path")
@friendly_errors
def rubric_validate(path: str) -> None:
    """Check that a rubric file is valid.

    \b
    Example:
      nngrader rubric validate rubrics/mini_challenge.yaml
    """
    loaded = load_rubric(path)
    r = loaded.rubric
    click.echo(f"{loaded.path}: valid rubric {r.id!r}, {len(r.checks)} checks, {r.max_score:g} points, "
               f"pass mark {r.pass_mark:g}")


@rubric.command("show")
@click.argument("name_or_path", required=False)
@friendly_errors
def rubric_show(name_or_path: str | None) -> None:
    """Show a rubric's checks, points and dependencies.

    \b
    Example:
      nngrader rubric show mini_challenge
    """
    loaded = load_rubric(name_or_path)
    r = loaded.rubric
    click.echo(f"{r.title} [{r.id}] — layers {r.architecture.layers}, {r.epochs} epochs, "
               f"pass mark {r.pass_mark:g}/{r.max_score:g}")
    for c in r.checks:
        deps = f" (after {', '.join(c.depends_on)})" if c.depends_on else ""
        flags = "".join([" [hidden]" if c.visibility == "hidden" else "", " [required]" if c.required else ""])
        click.echo(f"  {c.points:>5g}  {c.id:<14} {c.title}{deps}{flags}")
    if name_or_path is None:
        click.echo(f"built-in rubrics: {', '.join(builtin_rubrics())}")


@rubric.command("schema")
def rubric_schema() -> None:
    """Print the rubric JSON Schema (generated from the Pydantic models).

    \b
    Example:
      nngrader rubric schema > rubric.schema.json
    """
    click.echo(json.dumps(Rubric.model_json_schema(), indent=2))


@main.group()
def data() -> None:
    """Download and verify MNIST."""


@data.command("fetch")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path),
              help="Download into this folder [default: the user cache].")
@friendly_errors
def data_fetch(dest: Path | None) -> None:
    """Download MNIST from the public mirrors and verify its checksums.

    \b
    Example:
      nngrader data fetch
    """
    from grader.data.download import fetch
    from grader.data.mnist import resolve_data_dir

    target = fetch(dest or resolve_data_dir(None), progress=lambda name, done, total: None)
    click.echo(f"MNIST ready in {target}")


@data.command("verify")
@data_dir_option
@friendly_errors
def data_verify(data_dir: Path | None) -> None:
    """Verify the MNIST files' checksums.

    \b
    Example:
      nngrader data verify --data-dir ./mnist
    """
    from grader.data.mnist import resolve_data_dir, verify

    folder = resolve_data_dir(data_dir)
    verify(folder)
    click.echo(f"MNIST in {folder}: all four files present, checksums match")
