"""The CLI through Click's CliRunner and as a real subprocess: exit codes, formats, help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.models import Report
from tests.conftest import REFERENCE, STARTER


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
    report = Report.model_validate_json(result.output)
    assert report.score == report.max_score


@pytest.mark.mnist
def test_check_starter_text_exit_1(mnist_data: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(STARTER), "--sandbox", "local", "--data-dir", str(mnist_data)])
    assert result.exit_code == 1
    assert "forward returned None" in result.output
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
    assert completed.returncode == 0, completed.stderr
    assert Report.model_validate_json(out.read_text()).environment.seed == 5


def test_version_subprocess() -> None:
    completed = subprocess.run(["nngrader", "--version"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0 and "nngrader" in completed.stdout
