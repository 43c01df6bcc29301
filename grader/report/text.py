"""--format text: a readable table for a student's terminal, with what to fix and the loss curve.

Layout decisions:

* The report fits the terminal: `width` (80, 100, 120, ... columns; the CLI passes the terminal's) and
  every table row is exactly one line. Details too long for their column end in an ellipsis; the full
  message of every check that did not pass is repeated, wrapped, under "What to fix" with its hint.
* Every piece of text that comes from the submission (messages quoting exceptions, hints quoting code,
  notes, the file name) goes through `textsafe.clean` and into a rich `Text`, never a markup string: a
  student's `[/]` or `[bold green]` is shown as typed, and escape sequences are removed.
* NaN and inf losses are drawn as '×' in the sparkline and printed as 'nan' / 'inf'.
"""

from __future__ import annotations

import io
import math

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.models import CheckResult, Report, Status
from grader.report.numbers import number
from grader.textsafe import clean

DEFAULT_WIDTH = 100
MIN_WIDTH = 60
STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red", Status.TIMEOUT: "yellow",
         Status.SKIPPED: "dim"}
MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.ERROR: "ERROR", Status.TIMEOUT: "TIMEOUT",
        Status.SKIPPED: "SKIP"}
BARS = " ▁▂▃▄▅▆▇█"
NOT_FINITE = "×"
_TABLE_CHROME = 13  # 4 columns: 5 vertical rules + 2 spaces of padding each


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line terminal plot of the loss curve; non-finite values are drawn as '×'."""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return NOT_FINITE * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    top = len(BARS) - 2
    bars = []
    for v in values:
        if not math.isfinite(v):
            bars.append(NOT_FINITE)
            continue
        ratio = (v - low) / span if span > 0 and math.isfinite(span) else 0.0
        bars.append(BARS[1 + min(top, max(0, int(ratio * top)))] if math.isfinite(ratio) else BARS[1])
    return "".join(bars)


def _safe(text: str) -> Text:
    """Student-controlled text, on one line, as plain (never markup) text."""
    return Text(clean(text, newlines=False))


def _table(report: Report, width: int) -> Table:
    points = [f"{check.points:g}/{check.max_points:g}" for check in report.checks]
    points_w = max([len("Points"), *map(len, points)])
    result_w = max(len(mark) for mark in MARK.values())
    free = width - _TABLE_CHROME - points_w - result_w
    titles = [len(clean(check.title, newlines=False)) for check in report.checks]
    title_w = max(len("Check"), min(max(titles, default=0), free * 9 // 20))
    table = Table(show_header=True, header_style="bold", box=box.SQUARE, width=width)
    table.add_column("Check", width=title_w, no_wrap=True, overflow="ellipsis")
    table.add_column("Result", width=result_w, no_wrap=True)
    table.add_column("Points", width=points_w, justify="right", no_wrap=True)
    table.add_column("Details", width=free - title_w, no_wrap=True, overflow="ellipsis")
    for check, score in zip(report.checks, points, strict=True):
        table.add_row(_safe(check.title), Text(MARK[check.status], style=STYLE[check.status]), Text(score),
                      _safe(check.message))
    return table


def _to_fix(check: CheckResult) -> Text:
    text = Text.assemble((clean(check.title, newlines=False), "bold"), " ",
                         (MARK[check.status], STYLE[check.status]))
    if check.message:
        text.append("\n" + clean(check.message).strip())
    if check.hint:
        text.append("\nHint: ", style="bold")
        text.append(clean(check.hint).strip())
    return text


def _feedback(report: Report) -> list[Text]:
    """What to fix: every check that did not pass for its own reason (skipped ones point at another)."""
    return [_to_fix(check) for check in report.checks if check.status not in (Status.PASS, Status.SKIPPED)]


def _losses(report: Report) -> Text:
    losses = report.losses
    return Text(f"loss per epoch: {sparkline(losses)}  {number(losses[0])} -> {number(losses[-1])}")


def render_text(report: Report, *, color: bool = False, width: int | None = None) -> str:
    """The report as a table plus what to fix, `width` columns wide (default 100); ANSI colours when `color`."""
    width = max(MIN_WIDTH, width or DEFAULT_WIDTH)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False,
                      emoji=False, markup=False, soft_wrap=False)
    env = report.environment
    header = Text(f"nngrader {env.grader_version} | {clean(report.submission, newlines=False)} | "
                  f"rubric {env.rubric_id} | sandbox {env.sandbox}", style="bold", no_wrap=True, overflow="ellipsis")
    console.print(header, no_wrap=True, overflow="ellipsis")
    if env.quick:
        console.print(Text("PREVIEW (--quick): short training on a subset. This is not a grade.", style="bold yellow"))
    for note in report.notes:
        console.print(Text.assemble(("note: ", "yellow"), clean(note.message).strip()))
    console.print(_table(report, width))
    feedback = _feedback(report)
    if feedback:
        items: list[Text] = []
        for entry in feedback:
            items += [entry, Text("")] if entry is not feedback[-1] else [entry]
        console.print(Panel(Group(*items), title="What to fix", title_align="left", border_style="red",
                            box=box.ROUNDED))
    if report.losses:
        console.print(_losses(report), no_wrap=True, overflow="ellipsis")
    verdict = "PASSED" if report.passed else "NOT PASSED"
    if env.quick:
        verdict = f"(preview: would have {verdict.lower()})"
    style = "bold green" if report.passed else "bold red"
    console.print(Text(f"Score: {report.score:g}/{report.max_score:g} (pass mark {report.pass_mark:g}) {verdict}"
                       f"  [{env.total_s:.1f} s, seed {env.seed}]", style=style))
    return buffer.getvalue()
