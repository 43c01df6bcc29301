"""--format text: a readable table for a student's terminal, with each failure's hint and the loss curve."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.models import Report, Status

STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red", Status.TIMEOUT: "yellow",
         Status.SKIPPED: "dim"}
MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.ERROR: "ERROR", Status.TIMEOUT: "TIMEOUT",
        Status.SKIPPED: "SKIP"}
BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line terminal plot of the loss curve."""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BARS[1 + int((v - low) / span * (len(BARS) - 2))] for v in values)


def _table(report: Report) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("Points", justify="right")
    table.add_column("Details")
    for check in report.checks:
        table.add_row(check.title, Text(MARK[check.status], style=STYLE[check.status]),
                      f"{check.points:g}/{check.max_points:g}", check.message)
    return table


def _feedback(report: Report) -> list[Text]:
    lines = []
    for check in report.checks:
        if check.status in (Status.PASS, Status.SKIPPED) or not check.hint:
            continue
        lines.append(Text.assemble((f"{check.title}: ", "bold"), (check.hint, "")))
    return lines


def render_text(report: Report, *, color: bool = False) -> str:
    """The report as a table plus hints; ANSI colours when `color`."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=110, highlight=False)
    env = report.environment
    header = f"nngrader {env.grader_version} | {report.submission} | rubric {env.rubric_id} | sandbox {env.sandbox}"
    console.print(header, style="bold")
    if env.quick:
        console.print("PREVIEW (--quick): short training on a subset. This is not a grade.", style="bold yellow")
    for note in report.notes:
        console.print(f"note: {note.message}", style="yellow")
    console.print(_table(report))
    feedback = _feedback(report)
    if feedback:
        console.print(Panel(Group(*feedback), title="What to fix", title_align="left", border_style="red"))
    if report.losses:
        curve = sparkline(report.losses)
        console.print(f"loss per epoch: {curve}  {report.losses[0]:.3f} -> {report.losses[-1]:.3f}")
    verdict = "PASSED" if report.passed else "NOT PASSED"
    if env.quick:
        verdict = f"(preview: would have {verdict.lower()})"
    style = "bold green" if report.passed else "bold red"
    console.print(f"Score: {report.score:g}/{report.max_score:g} (pass mark {report.pass_mark:g}) {verdict}"
                  f"  [{env.total_s:.1f} s, seed {env.seed}]", style=style)
    return buffer.getvalue()
