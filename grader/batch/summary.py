"""summary.html: one self-contained page for the instructor (inline CSS and SVG, no JavaScript, no network).

Every string that can come from a student (ids, file names, messages, notes, errors, roster names) goes
through `_e`: textsafe.clean (no escape sequences or control characters) then html.escape. Student code
controls its own exception messages and printed output. Each student links to reports/<student>.json,
the full record beside this page.
"""

from __future__ import annotations

import html
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from grader.batch.records import StudentRecord
from grader.batch.roster import RosterMatch
from grader.models import CheckResult, Report, Status
from grader.rubric import LoadedRubric
from grader.textsafe import clean

_STACK = [("pass", "Passed"), ("fail", "Failed"), ("error", "Error / timeout"), ("skipped", "Skipped")]


def _e(text: object) -> str:
    """Cleaned, HTML-escaped text, quotes included (safe in element content and attribute values)."""
    return html.escape(clean(str(text)), quote=True)


def _n(value: float) -> str:
    return f"{round(value, 2):g}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


# --------------------------------------------------------------------------------------------- charts
def histogram_svg(scores: Sequence[float], max_score: float, pass_mark: float, bins: int = 10) -> str:
    """Score distribution: `bins` equal-width bars over 0..max_score, the pass mark as a dashed line."""
    width, height, left, bottom, top = 520, 300, 36, 34, 22
    plot_w, plot_h = width - left - 12, height - bottom - top
    counts = [0] * bins
    for score in scores:
        index = min(bins - 1, int(bins * score / max_score)) if max_score else 0
        counts[max(0, index)] += 1
    step = max(1, math.ceil(max(counts + [1]) / 4))
    peak = step * math.ceil(max(counts + [1]) / step)  # the axis ends on a tick, above the tallest bar
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Score distribution">']
    for tick in range(0, peak + 1, step):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 8}" y="{y + 4:.1f}" class="axis" text-anchor="end">{tick}</text>')
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        low = max_score * i / bins
        x, h = left + i * bar_w, plot_h * count / peak
        kind = "ok" if low >= pass_mark else "low"
        if count:
            parts.append(f'<rect x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 6:.1f}" height="{h:.1f}" '
                         f'rx="3" class="bar-{kind}"><title>{_n(low)}–{_n(low + max_score / bins)}: {count}'
                         f'</title></rect><text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 5:.1f}" '
                         f'class="count" text-anchor="middle">{count}</text>')
    for i in range(bins + 1):
        x = left + i * bar_w
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" class="axis" text-anchor="middle">'
                     f'{_n(max_score * i / bins)}</text>')
    mark_x = left + plot_w * (pass_mark / max_score if max_score else 0)
    parts.append(f'<line x1="{mark_x:.1f}" x2="{mark_x:.1f}" y1="{top - 4}" y2="{top + plot_h}" class="mark"/>'
                 f'<text x="{mark_x - 5:.1f}" y="{top - 8}" class="mark-label" text-anchor="end">'
                 f'pass mark {_n(pass_mark)}</text>'
                 f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" class="axis" text-anchor="middle">'
                 'score (points)</text></svg>')
    return "".join(parts)


def loss_svg(losses: Sequence[float], width: int = 300, height: int = 96) -> str:
    """The per-epoch loss as a polyline; '' when there is nothing finite to draw."""
    values = [v for v in losses if math.isfinite(v)]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad_x, pad_y = 8, 12
    points = " ".join(
        f"{pad_x + (width - 2 * pad_x) * i / (len(values) - 1):.1f},"
        f"{pad_y + (height - 2 * pad_y) * (1 - (v - low) / span):.1f}" for i, v in enumerate(values))
    last_x, last_y = points.rsplit(" ", 1)[1].split(",")
    return (f'<svg class="loss" viewBox="0 0 {width} {height}" role="img" aria-label="Training loss per epoch">'
            f'<line x1="{pad_x}" x2="{width - pad_x}" y1="{height - pad_y}" y2="{height - pad_y}" class="grid"/>'
            f'<polygon points="{pad_x},{height - pad_y} {points} {last_x},{height - pad_y}" class="loss-area"/>'
            f'<polyline points="{points}" class="loss-line"/>'
            f'<circle cx="{last_x}" cy="{last_y}" r="3" class="loss-dot"/>'
            f'<text x="{pad_x}" y="{pad_y - 2}" class="axis">{_e(f"{high:.3g}")}</text>'
            f'<text x="{width - pad_x}" y="{height - 1}" class="axis" text-anchor="end">'
            f'{_e(f"{values[-1]:.3g}")} after {len(values)} epochs</text></svg>')


def spread_html(scores: Sequence[float]) -> str:
    """Lowest, quartiles and highest score as a row of small figures under the histogram."""
    if not scores:
        return ""
    ordered = sorted(scores)
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else ordered * 3
    figures = [("lowest", ordered[0]), ("lower quartile", quartiles[0]), ("median", quartiles[1]),
               ("upper quartile", quartiles[2]), ("highest", ordered[-1])]
    cells = "".join(f'<div><span class="muted small">{label}</span><b>{_n(value)}</b></div>'
                    for label, value in figures)
    return f'<div class="spread">{cells}</div>'


def _stack_bucket(result: CheckResult) -> str:
    return {"pass": "pass", "fail": "fail", "skipped": "skipped"}.get(result.status.value, "error")


def check_rates_html(reports: Sequence[Report], rubric: LoadedRubric) -> str:
    """One stacked horizontal bar per check: passed / failed / error+timeout / skipped."""
    rows = []
    for check in rubric.rubric.checks:
        buckets: Counter[str] = Counter()
        for report in reports:
            result = next((r for r in report.checks if r.id == check.id), None)
            if result is not None:
                buckets[_stack_bucket(result)] += 1
        total = sum(buckets.values())
        segments = "".join(
            f'<span class="seg seg-{kind}" style="width:{100 * buckets[kind] / total:.2f}%" '
            f'title="{label}: {buckets[kind]}"></span>' for kind, label in _STACK if total and buckets[kind])
        rows.append(f'<div class="rate-row"><div class="rate-label"><span>{_e(check.title)}'
                    f'<span class="muted small"> · {_n(check.points)} pts</span></span>'
                    f'<span class="rate-value">{_pct(buckets["pass"], total)}'
                    f'<span class="muted"> {buckets["pass"]}/{total}</span></span></div>'
                    f'<div class="track">{segments}</div></div>')
    legend = "".join(f'<span><i class="seg-{kind}"></i>{label}</span>' for kind, label in _STACK)
    return f'<div class="rates">{"".join(rows)}</div><div class="legend">{legend}</div>'


# --------------------------------------------------------------------------------------------- sections
_LABEL = {"invalid_submission": "invalid submission", "grader_error": "grader error"}


def _header(records: Sequence[StudentRecord], rubric: LoadedRubric, discovered: int, interrupted: bool,
            common_notes: Sequence[str]) -> str:
    reports = [r.report for r in records if r.report is not None]
    scores = [report.score for report in reports]
    max_score = rubric.rubric.max_score
    passed = sum(report.passed for report in reports)
    invalid = sum(record.status == "invalid_submission" for record in records)
    errors = sum(record.status == "grader_error" for record in records)
    mean = f"{statistics.fmean(scores):.1f}" if scores else "–"
    median = _n(statistics.median(scores)) if scores else "–"
    graded = f"{len(reports)}" + (f'<small> of {discovered}</small>' if discovered != len(reports) else "")
    not_graded = f"{invalid} invalid submission(s) · {errors} grader error(s)" if invalid + errors else "none"
    cards = [("Graded", graded, "students"), ("Mean score", mean, f"of {_n(max_score)}"),
             ("Median score", median, f"of {_n(max_score)}"),
             ("Pass rate", _pct(passed, len(reports)), f"{passed} passed · pass mark {_n(rubric.rubric.pass_mark)}"),
             ("Not graded", str(invalid + errors), not_graded)]
    cards_html = "".join(f'<div class="stat{" stat-warn" if title == "Not graded" and invalid + errors else ""}">'
                         f'<div class="stat-title">{title}</div><div class="stat-value">{value}</div>'
                         f'<div class="stat-sub">{sub}</div></div>' for title, value, sub in cards)
    env = reports[0].environment if reports else None
    meta = [f"rubric <b>{_e(rubric.rubric.id)}</b> <code>{_e(rubric.sha256[:12])}</code>",
            f"generated {datetime.now().strftime('%Y-%m-%d %H:%M')}"]
    if env is not None:
        meta += [f"nngrader {_e(env.grader_version)}", f"sandbox {_e(env.sandbox)}"]
    banners = ""
    if interrupted:
        banners += (f'<div class="banner">Batch interrupted: {len(records)} of {discovered} submissions are '
                    'done. Re-run with <code>--resume</code> to grade the rest.</div>')
    if env is not None and env.quick:
        banners += '<div class="banner">--quick preview: short training on a subset. These are not grades.</div>'
    banners += "".join(f'<div class="banner banner-info">Note on every report: {_e(note)}</div>'
                       for note in common_notes)
    flagged = "; ".join(f'<a href="#{_anchor(r.student)}">{_e(r.student)}</a>: {_e(" / ".join(r.submission.flags))}'
                        for r in records if r.submission.flags)
    if flagged:
        banners += f'<div class="banner">Check these entries: {flagged}</div>'

    return (f'<header><div class="eyebrow">nngrader · class summary</div><h1>{_e(rubric.rubric.title)}</h1>'
            f'<div class="meta">{" · ".join(meta)}</div></header>{banners}'
            f'<section class="stats">{cards_html}</section>')


def _diagnoses(reports: Sequence[Report]) -> str:
    """The most frequent machine diagnoses across the class: students (not checks) per diagnosis, with the hint
    they were shown (the most common one: hints are generated from the rubric)."""
    counts: Counter[str] = Counter()
    where: dict[str, set[str]] = defaultdict(set)
    hints: dict[str, Counter[str]] = defaultdict(Counter)
    for report in reports:
        failing = [r for r in report.checks if r.status is not Status.PASS and r.diagnosis]
        for diagnosis in {r.diagnosis for r in failing if r.diagnosis}:
            counts[diagnosis] += 1  # once per student, however many of its checks share the diagnosis
        for result in failing:
            where[result.diagnosis or ""].add(result.title)
            if result.hint:
                hints[result.diagnosis or ""][result.hint] += 1
    if not counts:
        what = "every graded check passed" if reports else "no submission was graded"
        return f'<p class="muted">No diagnoses: {what}.</p>'
    rows = "".join(
        f'<tr><td><code>{_e(diagnosis)}</code><div class="muted small">{_e(", ".join(sorted(where[diagnosis])))}'
        f'</div></td><td class="num">{count}</td><td class="num">{_pct(count, len(reports))}</td>'
        f'<td><div class="mini-track"><span style="width:{100 * count / len(reports):.1f}%"></span></div></td>'
        f'<td class="hint">{_e(hints[diagnosis].most_common(1)[0][0] if hints[diagnosis] else "")}</td></tr>'
        for diagnosis, count in counts.most_common(12))
    return ('<table class="table diag"><thead><tr><th>Diagnosis</th><th class="num">Students</th>'
            f'<th class="num">%</th><th></th><th>Hint shown to students</th></tr></thead><tbody>{rows}</tbody></table>')


def _pill(status: str) -> str:
    slug = status.replace(" ", "-")
    return f'<span class="pill pill-{_e(slug)}">{_e(status)}</span>'


def _score_bar(report: Report) -> str:
    share = 100 * report.score / report.max_score if report.max_score else 0
    kind = "ok" if report.passed else "low"
    return f'<div class="score-track"><span class="bar-{kind}" style="width:{share:.1f}%"></span></div>'


def _anchor(student: str) -> str:
    """The id of a student's section (student ids are [A-Za-z0-9._@+-]: valid in an id once prefixed)."""
    return "s-" + quote(student, safe="")


def report_link(student: str) -> str:
    """The relative link to a student's JSON record, beside summary.html."""
    return f'<a class="json" href="reports/{_e(quote(student, safe=""))}.json">JSON</a>'


def _who(record: StudentRecord, roster: RosterMatch | None) -> str:
    """The student cell: id linking to its section, the roster name under it."""
    cell = f'<a href="#{_anchor(record.student)}">{_e(record.student)}</a>'
    person = roster.by_student.get(record.student) if roster is not None else None
    if person is not None:
        cell += f'<div class="muted small">{_e(person.name)}</div>'
    elif roster is not None:
        cell += '<div class="muted small">not on the roster</div>'
    return cell


def _overview(records: Sequence[StudentRecord], roster: RosterMatch | None) -> str:
    """One line per student, linking to the student's section and JSON record."""
    rows = []
    for record in records:
        report = record.report
        start = f'<tr><td>{_who(record, roster)}</td>'
        end = f'<td class="muted">{_e(record.submission.origin)}</td>'
        if report is None:
            rows.append(f'{start}<td colspan="2">{_pill(_LABEL.get(record.status, record.status))}</td>{end}'
                        f'<td class="msg">{_e(record.error or "")}</td><td>{report_link(record.student)}</td></tr>')
            continue
        failing = [r.title for r in report.checks if r.status is not Status.PASS and r.status is not Status.SKIPPED]
        verdict = _pill("passed" if report.passed else "not passed")
        rows.append(f'{start}<td class="score-cell"><b>{_n(report.score)}</b><span class="muted">'
                    f'/{_n(report.max_score)}</span>{_score_bar(report)}</td><td>{verdict}</td>{end}'
                    f'<td class="msg">{_e(", ".join(failing)) or "<span class=muted>—</span>"}</td>'
                    f'<td>{report_link(record.student)}</td></tr>')
    return ('<table class="table overview"><thead><tr><th>Student</th><th>Score</th><th>Result</th><th>Layout</th>'
            f'<th>Checks not passed</th><th>Report</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _roster_section(roster: RosterMatch | None) -> str:
    """Submissions the roster does not name, and roster rows without a submission."""
    if roster is None:
        return ""
    parts = [f'<p class="muted">{_e(roster.roster.path.name)} ({roster.roster.kind}): {len(roster.by_student)} of '
             f'{len(roster.roster.rows)} roster rows matched a submission.</p>']
    for title, names in (("Submissions not on the roster", roster.unmatched_submissions),
                         ("Roster rows without a submission", [row.label() for row in roster.unmatched_rows])):
        items = "".join(f"<li>{_e(name)}</li>" for name in names) or '<li class="muted">none</li>'
        parts.append(f'<h3 class="small-title">{title} <span class="muted">({len(names)})</span></h3>'
                     f'<ul class="notes">{items}</ul>')
    return f'<section class="card"><h2>Roster</h2>{"".join(parts)}</section>'


def _checks_table(report: Report) -> str:
    rows = "".join(
        f'<tr class="row-{_e(r.status.value)}"><td>{_e(r.title)}</td><td>{_pill(r.status.value)}</td>'
        f'<td class="num">{_n(r.points)}/{_n(r.max_points)}</td><td class="msg">{_e(r.message)}</td></tr>'
        for r in report.checks)
    return ('<table class="table checks"><thead><tr><th>Check</th><th>Result</th><th class="num">Points</th>'
            f'<th>Details</th></tr></thead><tbody>{rows}</tbody></table>')


def shared_notes(records: Sequence[StudentRecord]) -> list[str]:
    """Report notes every graded student has (e.g. the sandbox warning): shown once, in the header."""
    per_report = [{note.message for note in r.report.notes} for r in records if r.report is not None]
    if len(per_report) < 2:
        return []
    return sorted(set.intersection(*per_report))


def _notes_list(notes: Sequence[str], flags: Sequence[str] = ()) -> str:
    items = [f'<li class="flag">{_e(flag)}</li>' for flag in flags] + [f"<li>{_e(note)}</li>" for note in notes]
    return f'<ul class="notes">{"".join(items)}</ul>' if items else ""


def _student_summary(record: StudentRecord) -> str:
    """The always-visible line of a student's section: name, where it came from, score."""
    report = record.report
    who = (f'<div><h3>{_e(record.student)}</h3><span class="muted small where">{_e(record.submission.origin)} · '
           f'{_e(record.submission.source.name)} · {report_link(record.student)}</span></div>')
    if report is None:
        return f'<summary class="student-head">{who}{_pill(_LABEL.get(record.status, record.status))}</summary>'
    verdict = "passed" if report.passed else "not passed"
    return (f'<summary class="student-head">{who}<div class="student-score"><span class="big">{_n(report.score)}'
            f'</span><span class="muted">/{_n(report.max_score)}</span>{_pill(verdict)}</div></summary>')


def _student(record: StudentRecord, hidden_notes: set[str]) -> str:
    """A student's section (a <details>, open when the student needs attention): notes, checks, hints, loss."""
    report = record.report
    notes = list(record.submission.notes) + [n.message for n in (report.notes if report else [])
                                             if n.message not in hidden_notes]
    is_open = " open" if report is None or not report.passed or record.submission.flags else ""
    start = f'<details class="card student" id="{_anchor(record.student)}"{is_open}>{_student_summary(record)}'
    listed = _notes_list(notes, record.submission.flags)
    if report is None:
        return f'{start}<div class="error-box">{_e(record.error or "")}</div>{listed}</details>'
    hints = "".join(f'<li><b>{_e(r.title)}:</b> {_e(r.hint)}</li>' for r in report.checks
                    if r.status is not Status.PASS and r.hint)
    hints_html = f'<div class="hints"><div class="side-title">How to fix</div><ul>{hints}</ul></div>' if hints else ""
    curve = loss_svg(report.losses)
    side = f'<div class="side"><div class="side-title">Training loss</div>{curve}</div>' if curve else ""
    return (f'{start}{listed}<div class="student-body"><div class="main">{_checks_table(report)}'
            f'{hints_html}</div>{side}</div></details>')


def render_summary(records: Sequence[StudentRecord], rubric: LoadedRubric, *, interrupted: bool = False,
                   discovered: int | None = None, roster: RosterMatch | None = None) -> str:
    """The whole summary page as one HTML string."""
    reports = [record.report for record in records if record.report is not None]
    scores = [report.score for report in reports]
    unfinished = [record for record in records if record.report is None]
    common = shared_notes(records)
    body = [_header(records, rubric, discovered if discovered is not None else len(records), interrupted, common),
            '<div class="grid2"><section class="card"><h2>Score distribution</h2>',
            histogram_svg(scores, rubric.rubric.max_score, rubric.rubric.pass_mark), spread_html(scores),
            '</section><section class="card"><h2>Checks</h2>', check_rates_html(reports, rubric), "</section></div>",
            '<section class="card"><h2>Most common problems <span class="muted small">students per diagnosis'
            '</span></h2>', _diagnoses(reports), "</section>", _roster_section(roster),
            f'<section class="card"><h2>Students <span class="muted">({len(records)})</span></h2>',
            _overview(records, roster), "</section>"]
    if unfinished:
        body.append(f'<p class="muted small">{len(unfinished)} submission(s) could not be graded (see each '
                    'section): they have no score in grades.csv.</p>')
    body += ['<h2 class="section-title">Students in detail <span class="muted small">passed ones are folded: '
             'click to open</span></h2>']
    body += [_student(record, set(common)) for record in records]
    title = _e(f"{rubric.rubric.title} · class summary")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f'<style>{CSS}</style></head><body><main>{"".join(body)}'
            '<footer>Generated by nngrader. Scores are computed on the host from sandboxed runs. Each student\'s '
            'full record is reports/&lt;student&gt;.json beside this page.</footer>'
            '</main></body></html>\n')


CSS = """
:root{--ink:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--ok:#1a7f37;--ok-bg:#dafbe1;
--bad:#cf222e;--bad-bg:#ffebe9;--err:#bc4c00;--err-bg:#fff1e5;--time:#8250df;--time-bg:#fbefff;--skip:#6e7781;
--skip-bg:#eaeef2;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",
"Noto Sans",Helvetica,Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:28px 24px 48px}
header{margin-bottom:18px}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:11px;font-weight:600;color:var(--accent)}
h1{font-size:26px;margin:2px 0 4px}
h2{font-size:16px;margin:0 0 14px}
h3{font-size:17px;margin:0}
.meta,.muted{color:var(--muted)}
.small{font-size:12px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eff2f5;padding:1px 5px;
border-radius:4px}
.banner{background:#fff8c5;border:1px solid #d4a72c66;border-radius:8px;padding:10px 14px;margin:0 0 14px}
.stats{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-bottom:16px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.stat-warn{border-color:#fd8c73;background:#fff5f3}
.stat-title{font-size:12px;color:var(--muted);font-weight:600}
.stat-value{font-size:28px;font-weight:650;line-height:1.2;margin-top:4px}
.stat-value small{font-size:14px;color:var(--muted);font-weight:500}
.stat-sub{font-size:12px;color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:16px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.grid2 .card{margin-bottom:16px}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .axis{fill:var(--muted);font-size:11px}
svg .count{fill:var(--ink);font-size:11px;font-weight:600}
svg .mark{stroke:var(--ink);stroke-dasharray:4 3;stroke-width:1.2}
svg .mark-label{fill:var(--ink);font-size:11px}
svg .bar-ok,.bar-ok{fill:#2da44e;background:#2da44e}
svg .bar-low,.bar-low{fill:#e5534b;background:#e5534b}
.rate-row{padding:3px 0 7px}
.rate-label{display:flex;justify-content:space-between;gap:8px;font-size:13px;margin-bottom:3px}
.rate-value{text-align:right;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.track{height:10px}
.track{display:flex;height:12px;border-radius:6px;overflow:hidden;background:var(--skip-bg)}
.seg{display:block;height:100%}
.seg-pass{background:#2da44e}.seg-fail{background:#e5534b}.seg-error{background:#e1900b}.seg-skipped{background:#afb8c1}
.spread{display:grid;grid-template-columns:repeat(5,1fr);gap:8px;margin-top:14px;border-top:1px solid #eaeef2;
padding-top:12px}
.spread div{display:flex;flex-direction:column;align-items:center}
.spread b{font-size:18px;font-variant-numeric:tabular-nums}
.legend{display:flex;gap:14px;margin-top:10px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.table{width:100%;border-collapse:collapse}
.table th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);
padding:6px 8px}
.table td{border-bottom:1px solid #eaeef2;padding:7px 8px;vertical-align:top}
.table tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.hint{color:#424a53;font-size:13px}
.msg{font-size:13px;color:#424a53;overflow-wrap:anywhere}
.mini-track,.score-track{width:90px;height:8px;background:var(--skip-bg);border-radius:4px;overflow:hidden}
.mini-track{margin-top:7px}
.mini-track span{display:block;height:100%;background:var(--accent)}
.score-track{display:inline-block;width:110px;margin-left:10px;vertical-align:middle}
.score-track span{display:block;height:100%}
.score-cell{white-space:nowrap}
.score-cell b{display:inline-block;min-width:26px;text-align:right}
.overview a{color:var(--accent);text-decoration:none;font-weight:600}
.pill{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;
background:var(--skip-bg);color:var(--skip)}
.pill-pass,.pill-passed{background:var(--ok-bg);color:var(--ok)}
.pill-fail,.pill-not-passed{background:var(--bad-bg);color:var(--bad)}
.pill-error,.pill-grader-error,.pill-invalid-submission{background:var(--err-bg);color:var(--err)}
.pill-timeout{background:var(--time-bg);color:var(--time)}
.student-head{display:flex;justify-content:space-between;align-items:center;gap:12px;cursor:pointer;
list-style:none}
.student-head::-webkit-details-marker{display:none}
.student-head h3{display:inline-flex;align-items:center}
.student-head h3::before{content:"";width:6px;height:6px;border-right:2px solid var(--muted);
border-bottom:2px solid var(--muted);transform:rotate(-45deg);margin:0 12px 0 2px}
details[open] > .student-head{margin-bottom:10px}
details[open] > .student-head h3::before{transform:rotate(45deg)}
.student-head .where{margin-left:10px}
.student.card{padding:14px 20px;margin-bottom:10px}
.section-title{margin:26px 0 12px}
.banner-info{background:#ddf4ff;border-color:#54aeff66}
.student-score{display:flex;align-items:baseline;gap:6px}
.student-score .big{font-size:26px;font-weight:650}
.student-score .pill{margin-left:8px}
.student-body{display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:20px}
.student-body .main:only-child{grid-column:1/-1}
.checks td:first-child{white-space:nowrap}
.row-fail td:first-child,.row-error td:first-child,.row-timeout td:first-child{box-shadow:inset 3px 0 var(--bad)}
.notes li.flag{color:var(--err);font-weight:600}
a.json{font-size:12px;color:var(--accent)}
.small-title{font-size:13px;margin:12px 0 6px}
.notes{margin:0 0 10px;padding:8px 12px 8px 28px;background:#f6f8fa;border-radius:8px;color:var(--muted);font-size:12px}
.hints{margin-top:12px;background:#fff8f0;border:1px solid #ffd8b5;border-radius:8px;padding:10px 14px}
.hints ul{margin:4px 0 0;padding-left:18px}.hints li{margin:3px 0;font-size:13px}
.side-title{font-size:12px;font-weight:600;color:var(--muted);margin-bottom:4px}
svg.loss{width:100%;height:auto;background:#fbfcfd;border:1px solid #eaeef2;border-radius:8px}
svg .loss-line{fill:none;stroke:var(--accent);stroke-width:2;stroke-linejoin:round}
svg .loss-dot{fill:var(--accent)}
svg .loss-area{fill:var(--accent);fill-opacity:.08}
.error-box{background:var(--err-bg);color:#7a2e00;border-radius:8px;padding:10px 14px;font-size:13px;
overflow-wrap:anywhere}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
@media (max-width:900px){.stats{grid-template-columns:repeat(2,1fr)}.grid2,.student-body{grid-template-columns:1fr}}
"""
