"""Host-side checks, one module per responsibility. `CHECKS` maps a rubric check kind to its function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.checks.base import Evidence, Verdict
from grader.checks.forward import check_forward, check_stability
from grader.checks.gradients import check_gradients
from grader.checks.loading import check_loads, check_shapes
from grader.checks.momentum import check_momentum
from grader.checks.static import check_from_scratch
from grader.checks.training import check_accuracy, check_loss_decrease

CHECKS: dict[str, Callable[[Any, Evidence], Verdict]] = {
    "from_scratch": check_from_scratch,
    "loads": check_loads,
    "shapes": check_shapes,
    "forward": check_forward,
    "stability": check_stability,
    "gradients": check_gradients,
    "momentum": check_momentum,
    "loss_decrease": check_loss_decrease,
    "accuracy": check_accuracy,
}

# Which sandbox stage each check needs (from_scratch needs none: it reads the source).
STAGE_OF = {"loads": "load", "shapes": "load", "forward": "probe", "stability": "probe", "gradients": "probe",
            "momentum": "probe", "loss_decrease": "train", "accuracy": "train"}

__all__ = ["CHECKS", "STAGE_OF", "Evidence", "Verdict"]
