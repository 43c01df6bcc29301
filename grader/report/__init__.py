"""Render a Report in the formats people and CI systems read. Each format is one module."""

from __future__ import annotations

from collections.abc import Callable

from grader.models import Report
from grader.report.github_classroom import render_github_classroom
from grader.report.gradescope import render_gradescope
from grader.report.json import render_json
from grader.report.junit import render_junit
from grader.report.text import render_text

Renderer = Callable[[Report], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "github-classroom": render_github_classroom,
    "gradescope": render_gradescope,
    "junit": render_junit,
}


def render(report: Report, fmt: str, *, color: bool = False, width: int | None = None) -> str:
    """The report as text in format `fmt` (one of FORMATS); `color` and `width` apply to "text" only."""
    if fmt == "text":
        return render_text(report, color=color, width=width)
    return FORMATS[fmt](report)
