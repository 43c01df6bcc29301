"""Render a Report in the formats people and CI systems read. Each format is one module."""

from __future__ import annotations

from collections.abc import Callable

from grader.models import Report
from grader.report.json import render_json
from grader.report.text import render_text

Renderer = Callable[[Report], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
}


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """The report as text in format `fmt` (one of FORMATS)."""
    if fmt == "text":
        return render_text(report, color=color)
    return FORMATS[fmt](report)
