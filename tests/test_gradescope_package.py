"""`nngrader gradescope package`: the zip Gradescope builds its image from, and its run_autograder script.

The zip ships nngrader itself by default (a wheel of the installed package): setup.sh then needs the package
index only for public dependencies. run_autograder always leaves a results.json, even when nngrader cannot
start. The end-to-end run in a Gradescope-like container is tests/test_gradescope_e2e.py.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.errors import GraderError
from grader.gradescope_package import build_autograder_zip, installed_wheel, run_gradescope
from grader.rubric import builtin_rubrics, load_rubric
from tests.conftest import ROOT
from tests.test_formats import GradescopeResults

WHEEL = f"nngrader-{metadata.version('nngrader')}-py3-none-any.whl"


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_default_zip_ships_a_wheel_of_the_installed_nngrader(tmp_path: Path) -> None:
    dest = build_autograder_zip(tmp_path / "autograder.zip")
    with zipfile.ZipFile(dest) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for name in ("setup.sh", "run_autograder"):
            assert (infos[name].external_attr >> 16) & 0o111 == 0o111, f"{name} is not executable"
    entries = read_zip(dest)
    assert set(entries) == {"setup.sh", "run_autograder", "rubric.yaml", "nngrader.env", f"grader_source/{WHEEL}"}
    assert entries["rubric.yaml"] == builtin_rubrics()["mini_challenge"].read_bytes()
    settings = entries["nngrader.env"].decode()
    assert f"export NNGRADER_PIP_SPEC=/autograder/source/grader_source/{WHEEL}\n" in settings
    assert "export NNGRADER_CLASS_NAME=SimpleNN\n" in settings
    assert b'pip" install "$NNGRADER_PIP_SPEC"' in entries["setup.sh"]
    assert build_autograder_zip(tmp_path / "again.zip").read_bytes() == dest.read_bytes()  # reproducible


def test_the_wheel_is_complete_and_self_consistent() -> None:
    name, data = installed_wheel()
    assert name == WHEEL
    wheel = zipfile.ZipFile(io.BytesIO(data))
    files = {info.filename: wheel.read(info) for info in wheel.infolist()}
    info = f"nngrader-{metadata.version('nngrader')}.dist-info"
    # The package with its data (harness, image build files, rubrics) and nothing compiled.
    assert {"grader/cli.py", "grader/harness/harness.py", "grader/rubrics/mini_challenge.yaml",
            "grader/sandbox/image/Dockerfile"} <= set(files)
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    assert not any(f.startswith(("reference_solution", "tests")) for f in files)
    meta = email.parser.HeaderParser().parsestr(files[f"{info}/METADATA"].decode())
    assert meta["Name"] == "nngrader" and meta["Requires-Python"] == ">=3.10"
    assert any(dep.startswith("numpy") for dep in meta.get_all("Requires-Dist"))
    assert files[f"{info}/entry_points.txt"] == b"[console_scripts]\nnngrader = grader.cli:main\n"
    record = files[f"{info}/RECORD"].decode().splitlines()
    for line in record:
        path, digest, size = line.rsplit(",", 2)
        if path.endswith("RECORD"):
            continue
        expected = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(files[path])
    assert {line.split(",")[0] for line in record} == set(files)


@pytest.mark.slow
def test_pip_installs_the_wheel_offline_with_the_dependencies_present(tmp_path: Path) -> None:
    """pip accepts the wheel and puts the `nngrader` command in place (dependencies: those of this venv)."""
    name, data = installed_wheel()
    (tmp_path / name).write_bytes(data)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
                    str(target), str(tmp_path / name)], check=True, capture_output=True)
    assert (target / "grader" / "cli.py").read_bytes() == (ROOT / "grader" / "cli.py").read_bytes()
    assert (target / "grader" / "rubrics" / "mini_challenge.yaml").is_file()
    assert "grader.cli" in (target / "bin" / "nngrader").read_text()


def test_grader_source_or_pip_spec_instead_of_the_wheel(tmp_path: Path) -> None:
    entries = read_zip(build_autograder_zip(tmp_path / "a.zip", rubric_path="deep_variant", grader_source=ROOT))
    assert {"grader_source/pyproject.toml", "grader_source/grader/__init__.py"} <= set(entries)
    # Only what pip needs: the reference solution must not reach the container the submission runs in.
    assert not any(name.startswith(("grader_source/reference_solution", "grader_source/tests")) for name in entries)
    assert b"export NNGRADER_PIP_SPEC=/autograder/source/grader_source\n" in entries["nngrader.env"]
    assert b"export NNGRADER_CLASS_NAME=DeepNN\n" in entries["nngrader.env"]
    spec = "nngrader @ git+https://example.org/course/nngrader.git@v1"
    entries = read_zip(build_autograder_zip(tmp_path / "b.zip", pip_spec=spec))
    assert not any(name.startswith("grader_source/") for name in entries)
    with pytest.raises(GraderError, match="not both"):
        build_autograder_zip(tmp_path / "c.zip", pip_spec=spec, grader_source=ROOT)
    with pytest.raises(GraderError, match="no such file"):
        build_autograder_zip(tmp_path / "d.zip", grader_source=tmp_path / "nope")


def test_cli_package_quotes_the_pip_spec_for_the_shell(tmp_path: Path) -> None:
    spec = "nngrader @ git+https://example.org/course/nngrader.git@v1; python_version >= '3.10'"
    out = tmp_path / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope", "package", "--out", str(out), "--pip-spec", spec])
    assert result.exit_code == 0, result.output
    (tmp_path / "nngrader.env").write_bytes(read_zip(out)["nngrader.env"])
    # The scripts `source` this file: the spec must come back exactly, spaces, quotes and all.
    sourced = subprocess.run(["bash", "-c", 'source "$1"; printf %s "$NNGRADER_PIP_SPEC"', "_",
                              str(tmp_path / "nngrader.env")], capture_output=True, text=True, check=True)
    assert sourced.stdout == spec


def test_cli_package_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["gradescope", "package", "--out", str(tmp_path / "a.zip"),
                                       "--rubric", "no_such_rubric"])
    assert result.exit_code == 2 and "Error: rubric 'no_such_rubric' not found" in result.output
    result = CliRunner().invoke(main, ["gradescope", "package", "--out", str(tmp_path / "no" / "a.zip")])
    assert result.exit_code == 2 and "does not exist" in result.output


# --------------------------------------------------------------------------- run_autograder outside Gradescope


def autograder_root(tmp_path: Path, submission: dict[str, str], **settings: str) -> Path:
    """A fake /autograder: the zip extracted to source/, the submitted files in submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_autograder_zip(tmp_path / "autograder.zip", pip_spec="nngrader")) as archive:
        archive.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    with open(root / "source" / "nngrader.env", "a") as env:  # test overrides, sourced after the real ones
        env.writelines(f"export {name}='{value}'\n" for name, value in settings.items())
    (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).write_text(text)
    return root


def run_autograder(root: Path, nngrader_bin: str) -> GradescopeResults:
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "NNGRADER_BIN": nngrader_bin}
    subprocess.run([str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True)
    return GradescopeResults.model_validate_json((root / "results" / "results.json").read_text())


def test_run_autograder_writes_results_when_nngrader_cannot_start(tmp_path: Path) -> None:
    crash = tmp_path / "crash"
    crash.write_text("#!/bin/sh\nprintf 'Traceback:\\n  boom \"quoted\" \\\\ tab\\tend\\n' >&2\nexit 3\n")
    crash.chmod(0o755)
    root = autograder_root(tmp_path, {"simple_nn.py": "class SimpleNN:\n    pass\n"})
    results = run_autograder(root, str(crash))
    assert results.score == 0
    assert "(exit 3): Traceback:\n  boom \"quoted\" \\ tabend" in (results.output or "")


def test_gradescope_run_scores_zero_with_the_reason_for_an_empty_upload(tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "notes.txt").write_text("I forgot the code")
    results = GradescopeResults.model_validate_json(run_gradescope(root).read_text())
    assert results.score == 0 and results.tests and len(results.tests) == len(load_rubric(None).rubric.checks)
    assert all("your submission could not be graded" in (test.output or "") for test in results.tests)
