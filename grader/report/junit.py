"""--format junit: JUnit XML for CI test dashboards (GitLab, Jenkins, dorny/test-reporter, ...).

Layout as pytest writes it (and valid against pytest's junit-10.xsd): `<testsuites>` holding one
`<testsuite name="nngrader.<rubric id>">` with `<properties>` and one `<testcase>` per rubric check.

Mapping decisions:

* fail -> `<failure type="<diagnosis or 'fail'>">`; timeout -> `<failure type="timeout">`: the check ran
  and the submission was too slow, a verdict on the submission like any failure.
* error (the sandbox could not run the check: crash, memory, output limit) -> `<error>`.
* skipped (a check it depends on did not pass) -> `<skipped>`.
* The element text is the message plus the hint. No `file` attribute on testcase: junit-10.xsd rejects it.
* `timestamp` is when the report is rendered (UTC) unless given: the Report does not record a start time,
  and tests pass a fixed one so the output is reproducible.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from grader.models import CheckResult, Report, Status
from grader.textsafe import clean

# XML 1.0 cannot carry most control characters (student output may contain \x00 or ANSI \x1b):
# ElementTree would write them and produce a file no parser accepts. `clean` removes escape sequences
# and controls; this removes what is left that XML forbids (lone surrogates, U+FFFE, U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` cleaned (`textsafe.clean`) and without the characters XML 1.0 forbids."""
    return _XML_INVALID.sub("", clean(text))


def _seconds(value: float) -> str:
    # junit-10.xsd's SUREFIRE_TIME allows at most three decimals.
    return f"{value:.3f}"


def _body(check: CheckResult) -> str:
    return xml_safe(f"{check.message}\n\nHint: {check.hint}" if check.hint else check.message)


def _testcase(suite_name: str, check: CheckResult) -> ET.Element:
    case = ET.Element("testcase", classname=suite_name, name=check.id, time=_seconds(check.duration_s))
    message = xml_safe(check.message)
    if check.status is Status.FAIL:
        outcome = ET.SubElement(case, "failure", message=message, type=check.diagnosis or "fail")
    elif check.status is Status.TIMEOUT:
        outcome = ET.SubElement(case, "failure", message=message, type="timeout")
    elif check.status is Status.ERROR:
        outcome = ET.SubElement(case, "error", message=message, type=check.diagnosis or "error")
    elif check.status is Status.SKIPPED:
        outcome = ET.SubElement(case, "skipped", message=message, type="dependency_not_passed")
    else:
        return case
    outcome.text = _body(check)
    return case


def _properties(report: Report) -> ET.Element:
    env = report.environment
    values = {
        "score": f"{report.score:g}", "max_score": f"{report.max_score:g}", "pass_mark": f"{report.pass_mark:g}",
        "passed": str(report.passed).lower(), "seed": str(env.seed), "grader_version": env.grader_version,
        "rubric_id": env.rubric_id, "rubric_sha256": env.rubric_sha256, "submission": report.submission,
        "submission_sha256": env.submission_sha256, "sandbox": env.sandbox, "quick": str(env.quick).lower(),
    }
    if report.student is not None:
        values["student"] = report.student
    properties = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=xml_safe(value))
    return properties


def _count(report: Report, *statuses: Status) -> str:
    return str(sum(check.status in statuses for check in report.checks))


def junit_tree(report: Report, timestamp: datetime) -> ET.Element:
    """The `<testsuites>` element for `report`."""
    name = f"nngrader.{report.environment.rubric_id}"
    counts = {"tests": str(len(report.checks)), "failures": _count(report, Status.FAIL, Status.TIMEOUT),
              "errors": _count(report, Status.ERROR)}
    total = _seconds(report.environment.total_s)
    root = ET.Element("testsuites", {"name": "nngrader", "time": total, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": name, **counts, "skipped": _count(report, Status.SKIPPED),
                                              "time": total, "timestamp": timestamp.isoformat(timespec="seconds")})
    suite.append(_properties(report))
    suite.extend(_testcase(name, check) for check in report.checks)
    for tag, text in (("system-out", report.stdout), ("system-err", report.stderr)):
        if text:
            ET.SubElement(suite, tag).text = xml_safe(text)
    return root


def render_junit(report: Report, *, timestamp: datetime | None = None) -> str:
    """The report as JUnit XML; `timestamp` defaults to now (UTC), see the module doc."""
    when = timestamp if timestamp is not None else datetime.now(timezone.utc)
    root = junit_tree(report, when)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
