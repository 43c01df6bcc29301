"""The rubric: which checks run, their points, parameters, limits and dependencies.

A rubric is a YAML file validated by these models (`extra="forbid"`, every field described, so the JSON
Schema from `nngrader rubric schema` documents it). Checks take the architecture from the rubric, so a
784-128-64-10 variant needs a new YAML file, not new code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar, Union

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from grader.checks.base import CheckConfig
from grader.checks.registry import KINDS
from grader.errors import RubricError
from grader.models import StrictModel

BUILTIN_DIR = Path(__file__).resolve().parent / "rubrics"
DEFAULT_RUBRIC = "mini_challenge"


class Architecture(StrictModel):
    """The network the submission must implement."""

    layers: list[int] = Field(
        default=[784, 64, 10], min_length=2, description="Layer widths, input first; ReLU between, softmax last."
    )
    class_name: str = Field(default="SimpleNN", description="Expected class name (a unique renamed class is accepted).")

    @field_validator("layers")
    @classmethod
    def _positive(cls, layers: list[int]) -> list[int]:
        if any(width <= 0 for width in layers):
            raise ValueError("every layer width must be positive")
        return layers

    def parameter_shapes(self) -> dict[str, tuple[int, int]]:
        """Expected parameter shapes: W1 (784,64), b1 (1,64), W2 (64,10), b2 (1,10) for the default."""
        shapes: dict[str, tuple[int, int]] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.layers[:-1], self.layers[1:], strict=True), start=1):
            shapes[f"W{i}"] = (fan_in, fan_out)
            shapes[f"b{i}"] = (1, fan_out)
        return shapes


class Limits(StrictModel):
    """Sandbox limits. Command-line flags override them."""

    load_timeout_s: float = Field(default=30, gt=0, le=600, description="Time to import the file and build the model.")
    probe_timeout_s: float = Field(default=60, gt=0, le=600,
                                   description="Time for the forward/gradient/momentum probes.")
    train_timeout_s: float = Field(default=300, gt=0, le=3600, description="Time for train() plus evaluation.")
    memory_mb: int = Field(default=2048, ge=256, description="Memory limit (swap equals it: no swapping).")
    cpus: float = Field(default=1.0, gt=0, description="CPU quota in cores; BLAS threads are matched to it.")
    pids: int = Field(default=64, ge=8, description="Maximum processes/threads in the sandbox.")
    output_kb: int = Field(default=64, ge=4, description="Kilobytes of stdout and of stderr kept per stage: the "
                           "first and last halves; the middle of longer output is dropped, never an error.")
    stall_s: float = Field(default=10, gt=0, le=600, description="A stage with no progress (no forward/backward "
                           "call, no change to the weights) for this long is stopped.")
    file_mb: int = Field(default=64, ge=1, description="Largest file the submission may write (and /tmp size).")

    @property
    def stages_s(self) -> float:
        """The most one grading's stages may take together (load, probes, training)."""
        return self.load_timeout_s + self.probe_timeout_s + self.train_timeout_s


class Starter(StrictModel):
    """The starter's documented hyper-parameters: hints quote them, so advice never contradicts the README."""

    learning_rate: str = Field(default="0.01 to 0.02", description="Learning rate range the starter suggests.")
    batch_size: int = Field(default=64, ge=1, description="Batch size the starter suggests.")
    momentum: float = Field(default=0.9, gt=0, lt=1, description="Momentum the starter suggests.")


if TYPE_CHECKING:
    Check = CheckConfig
else:  # the union of every registered kind's model, told apart by `kind`
    Check = Annotated[Union[tuple(kind.config for kind in KINDS.values())], Field(discriminator="kind")]  # noqa: UP007
C = TypeVar("C", bound=CheckConfig)


class Rubric(StrictModel):
    """A grading rubric: architecture, training budget, limits and the checks with their points."""

    id: str = Field(description="Rubric id, recorded in every report.")
    title: str = Field(description="Assignment title.")
    architecture: Architecture = Field(default_factory=Architecture, description="Network to implement.")
    epochs: int = Field(default=10, ge=1, description="Epochs passed to train() for the graded run.")
    quick_samples: int = Field(default=6000, ge=500, description="Training samples for a --quick preview.")
    quick_epochs: int = Field(default=2, ge=1, description="Epochs for a --quick preview.")
    starter: Starter = Field(default_factory=Starter, description="Hyper-parameters the starter suggests (hints).")
    pass_mark: float = Field(ge=0, description="Points needed to pass.")
    limits: Limits = Field(default_factory=Limits, description="Sandbox limits.")
    checks: list[Check] = Field(min_length=1, description="Checks in the order they are reported.")

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        ids = [check.id for check in self.checks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate check ids: {', '.join(duplicates)}")
        for check in self.checks:
            unknown = [dep for dep in check.depends_on if dep not in ids]
            if unknown:
                raise ValueError(f"check {check.id!r} depends on unknown check(s): {', '.join(unknown)}")
            if ids.index(check.id) < max((ids.index(dep) for dep in check.depends_on), default=-1):
                raise ValueError(f"check {check.id!r} must come after the checks it depends on")
        if self.pass_mark > self.max_score:
            raise ValueError(f"pass_mark {self.pass_mark} is above the total of {self.max_score} points")
        return self

    @property
    def max_score(self) -> float:
        """Sum of all checks' points."""
        return float(sum(check.points for check in self.checks))

    def get(self, config: type[C]) -> C | None:
        """The first check of this kind (its model class), or None when the rubric does not have it."""
        return next((check for check in self.checks if isinstance(check, config)), None)


class LoadedRubric(StrictModel):
    """A rubric together with where it came from and the hash recorded in reports."""

    rubric: Rubric
    path: str = Field(description="File the rubric was read from.")
    sha256: str = Field(description="SHA-256 of the file's bytes.")


def builtin_rubrics() -> dict[str, Path]:
    """Rubrics shipped with nngrader, by id (file stem)."""
    return {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.yaml"))}


def resolve_rubric_path(name_or_path: str | Path | None) -> Path:
    """A rubric file from a path, or from the name of a built-in rubric."""
    if name_or_path is None:
        name_or_path = DEFAULT_RUBRIC
    path = Path(name_or_path)
    if path.is_file():
        return path
    builtin = builtin_rubrics()
    if str(name_or_path) in builtin:
        return builtin[str(name_or_path)]
    known = ", ".join(builtin) or "none"
    raise RubricError(f"rubric {str(name_or_path)!r} not found: give a YAML file path or one of: {known}")


def load_rubric(name_or_path: str | Path | None = None) -> LoadedRubric:
    """Read and validate a rubric file (a path, or a built-in name such as 'mini_challenge')."""
    path = resolve_rubric_path(name_or_path)
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise RubricError(f"{path}: not valid YAML: {exc}") from exc
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise RubricError(f"{path}: invalid rubric: {problems}") from exc
    return LoadedRubric(rubric=rubric, path=str(path), sha256=hashlib.sha256(raw).hexdigest())
