"""--format json: exactly the Report model, readable back with `Report.model_validate_json`.

A NaN or infinite float (a diverging loss is a common student bug) is written as the string "NaN", "inf"
or "-inf", which the model reads back as the float; pydantic's own JSON output would write null, which
the model then rejects (and strict JSON has no NaN).
"""

from __future__ import annotations

import json
import math
from typing import Any

from grader.models import Report


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def render_json(report: Report) -> str:
    if not any(isinstance(v, float) and not math.isfinite(v) for v in _floats(report)):
        return report.model_dump_json(indent=2)
    return json.dumps(_finite(report.model_dump(mode="python")), indent=2, ensure_ascii=False, allow_nan=False)


def _floats(report: Report) -> list[Any]:
    values: list[Any] = [report.score, report.max_score, *report.losses]
    for check in report.checks:
        values += list(check.details.values())
    return values
