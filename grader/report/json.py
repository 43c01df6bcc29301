"""--format json: exactly the Report model."""

from grader.models import Report


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2)
