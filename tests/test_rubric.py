"""Rubric files are validated by the Pydantic models; a second rubric needs no code changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.errors import RubricError
from grader.rubric import Rubric, builtin_rubrics, load_rubric

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "rubrics").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_rubrics_are_valid(path: Path) -> None:
    loaded = load_rubric(path)
    assert loaded.rubric.max_score == 100
    assert len(loaded.sha256) == 64


def test_builtin_names_resolve() -> None:
    assert {"mini_challenge", "deep_variant"} <= set(builtin_rubrics())
    assert load_rubric("deep_variant").rubric.architecture.parameter_shapes()["W2"] == (128, 64)


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("id: x\ntitle: t\npass_mark: 1\nchecks: [{id: a, kind: loads, title: A, points: 1, bogus: 1}]", "bogus"),
    ("id: x\ntitle: t\npass_mark: 1\nchecks: [{id: a, kind: nope, title: A, points: 1}]", "kind"),
    ("id: x\ntitle: t\npass_mark: 1\nchecks: [{id: a, kind: loads, title: A, points: 1, depends_on: [b]}]",
     "unknown check"),
    ("id: x\ntitle: t\npass_mark: 5\nchecks: [{id: a, kind: loads, title: A, points: 1}]", "pass_mark"),
    ("id: x\ntitle: t\npass_mark: 1\nchecks: [{id: a, kind: loads, title: A, points: 1},"
     " {id: a, kind: shapes, title: B, points: 1}]", "duplicate"),
    ("id: [unclosed", "not valid YAML"),
])
def test_invalid_rubrics_get_a_clear_error(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml_text)
    with pytest.raises(RubricError, match=message):
        load_rubric(path)


def test_missing_rubric_lists_the_builtin_ones() -> None:
    with pytest.raises(RubricError, match="mini_challenge"):
        load_rubric("no_such_rubric")


def test_cli_validate_show_schema(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["rubric", "validate", str(ROOT / "rubrics" / "mini_challenge.yaml")])
    assert result.exit_code == 0 and "valid rubric 'mini_challenge'" in result.output
    result = runner.invoke(main, ["rubric", "show", "deep_variant"])
    assert result.exit_code == 0 and "784, 128, 64, 10" in result.output
    result = runner.invoke(main, ["rubric", "schema"])
    schema = json.loads(result.output)
    assert schema == Rubric.model_json_schema()
    assert "threshold" in json.dumps(schema)  # per-check parameters are documented
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    result = runner.invoke(main, ["rubric", "validate", str(bad)])
    assert result.exit_code == 2 and "invalid rubric" in result.output
