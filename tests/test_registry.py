"""A check kind is declared once; the rubric schema, the harness and the hints are derived from it and agree."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import string
from types import ModuleType

import pytest

from grader.checks.hints import COMMON, context
from grader.checks.registry import KINDS
from grader.harness import HARNESS_PATH
from grader.rubric import Rubric, builtin_rubrics, load_rubric


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nngrader_harness_registry", HARNESS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_kind_is_in_the_rubric_schema() -> None:
    schema = Rubric.model_json_schema()
    kinds = {definition["properties"]["kind"]["const"] for definition in schema["$defs"].values()
             if "kind" in definition.get("properties", {}) and "const" in definition["properties"]["kind"]}
    assert kinds == set(KINDS)


def test_the_harness_runs_exactly_the_registered_probes(harness: ModuleType) -> None:
    assert set(harness.PROBES) == {kind.kind for kind in KINDS.values() if kind.stage == "probe"}
    for kind in KINDS.values():
        if kind.stage is not None:
            assert set(kind.records) <= set(harness.RECORDS[kind.stage]), kind.kind
        assert (kind.inputs is not None) == (kind.stage == "probe"), kind.kind


def _diagnoses_given(function: object) -> set[str]:
    """Diagnosis codes a check function passes literally to failed(...)."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(function)))  # type: ignore[arg-type]
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "failed"
            and node.args and isinstance(node.args[0], ast.Constant)}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_diagnosis_a_kind_gives_has_a_hint(kind: str) -> None:
    declared = set(KINDS[kind].diagnoses) | set(COMMON)
    missing = _diagnoses_given(KINDS[kind].run) - declared
    # Diagnoses given by other kinds' helpers in the same module are declared by those kinds.
    module_kinds = [k for k in KINDS.values() if inspect.getmodule(k.run) is inspect.getmodule(KINDS[kind].run)]
    missing -= {d for k in module_kinds for d in k.diagnoses}
    assert not missing


@pytest.mark.parametrize("rubric_name", sorted(builtin_rubrics()))
def test_every_hint_renders_truthfully_under_every_builtin_rubric(rubric_name: str) -> None:
    rubric = load_rubric(rubric_name).rubric
    fields = context(rubric)
    for kind in KINDS.values():
        for code, template in {**kind.diagnoses, **COMMON}.items():
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert names <= set(fields), (kind.kind, code, names - set(fields))
            text = template.format(**fields)
            if rubric.architecture.class_name != "SimpleNN":
                assert "SimpleNN" not in text, (kind.kind, code)
            if rubric.architecture.parameter_shapes()["W1"] != (784, 64):
                assert "(784, 64)" not in text, (kind.kind, code)  # the default network's W1
            assert "0.1 " not in text and "lr = 0.1" not in text  # the starter suggests 0.01 to 0.02


def test_the_harness_and_the_checks_share_their_bounds(harness: ModuleType) -> None:
    from grader.checks import training

    assert (harness.SKETCH_ROWS, harness.SNAPSHOT_ROWS) == (training.SKETCH_ROWS, training.SNAPSHOT_ROWS)
