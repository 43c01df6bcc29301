"""Every check kind nngrader knows, each declared once in its own module (see CheckKind).

The rubric's check models, the harness records each kind reads, the probe inputs and the hint table
are all derived from KINDS; tests/test_registry.py proves the pieces agree.
"""

from __future__ import annotations

from grader.checks import forward, gradients, loading, momentum, static, training
from grader.checks.base import CheckKind
from grader.checks.hints import COMMON

KINDS: dict[str, CheckKind] = {kind.kind: kind for kind in (
    static.KIND, loading.LOADS, loading.SHAPES, forward.FORWARD, forward.STABILITY, gradients.KIND,
    momentum.KIND, training.TRAINED, training.LOSS_DECREASE, training.ACCURACY,
)}


def hint_template(kind: str, diagnosis: str) -> str:
    """The hint template for a diagnosis a check of `kind` gave ('' when there is none)."""
    return KINDS[kind].diagnoses.get(diagnosis) or COMMON.get(diagnosis, "")
