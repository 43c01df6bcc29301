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
def image() -> None:
    """Build the Docker grading image."""


@image.command("build")
@click.option("--offline/--online", default=True, show_default=True,
              help="--offline: debootstrap a minimal Debian (no registry needed); --online: FROM python:slim.")
@click.option("--mirror", help="Debian mirror for --offline [default: from /etc/apt sources].")
@click.option("--rootfs", type=click.Path(file_okay=False, path_type=Path),
              help="Where --offline builds the root file system [default: a temporary folder].")
@click.option("--force", is_flag=True, help="Rebuild even when the image exists.")
@friendly_errors
def image_build(offline: bool, mirror: str | None, rootfs: Path | None, force: bool) -> None:
    """Build the grading image (Python 3 + NumPy with OpenBLAS, non-root user, no data).

    \b
    Example:
      nngrader image build --offline
    """
    from grader.sandbox import image as images

    client = images.docker_client()
    if offline:
        info = images.build_offline(client, mirror, rootfs, force=force)
    else:
        info = images.build_online(client, force=force)
    click.echo(f"image {info.tag}: {info.method} in {info.seconds:.1f} s")


@main.command()
@data_dir_option
def doctor(data_dir: Path | None) -> None:
    """Check the Docker engine, the grading image, the sandbox and MNIST; say how to fix each.

    \b
    Example:
      nngrader doctor
    """
    from grader.sandbox import image as images

    items = images.doctor(data_dir)
    for item in items:
        mark = click.style("ok  ", fg="green") if item.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {item.name}: {item.detail}")
        if not item.ok and item.fix:
            click.echo(f"     fix: {item.fix}")
    sys.exit(0 if all(item.ok for item in items) else 1)


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


@main.group()
def gradescope() -> None:
    """Package nngrader as a Gradescope autograder."""


@gradescope.command("package")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Zip file to write.")
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@click.option("--pip-spec", default="nngrader", show_default=True,
              help="What setup.sh installs with pip, e.g. 'nngrader==0.1.0' or a git URL of the course's fork.")
@click.option("--grader-source", type=click.Path(exists=True, path_type=Path),
              help="Ship this nngrader source tree (or wheel/sdist) in the zip and install it instead of --pip-spec.")
@friendly_errors
def gradescope_package(out: Path, rubric: str | None, pip_spec: str, grader_source: Path | None) -> None:
    """Build the autograder zip to upload to a Gradescope programming assignment.

    \b
    Example:
      nngrader gradescope package --out autograder.zip
      nngrader gradescope package --rubric my_rubric.yaml --pip-spec 'nngrader==0.1.0'
    """
    from grader.gradescope_package import build_autograder_zip

    path = build_autograder_zip(out, rubric_path=rubric, grader_source=grader_source, pip_spec=pip_spec)
    click.echo(f"Gradescope autograder written to {path}: upload it as the assignment's autograder "
               "(Ubuntu 22.04+ base image).")


@main.command()
@click.argument("class_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: reports/, grades.csv, summary.html (and canvas.csv).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Submissions graded in parallel [default: CPU cores // the rubric's CPU quota].")
@click.option("--resume", is_flag=True, help="Reuse reports already in --out that were graded under the same "
                                             "submission, rubric, grader version and options.")
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@sandbox_option
@data_dir_option
@click.option("--seed", type=int, help="One seed for every student (default: derived from each submission, "
                                       "so re-runs give the same grades).")
@click.option("--quick", is_flag=True, help="Fast preview: short training on a subset. Not grades.")
@click.option("--canvas-assignment", metavar='"TITLE (ID)"',
              help="Also write canvas.csv for Canvas's gradebook import, e.g. \"Digit recognizer (12345)\".")
@friendly_errors
def batch(class_dir: Path, out_dir: Path, jobs: int | None, resume: bool, rubric: str | None, sandbox: str,
          data_dir: Path | None, seed: int | None, quick: bool, canvas_assignment: str | None) -> None:
    """Grade every submission in CLASS_DIR and write a gradebook.

    CLASS_DIR may hold alice.py files, one folder per student, GitHub Classroom clones
    (digits-alice/), .zip archives and .ipynb notebooks. Exit code 0 when the batch completed
    (even if some students failed or could not be graded), 130 when interrupted (Ctrl-C or
    SIGTERM: what is done is kept, --resume grades the rest), 2 on errors that stop the whole batch.

    \b
    Example:
      nngrader batch submissions/ --out results/
      nngrader batch submissions/ --out results/ --resume --jobs 2
      nngrader batch submissions/ --out results/ --canvas-assignment "Digit recognizer (12345)"
    """
    from grader.batch import grade_batch
    from grader.batch.progress import make_progress
    from grader.batch.runner import interrupt_on_sigterm

    with interrupt_on_sigterm(), make_progress() as progress:
        result = grade_batch(class_dir, out_dir=out_dir, rubric=rubric, sandbox=sandbox, data_dir=data_dir,
                             jobs=jobs, resume=resume, seed=seed, quick=quick, progress=progress,
                             canvas_assignment=canvas_assignment)
    graded = [r.report for r in result.records if r.report is not None]
    mean = f", mean {sum(r.score for r in graded) / len(graded):.1f}/{graded[0].max_score:g}" if graded else ""
    state = "interrupted" if result.interrupted else "done"
    click.echo(f"{state}: {len(result.records)}/{result.discovered} submissions ({result.graded_now} graded now, "
               f"{result.reused} reused), {result.passed} passed, {result.errors} grader error(s){mean} "
               f"in {result.duration_s:.0f} s")
    for path in (result.grades_csv, result.canvas_csv, result.summary_html):
        if path is not None:
            click.echo(f"  {path}")
    click.echo(f"  {result.out_dir / 'reports'}/<student>.json")
    sys.exit(130 if result.interrupted else 0)
