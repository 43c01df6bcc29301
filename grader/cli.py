"""The `nngrader` command: parses options, calls the library, renders. No grading logic lives here.

Exit codes: 0 the submission passed the rubric's pass mark, 1 it did not, 2 usage or grader errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from grader.api import grade_submission
from grader.errors import DataError, GraderError
from grader.models import Report
from grader.report import FORMATS, render
from grader.report.grader_error import grader_error_report
from grader.report.progress import DownloadBar, make_progress
from grader.rubric import LoadedRubric, Rubric, builtin_rubrics, load_rubric
from grader.sandbox.base import DoctorItem
from grader.sandbox.select import SANDBOXES, select_sandbox
from grader.textsafe import one_line
from grader.version import __version__

F = TypeVar("F", bound=Callable[..., Any])

STOP_TIMEOUT_S = 8.0  # after Ctrl-C / SIGTERM: how long the running stages get to stop before we leave
EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}
PRELOAD = "grader.cluster.preload"  # the Dask preload of a grading node (worker and nanny)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while a command ran; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _bug_message(exc: BaseException) -> str:
    return (f"Error: nngrader failed unexpectedly ({type(exc).__name__}: {one_line(str(exc), 200)}). "
            "This is a bug in nngrader: run the same command with --debug for the traceback, and report it.")


def friendly_errors(func: F) -> F:
    """Adds --debug. A GraderError is one readable line and exit 2; a bug in nngrader (any other exception)
    is one line pointing at --debug and exit 2; never a traceback unless --debug asks for it."""

    @click.option("--debug", is_flag=True, help="On an unexpected error, show the Python traceback.")
    @wraps(func)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GraderError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except Interrupted as exc:
            sys.exit(EXIT_FOR_SIGNAL.get(signal.Signals(exc.signum), 128 + exc.signum))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
            if debug:
                traceback.print_exc()
            click.echo(_bug_message(exc), err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def sandbox_option(func: F) -> F:
    return click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True,
                        help="Where submissions run: docker (isolated), local (a child process, NOT isolated), "
                             "or auto (docker when available, else local with a warning).")(func)


def data_dir_option(func: F) -> F:
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NNGRADER_DATA_DIR",
                        help="Folder with the four MNIST .gz files [env NNGRADER_DATA_DIR; default: the cache, "
                             "downloaded on first use (see --offline)].")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nngrader")
def main() -> None:
    """nngrader: grade SimpleNN (784 -> 64 -> 10 on MNIST) submissions in a sandbox."""


# --------------------------------------------------------------------------- check: before grading


def check_output_path(output: Path) -> None:
    """GraderError (exit 2, one line) when the report could not be written there: checked BEFORE grading."""
    if output.is_dir():
        raise GraderError(f"--output {output}: is a folder; give a file name, e.g. {output / 'report.json'}")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise GraderError(f"--output {output}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise GraderError(f"--output {output}: not writable")


def ensure_mnist(data_dir: Path | None, *, offline: bool) -> None:
    """The first `check` on a machine: download MNIST into the cache, verified, with a progress bar.

    Only when no folder was chosen (no --data-dir, no NNGRADER_DATA_DIR), the cache lacks MNIST and no
    decoded copy exists. `--offline` keeps the old behaviour: grading stops with a DataError saying how
    to get the files.
    """
    if offline or data_dir is not None:
        return
    from grader.data import mnist

    target = mnist.resolve_data_dir(None)
    if all(mnist.find_file(target, name) is not None for name in mnist.SHA256):
        return
    prepared = mnist.PreparedMnist.at(mnist.default_cache_dir() / "prepared" / mnist.prepared_key())
    if (prepared.root / mnist.MANIFEST).is_file():
        return
    from grader.data.download import fetch

    click.echo(f"nngrader: MNIST is not in {target} yet: downloading it once (about 11 MB, checksums "
               "verified; --offline to skip)", err=True)
    bar = DownloadBar(sys.stderr)
    try:
        fetch(target, progress=bar)
    finally:
        bar.finish()
    click.echo(f"nngrader: MNIST ready in {target}", err=True)


# --------------------------------------------------------------------------- check: while grading


@contextlib.contextmanager
def private_tempdir() -> Iterator[Path]:
    """Every temporary folder this process makes goes under one folder of its own, removed on the way out
    whatever happens (finished, error, signal), so no work folder outlives `nngrader check`."""
    root = Path(tempfile.mkdtemp(prefix=f"nngrader-check-{os.getpid()}-"))
    previous = tempfile.tempdir
    tempfile.tempdir = str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(root, ignore_errors=True)


def stop_stages(box: Any) -> None:
    """Stop whatever the sandbox still runs for this process (containers, local process groups)."""
    with contextlib.suppress(Exception):
        box.stop_all()


def run_interruptibly(work: Callable[[threading.Event], Report], box: Any) -> Report:
    """Run `work(cancel)` in a thread; on SIGINT/SIGTERM stop it, its stages and containers, and raise Interrupted.

    Within STOP_TIMEOUT_S of the signal the stages are dead and `work` has returned (it removes its work
    folder); whatever still runs after that is abandoned to the process exit.
    """
    cancel = threading.Event()
    received: list[int] = []
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["report"] = work(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            outcome["error"] = exc

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        cancel.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in EXIT_FOR_SIGNAL}
    thread = threading.Thread(target=target, name="nngrader-check", daemon=True)
    try:
        thread.start()
        while thread.is_alive() and not received:
            thread.join(0.1)
        if received:
            for sig in EXIT_FOR_SIGNAL:
                signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while thread.is_alive() and time.monotonic() < deadline:
                stop_stages(box)
                thread.join(0.25)
            stop_stages(box)
            raise Interrupted(received[0])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]  # type: ignore[no-any-return]


def write_error_report(reason: str, *, fmt: str, output: Path | None, rubric: str | None, submission: str) -> None:
    """For machine formats: the report of a grading that could not happen (see grader/report/grader_error.py)."""
    loaded: LoadedRubric | None
    try:
        loaded = load_rubric(rubric)
    except Exception:  # noqa: BLE001 - a broken rubric is one more reason, not a second failure
        loaded = None
    text = render(grader_error_report(reason, rubric=loaded, submission=submission), fmt)
    if output is not None:
        with contextlib.suppress(OSError):
            output.write_text(text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command()
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--entry", metavar="PATH", help="For a folder: the module to grade, relative to it, e.g. model.py "
                                              "(default: the one file that defines the class).")
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@sandbox_option
@data_dir_option
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Report format. Machine formats (all but text) get a report with every check 'error' "
                   "and the reason when nngrader itself fails (exit 2).")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write the report to this file instead of standard output (checked before grading).")
@click.option("--quick", is_flag=True, help="Fast preview: every correctness check + a short training run "
                                           "on a subset. Not a grade.")
@click.option("--seed", type=int, help="Seed for the probes and training (default: random, shown in the report).")
@click.option("--timeout", "timeout_s", type=float, help="Override the training stage's time limit (seconds).")
@click.option("--memory-mb", type=int, help="Override the memory limit (MB).")
@click.option("--cpus", type=float, help="Override the CPU quota (cores).")
@click.option("--offline", is_flag=True, help="Never download MNIST: stop with a message when it is missing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line or download bar on standard error.")
@friendly_errors
def check(submission: Path, entry: str | None, rubric: str | None, sandbox: str, data_dir: Path | None, fmt: str,
          output: Path | None, quick: bool, seed: int | None, timeout_s: float | None, memory_mb: int | None,
          cpus: float | None, offline: bool, quiet: bool) -> None:
    """Grade one SUBMISSION (a .py or .ipynb file, or a folder with helper modules) and print the report.

    Exit codes: 0 passed the rubric's pass mark, 1 did not, 2 nngrader could not grade (the message says
    why; a machine-format report is still written), 130/143 interrupted by Ctrl-C/SIGTERM (the sandboxes
    are stopped and the work folder removed).

    \b
    Example:
      nngrader check my_nn.py
      nngrader check my_nn.py --quick --sandbox local
      nngrader check my_nn.py --format json -o report.json
      nngrader check my_project/ --entry model.py
    """
    if output is not None:
        check_output_path(output)
    try:
        report = _grade(submission, entry=entry, rubric=rubric, sandbox=sandbox, data_dir=data_dir, quick=quick,
                        seed=seed, timeout_s=timeout_s, memory_mb=memory_mb, cpus=cpus, offline=offline, quiet=quiet)
    except Interrupted:
        click.echo("nngrader: interrupted; the sandboxes were stopped and the work folder removed", err=True)
        raise
    except Exception as exc:
        if fmt != "text":
            reason = str(exc) if isinstance(exc, GraderError) else _bug_message(exc).removeprefix("Error: ")
            write_error_report(reason, fmt=fmt, output=output, rubric=rubric, submission=str(submission))
        raise
    to_terminal = output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size((100, 24)).columns if to_terminal else None
    text = render(report, fmt, color=to_terminal and fmt == "text", width=width)
    if output is not None:
        output.write_text(text)
        click.echo(f"{report.score:g}/{report.max_score:g} -> {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(0 if report.passed else 1)


def _grade(submission: Path, *, entry: str | None, rubric: str | None, sandbox: str, data_dir: Path | None, quick: bool,
           seed: int | None, timeout_s: float | None, memory_mb: int | None, cpus: float | None, offline: bool,
           quiet: bool) -> Report:
    if not submission.exists():
        raise GraderError(f"{submission}: no such file or folder")
    loaded = load_rubric(rubric)
    progress = make_progress(sys.stderr, quiet=quiet)
    with private_tempdir():
        try:
            ensure_mnist(data_dir, offline=offline)
        except DataError as exc:
            raise DataError(f"{exc} (or pass --data-dir)") from exc
        box, notes = select_sandbox(sandbox)

        def work(cancel: threading.Event) -> Report:
            return grade_submission(submission, entry=entry, rubric=loaded, sandbox=box, data_dir=data_dir, seed=seed,
                                    quick=quick, timeout_s=timeout_s, memory_mb=memory_mb, cpus=cpus,
                                    cancel=cancel, on_progress=progress)

        try:
            report = run_interruptibly(work, box)
        finally:
            progress.close()
    report.notes = notes + report.notes  # grade_submission adds them only when it chose the sandbox
    return report


@main.group()
def report() -> None:
    """Write reports without grading (for CI scripts)."""


@report.command("render")
@click.argument("report_json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--width", type=click.IntRange(min=60), help="Columns for --format text [default: the terminal's, "
                                                          "100 when not a terminal].")
@friendly_errors
def report_render(report_json: Path, fmt: str, output: Path | None, width: int | None) -> None:
    """Render a report saved with `--format json` in another format (grade once, report many ways).

    \b
    Example:
      nngrader check simple_nn.py --format json -o report.json
      nngrader report render report.json --format github-classroom -o classroom.env
    """
    from pydantic import ValidationError

    if output is not None:
        check_output_path(output)
    try:
        loaded = Report.model_validate_json(report_json.read_bytes())
    except ValidationError as exc:
        raise GraderError(f"{report_json}: not an nngrader JSON report ({exc.error_count()} problems, first: "
                          f"{one_line(str(exc.errors()[0]['msg']), 120)})") from exc
    to_terminal = output is None and sys.stdout.isatty()
    if width is None and to_terminal:
        width = shutil.get_terminal_size((100, 24)).columns
    text = render(loaded, fmt, color=to_terminal and fmt == "text", width=width)
    if output is not None:
        output.write_text(text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@report.command("grader-error")
@click.option("--reason", required=True, help="Why the submission could not be graded (one line is kept).")
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="github-classroom",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--submission", default="", help="The submission's name, for the report.")
@friendly_errors
def report_grader_error(reason: str, rubric: str | None, fmt: str, output: Path | None, submission: str) -> None:
    """Write the report of a grading that could not happen: every check 'error' with REASON, 0 points.

    CI steps use it when nngrader could not even start grading (no image, no data), so the consumer
    still records 0 with the reason. Without a loadable rubric, one check worth 100 points carries it.

    \b
    Example:
      nngrader report grader-error --reason "image build failed" -o classroom.env
      nngrader report grader-error --reason "timed out" --format gradescope -o results.json
    """
    if output is not None:
        check_output_path(output)
    write_error_report(reason, fmt=fmt, output=output, rubric=rubric, submission=submission)


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


def _show_items(items: list[DoctorItem], indent: str = "") -> None:
    for item in items:
        mark = click.style("ok  ", fg="green") if item.ok else click.style("FAIL", fg="red")
        click.echo(f"{indent}{mark} {item.name}: {one_line(item.detail, 500)}")
        if not item.ok and item.fix:
            click.echo(f"{indent}     fix: {one_line(item.fix, 500)}")


@main.command()
@data_dir_option
@click.option("--cluster", metavar="tcp://HOST:8786", envvar="DASK_SCHEDULER_ADDRESS",
              help="Check every worker of this Dask scheduler instead: version, sandbox, MNIST, cores.")
@click.option("--sandbox", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="With --cluster: the sandbox the workers will use.")
@friendly_errors
def doctor(data_dir: Path | None, cluster: str | None, sandbox: str) -> None:
    """Check the Docker engine, the grading image, the sandbox and MNIST; say how to fix each.

    \b
    Example:
      nngrader doctor
      nngrader doctor --cluster tcp://scheduler.example.edu:8786
    """
    if cluster:
        from grader.cluster import cluster_doctor

        workers = cluster_doctor(cluster, sandbox)
        for name, items in workers.items():
            click.echo(f"worker {name}")
            _show_items(items, "  ")
        sys.exit(0 if all(item.ok for items in workers.values() for item in items) else 1)
    from grader.doctor import doctor as check_environment

    items = check_environment(data_dir)
    _show_items(items)
    sys.exit(0 if all(item.ok for item in items) else 1)


@main.command()
@click.argument("scheduler", metavar="tcp://HOST:8786", envvar="DASK_SCHEDULER_ADDRESS")
@click.option("--sandbox", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="Where this worker runs submissions.")
@data_dir_option
@click.option("--nthreads", type=click.IntRange(min=1),
              help="Gradings at once [default: CPU cores // the rubric's CPU quota].")
@click.option("--rubric", default=None, help="Rubric whose CPU quota sizes --nthreads [default: mini_challenge].")
@friendly_errors
def worker(scheduler: str, sandbox: str, data_dir: Path | None, nthreads: int | None, rubric: str | None) -> None:
    """Check this node (sandbox, MNIST), then serve SCHEDULER as a Dask worker that grades.

    Runs `dask worker SCHEDULER --nthreads N --preload grader.cluster.preload --preload-nanny
    grader.cluster.preload` once the checks pass; a plain `dask worker` with those preloads does the same.
    Stop it with Ctrl-C.

    \b
    Example:
      nngrader worker tcp://scheduler.example.edu:8786
    """
    from grader.batch.runner import default_jobs
    from grader.cluster.worker import worker_doctor

    try:
        import distributed  # noqa: F401 - only whether it is there
    except ImportError:
        raise GraderError("a cluster worker needs Dask: pip install 'nngrader[cluster]'") from None
    if data_dir is not None:
        os.environ["NNGRADER_DATA_DIR"] = str(data_dir.resolve())
    os.environ["NNGRADER_WORKER_SANDBOX"] = sandbox
    threads = nthreads or default_jobs(load_rubric(rubric))
    items = [item for item in worker_doctor("docker" if sandbox == "docker" else "local", __version__)
             if item.name != "cores"]
    _show_items(items)
    if not all(item.ok for item in items):
        raise GraderError("this node cannot grade yet: fix the lines marked FAIL above")
    preloads = ["--preload", PRELOAD, "--preload-nanny", PRELOAD]
    command = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nthreads", str(threads),
               "--nworkers", "1", *preloads]
    click.echo(f"starting: dask worker {scheduler} --nthreads {threads} {' '.join(preloads)}")
    sys.stdout.flush()
    os.execv(sys.executable, command)


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

    bar = DownloadBar(sys.stderr)
    try:
        target = fetch(dest or resolve_data_dir(None), progress=bar)
    finally:
        bar.finish()
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
@click.option("--grader-source", type=click.Path(exists=True, path_type=Path),
              help="Ship this nngrader source tree (or wheel/sdist) instead of the installed nngrader.")
@click.option("--pip-spec", default=None,
              help="Ship no nngrader: setup.sh runs `pip install SPEC` instead, e.g. a git URL of the course's "
                   "fork ('nngrader @ git+https://github.com/COURSE/nngrader@v1').")
@friendly_errors
def gradescope_package(out: Path, rubric: str | None, grader_source: Path | None, pip_spec: str | None) -> None:
    """Build the autograder zip to upload to a Gradescope programming assignment.

    By default the zip carries a wheel of the nngrader you are running, so Gradescope installs exactly
    this version and needs the package index only for public dependencies (NumPy, Pydantic, ...).

    \b
    Example:
      nngrader gradescope package --out autograder.zip
      nngrader gradescope package --rubric my_rubric.yaml --out autograder.zip
    """
    from grader.gradescope_package import build_autograder_zip

    check_output_path(out)
    path = build_autograder_zip(out, rubric_path=rubric, grader_source=grader_source, pip_spec=pip_spec)
    click.echo(f"Gradescope autograder written to {path}: upload it as the assignment's autograder "
               "(Ubuntu 22.04+ base image).")


@gradescope.command("run")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"),
              show_default=True, help="Gradescope's folder: submission/ is read, results/results.json written.")
@click.option("--rubric", default=None, help="Rubric YAML file or built-in name [default: mini_challenge].")
@sandbox_option
@data_dir_option
@friendly_errors
def gradescope_run(root: Path, rubric: str | None, sandbox: str, data_dir: Path | None) -> None:
    """Grade a Gradescope submission (run_autograder calls this); always writes results.json.

    SUBMISSION files are collected from ROOT/submission: one .py file, a .ipynb notebook, or several
    files (the one defining the class is graded, with the modules it imports).

    \b
    Example:
      nngrader gradescope run --root /autograder --rubric /autograder/source/rubric.yaml
    """
    from grader.gradescope_package import run_gradescope

    if sandbox == "auto":
        sandbox = "local"  # no Docker engine inside Gradescope's container
    results = run_gradescope(root, rubric_path=rubric, sandbox=sandbox, data_dir=data_dir)
    click.echo(f"nngrader: wrote {results}")


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
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Join submissions to people: a Canvas gradebook export with an added github_username or "
                   "submission column, or a GitHub Classroom roster (identifier,github_username). canvas.csv "
                   "then carries the real Canvas ids.")
@click.option("--entry", metavar="PATH",
              help="The entry file inside every student folder or .zip, e.g. simple_nn.py (overrides the rule "
                   "that picks the file defining the class).")
@click.option("--cluster", metavar="tcp://HOST:8786", envvar="DASK_SCHEDULER_ADDRESS",
              help="Grade on a Dask cluster: each student is a task on a worker, which uses its own sandbox "
                   "(docker unless --sandbox local) and its own MNIST [env: DASK_SCHEDULER_ADDRESS]. "
                   "Needs pip install 'nngrader[cluster]'.")
@friendly_errors
def batch(class_dir: Path, out_dir: Path, jobs: int | None, resume: bool, rubric: str | None, sandbox: str,
          data_dir: Path | None, seed: int | None, quick: bool, canvas_assignment: str | None, roster: Path | None,
          entry: str | None, cluster: str | None) -> None:
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
      nngrader batch submissions/ --out results/ --roster canvas_export.csv --canvas-assignment "Digits (12345)"
      nngrader batch submissions/ --out results/ --cluster tcp://scheduler.example.edu:8786
    """
    from grader.batch import grade_batch
    from grader.batch.progress import make_progress
    from grader.batch.runner import interrupt_on_signals

    if cluster and jobs is not None:
        raise click.UsageError("--jobs sets the local pool; on a cluster each worker's --nthreads decides")
    with contextlib.ExitStack() as stack:
        executor = None
        if cluster:
            from grader.cluster import DaskExecutor

            executor = stack.enter_context(DaskExecutor(cluster, sandbox))
            click.echo(f"grading on the Dask cluster at {cluster}: {executor.workers} worker(s), {executor.slots} "
                       f"grading thread(s), {executor.sandbox_name} sandbox", err=True)
            given = click.get_current_context().get_parameter_source("data_dir")
            if given is click.core.ParameterSource.COMMANDLINE:  # not NNGRADER_DATA_DIR: that one is for workers too
                click.echo("note: --data-dir is not sent to the workers; they use their own MNIST", err=True)
        with interrupt_on_signals(), make_progress() as progress:
            result = grade_batch(class_dir, out_dir=out_dir, rubric=rubric, sandbox=sandbox, data_dir=data_dir,
                                 jobs=jobs, resume=resume, seed=seed, quick=quick, progress=progress,
                                 canvas_assignment=canvas_assignment, roster=roster, entry=entry,
                                 executor=executor)
    graded = [r.report for r in result.records if r.report is not None]
    mean = f", mean {sum(r.score for r in graded) / len(graded):.1f}/{graded[0].max_score:g}" if graded else ""
    state = "interrupted" if result.interrupted else "done"
    click.echo(f"{state}: {len(result.records)}/{result.discovered} submissions ({result.graded_now} graded now, "
               f"{result.reused} reused), {result.passed} passed, {result.invalid} invalid submission(s), "
               f"{result.errors} grader error(s){mean} in {result.duration_s:.0f} s")
    for title, names in (("not on the roster", result.unmatched_submissions),
                         ("roster rows without a submission", result.unmatched_roster)):
        if names:
            click.echo(f"{title} ({len(names)}): {one_line(', '.join(names), 1000)}")
    for path in (result.grades_csv, result.canvas_csv, result.summary_html):
        if path is not None:
            click.echo(f"  {path}")
    click.echo(f"  {result.out_dir / 'reports'}/<student>.json")
    sys.exit(130 if result.interrupted else 0)
