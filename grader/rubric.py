"""The rubric: which checks run, their points, parameters, limits and dependencies.

A rubric is a YAML file validated by these models (`extra="forbid"`, every field described, so the JSON
Schema from `nngrader rubric schema` documents it). Checks take the architecture from the rubric, so a
784-128-64-10 variant needs a new YAML file, not new code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

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
    output_kb: int = Field(default=1024, ge=16, description="Bytes of stdout+stderr kept in the report per stage "
                           "(the rest is cut; printing more than file_mb is an error).")
    file_mb: int = Field(default=64, ge=1, description="Largest file the submission may write (and /tmp size).")


class _CheckBase(StrictModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Unique id, used in reports and depends_on.")
    title: str = Field(description="Shown to students.")
    points: float = Field(ge=0, description="Points for passing.")
    depends_on: list[str] = Field(default_factory=list, description="Checks that must pass first; else skipped.")
    visibility: Literal["visible", "hidden"] = Field(
        default="visible", description="'hidden' checks are shown to instructors only (Gradescope: after_published)."
    )
    required: bool = Field(default=False, description="The submission cannot pass the rubric without this check.")


class FromScratchCheck(_CheckBase):
    """Static (AST) check: only NumPy and the standard library are imported."""

    kind: Literal["from_scratch"] = "from_scratch"
    allowed: list[str] = Field(default=["numpy"], description="Third-party top-level modules allowed.")


class LoadsCheck(_CheckBase):
    """The file imports within the load time limit, the class is found and instantiates."""

    kind: Literal["loads"] = "loads"


class ShapesCheck(_CheckBase):
    """The parameters have the architecture's shapes (biases (n,) accepted with a note)."""

    kind: Literal["shapes"] = "shapes"


class ForwardCheck(_CheckBase):
    """forward() at grader-chosen parameters equals ReLU + softmax computed on the host."""

    kind: Literal["forward"] = "forward"
    batch_size: int = Field(default=32, ge=2, description="Probe batch size.")
    rtol: float = Field(default=1e-4, gt=0, description="Relative tolerance on probabilities.")
    atol: float = Field(default=1e-6, ge=0, description="Absolute tolerance on probabilities.")


class StabilityCheck(_CheckBase):
    """forward() stays finite when logits are in the thousands (softmax needs the max shift)."""

    kind: Literal["stability"] = "stability"
    logit_scale: float = Field(default=2000.0, gt=100, description="Size of the logits in the probe.")


class GradientsCheck(_CheckBase):
    """backward() returns the gradients of the mean cross-entropy, per parameter."""

    kind: Literal["gradients"] = "gradients"
    batch_size: int = Field(default=16, ge=2, description="Probe batch size (not a divisor of layer widths).")
    rtol: float = Field(default=1e-3, gt=0, description="Largest relative error per parameter.")


class MomentumCheck(_CheckBase):
    """Behavioural: during train(), each update carries a share of the previous one."""

    kind: Literal["momentum"] = "momentum"
    samples: int = Field(default=2048, ge=64, description="Training samples for the probe run (epochs=1).")
    steps: int = Field(default=6, ge=3, description="Updates recorded.")
    min_coefficient: float = Field(default=0.2, gt=0, lt=1, description="Smallest share of the previous update.")


class LossDecreaseCheck(_CheckBase):
    """The grader's loss on a fixed training subset falls during train()."""

    kind: Literal["loss_decrease"] = "loss_decrease"
    subset: int = Field(default=2000, ge=100, description="Training samples on which the loss is measured.")
    min_relative_decrease: float = Field(default=0.2, gt=0, lt=1, description="Loss must fall by this fraction.")


class AccuracyCheck(_CheckBase):
    """Accuracy of the trained model on the 10,000 MNIST test images, scored on the host."""

    kind: Literal["accuracy"] = "accuracy"
    threshold: float = Field(default=0.90, gt=0, le=1, description="Accuracy needed (strictly above).")


Check = Annotated[
    FromScratchCheck | LoadsCheck | ShapesCheck | ForwardCheck | StabilityCheck | GradientsCheck
    | MomentumCheck | LossDecreaseCheck | AccuracyCheck,
    Field(discriminator="kind"),
]


class Rubric(StrictModel):
    """A grading rubric: architecture, training budget, limits and the checks with their points."""

    id: str = Field(description="Rubric id, recorded in every report.")
    title: str = Field(description="Assignment title.")
    architecture: Architecture = Field(default_factory=Architecture, description="Network to implement.")
    epochs: int = Field(default=10, ge=1, description="Epochs passed to train() for the graded run.")
    quick_samples: int = Field(default=6000, ge=500, description="Training samples for a --quick preview.")
    quick_epochs: int = Field(default=2, ge=1, description="Epochs for a --quick preview.")
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

    def get(self, kind: str) -> _CheckBase | None:
        """The first check of this kind, or None when the rubric does not have it."""
        return next((check for check in self.checks if check.kind == kind), None)


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
