"""The CLI through Click's CliRunner and as a real subprocess: exit codes, formats, help, errors, MNIST.

Exit codes: 0 passed, 1 did not pass, 2 nngrader could not grade (one line; a bug points at --debug, which
shows the traceback), 130/143 interrupted (tests/test_cli_signals.py). Output paths are checked before
any grading. Machine formats get a report with every check `error` when grading could not happen.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import grader.cli as cli
from grader.cli import main
from grader.models import Report, Status
from grader.rubric import load_rubric
from tests.conftest import REFERENCE, STARTER
from tests.test_formats import full_report


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


@pytest.mark.parametrize("command", all_commands(main), ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


@pytest.mark.mnist
def test_check_reference_json_exit_0(mnist_data: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local", "--data-dir",
                                       str(mnist_data), "--format", "json", "--seed", "3", "--quick"])
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(result.stdout)
    assert report.score == report.max_score


@pytest.mark.mnist
def test_check_starter_text_exit_1(mnist_data: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(STARTER), "--sandbox", "local", "--data-dir", str(mnist_data)])
    assert result.exit_code == 1
    assert "forward() returned None" in result.output
    assert "What to fix" in result.output and "NOT PASSED" in result.output


@pytest.mark.parametrize("args", [["check", "no_such_file.py", "--sandbox", "local"],
                                  ["check", str(REFERENCE), "--rubric", "no_such_rubric"],
                                  ["check", str(REFERENCE), "--sandbox", "bogus"]])
def test_usage_and_grader_errors_exit_2_without_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.mnist
def test_cli_as_a_subprocess_writes_the_report_file(tmp_path: Path, mnist_data: Path) -> None:
    out = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(REFERENCE), "--sandbox", "local", "--data-dir",
         str(mnist_data), "--format", "json", "-o", str(out), "--quick", "--seed", "5"],
        capture_output=True, text=True, timeout=300)
    report = Report.model_validate_json(out.read_text())
    assert report.environment.seed == 5
    # a preview's accuracy sits near the threshold (it depends on the installation's hidden task): the exit
    # code follows the report, whichever side it falls on
    assert completed.returncode == (0 if report.passed else 1), completed.stderr


def test_version_subprocess() -> None:
    completed = subprocess.run(["nngrader", "--version"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0 and "nngrader" in completed.stdout


# --------------------------------------------------------------------------- errors: one line, exit 2


def refuse_to_grade(*args: object, **kwargs: object) -> Report:
    raise AssertionError("grading started although the command should have stopped before it")


@pytest.mark.parametrize(("output", "message"), [
    ("missing/dir/report.json", "folder {tmp}/missing/dir does not exist"),
    (".", "is a folder"),
])
def test_output_path_is_checked_before_grading(output: str, message: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade_submission", refuse_to_grade)
    target = tmp_path / output
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "-o", str(target)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and message.format(tmp=tmp_path) in result.output


def crash(*args: object, **kwargs: object) -> Report:
    raise ValueError("a bug in nngrader")


def test_a_bug_in_the_grader_is_one_line_pointing_at_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade_submission", crash)
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: nngrader failed unexpectedly (ValueError: a bug in nngrader). This is a bug in nngrader: run the "
        "same command with --debug for the traceback, and report it."]
    debug = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local", "--debug"])
    assert debug.exit_code == 2 and "Traceback" in debug.output
    assert 'raise ValueError("a bug in nngrader")' in debug.output


@pytest.mark.parametrize("fmt", ["github-classroom", "gradescope", "junit", "json"])
def test_machine_formats_still_get_a_report_when_grading_cannot_happen(fmt: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade_submission", crash)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 2
    text = out.read_text()
    assert "ValueError: a bug in nngrader" in (text if fmt != "github-classroom" else base64_payloads(text))
    if fmt == "json":
        report = Report.model_validate_json(text)
        assert report.score == 0 and {c.status for c in report.checks} == {Status.ERROR}
        assert len(report.checks) == len(load_rubric(None).rubric.checks)


def base64_payloads(env_lines: str) -> str:
    return " ".join(base64.b64decode(line.split("=", 1)[1]).decode() for line in env_lines.splitlines()[1:])


def test_report_grader_error_without_a_rubric_still_gives_a_payload(tmp_path: Path) -> None:
    out = tmp_path / "classroom.env"
    result = CliRunner().invoke(main, ["report", "grader-error", "--reason", "image build failed", "--rubric",
                                       str(tmp_path / "missing.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    runners, *payloads = out.read_text().splitlines()
    assert runners == "NNGRADER_RUNNERS=Grading"
    (document,) = [json.loads(base64.b64decode(line.split("=", 1)[1])) for line in payloads]
    assert document["max_score"] == 100 and document["tests"][0]["status"] == "error"
    assert "image build failed" in document["tests"][0]["message"]


def test_report_render_turns_a_json_report_into_any_format(tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    report = full_report()
    report.losses = [float("nan"), 1.0]  # a diverging student run must survive the round trip
    from grader.report import render

    saved.write_text(render(report, "json"))
    result = CliRunner().invoke(main, ["report", "render", str(saved), "--format", "text", "--width", "80"])
    assert result.exit_code == 0, result.output
    assert "Score: 100/100" in result.output and max(map(len, result.output.splitlines())) <= 80
    bad = tmp_path / "bad.json"
    bad.write_text('{"score": "lots"}')
    result = CliRunner().invoke(main, ["report", "render", str(bad)])
    assert result.exit_code == 2 and "not an nngrader JSON report" in result.output


# --------------------------------------------------------------------------- MNIST on first use


@pytest.fixture()
def mnist_mirror(mnist_data: Path) -> Iterator[str]:
    """An HTTP mirror on loopback serving the real MNIST .gz files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mnist_data))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def fake_grading(*args: object, **kwargs: object) -> Report:
    return full_report()


@pytest.mark.mnist
def test_first_check_downloads_mnist_verified_with_progress(tmp_path: Path, mnist_mirror: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNGRADER_DATA_DIR", raising=False)
    monkeypatch.setattr("grader.data.download.MIRRORS", [mnist_mirror])
    monkeypatch.setattr(cli, "grade_submission", fake_grading)
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local"])
    assert result.exit_code == 0, result.output
    assert "downloading it once" in result.output
    assert "nngrader: downloading MNIST t10k-labels-idx1-ubyte (0.0 MB)" in result.output
    from grader.data.mnist import verify

    verify(tmp_path / "cache" / "mnist")  # all four files, checksums right


def test_offline_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNGRADER_DATA_DIR", raising=False)
    monkeypatch.setattr("grader.data.download.MIRRORS", ["http://127.0.0.1:9/"])  # would fail if tried
    result = CliRunner().invoke(main, ["check", str(REFERENCE), "--sandbox", "local", "--offline"])
    assert result.exit_code == 2
    assert "nngrader data fetch" in result.output and "downloading" not in result.output
    assert shutil.which("nngrader")  # the command users run exists
