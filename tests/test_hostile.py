"""The adversarial corpus: grade every hostile submission of tests/hostile/corpus.yaml in real Docker containers.

Each case is the reference (or the starter) plus its attack, built into a complete file in tmp_path; its
description says what it attempts and its `expect` what the grade must be. Besides the expected statuses,
every case asserts that grading returns a Report (never raises, never hangs), that the score stays within
the case's `max_score`, and that nothing is left on the host: no container of this test process, no work
folder, no process carrying the case's marker, and no change to the host files a submission might aim
symlinks at.

Needs a Docker engine, the grading image and MNIST: skipped when missing, a failure when CI=true.
Limits are shortened (load 15 s, probe 20 s, train 30 s) so the whole file runs in a few minutes.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.data import default_cache_dir
from grader.models import Report, Status
from grader.rubric import LoadedRubric, load_rubric
from tests.conftest import find_mnist, unavailable
from tests.corpus import Corpus

pytestmark = [pytest.mark.docker, pytest.mark.mnist]

HOSTILE = Path(__file__).resolve().parent / "hostile"
CORPUS = Corpus(HOSTILE / "corpus.yaml")
EXPECTED: dict[str, dict[str, Any]] = {name: CORPUS.expect(name) for name in CORPUS.names}
CASES = sorted(EXPECTED)

SEED = 1234

LOAD_TIMEOUT_S, PROBE_TIMEOUT_S, TRAIN_TIMEOUT_S = 15.0, 20.0, 30.0
HANG_BUDGET_S = LOAD_TIMEOUT_S + PROBE_TIMEOUT_S + TRAIN_TIMEOUT_S + 90.0  # limits + container overhead
SECRET_ENV = "NNGRADER_HOSTILE_SECRET"
CANARY = Path("/tmp/hostile-canary-nngrader.txt")  # results_symlink points a link at it
WATCHED_FILES = (Path("/etc/passwd"), Path("/etc/hostname"), CANARY)
STATUSES = {status.value for status in Status}
STAGE_STATUSES = {"ok", "timeout", "memory", "output_limit", "crashed", "exited_early", "stopped"}
KEYS = {"max_score", "passed", "checks", "diagnosis", "message", "stages", "stdout_require", "stdout_forbid",
        "stderr_require", "stdout_number_max", "marker"}


def short_rubric() -> LoadedRubric:
    """mini_challenge with short load/probe limits (train's comes from grade_submission's timeout_s)."""
    loaded = load_rubric()
    limits = loaded.rubric.limits.model_copy(update={"load_timeout_s": LOAD_TIMEOUT_S,
                                                     "probe_timeout_s": PROBE_TIMEOUT_S})
    return loaded.model_copy(update={"rubric": loaded.rubric.model_copy(update={"limits": limits})})


def fingerprint(path: Path) -> tuple[Any, ...] | None:
    """Content hash, mode, owner, size and mtime of a host file (None when it does not exist)."""
    try:
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    except OSError:
        return None
    return digest, info.st_mode, info.st_uid, info.st_gid, info.st_size, info.st_mtime_ns


def processes_with(marker: str) -> list[str]:
    """'pid: cmdline' of every host process whose command line contains `marker`."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{entry.name}: {shown}")
    return found


class Host:
    """What the module shares: the Docker client, the data, the rubric and a private temp folder."""

    def __init__(self, client: Any, owner: str, data_dir: Path, rubric: LoadedRubric, workdirs: Path) -> None:
        self.client, self.owner, self.data_dir, self.rubric, self.workdirs = client, owner, data_dir, rubric, workdirs

    def containers(self) -> list[str]:
        """Containers (any state) that this test process's graders created and left."""
        listed = self.client.containers.list(  # ignore_removed: other graders may remove theirs meanwhile
            all=True, filters={"label": ["nngrader=1", f"nngrader.owner={self.owner}"]}, ignore_removed=True)
        return [f"{c.short_id} {c.status} {c.labels.get('nngrader.stage')}" for c in listed]

    def leftover_workdirs(self) -> list[str]:
        return sorted(p.name for p in self.workdirs.iterdir() if p.name.startswith("nngrader-"))


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp_path_factory.getbasetemp()  # pytest's own temp folders stay outside the private tempdir below
    data_dir = find_mnist()
    try:
        from grader.sandbox.docker import DockerSandbox, owner_label

        sandbox = DockerSandbox()  # pings the engine, finds the image, sweeps dead graders' leftovers
    except Exception as exc:  # noqa: BLE001 - whatever keeps Docker from running, the verdict is the same
        unavailable(f"Docker sandbox unavailable: {exc}")
    # Grading work folders go to a private folder so that other graders running on this machine
    # cannot make the leftover check flaky: anything named nngrader-* in it after a case is a leak.
    workdirs = Path(tempfile.mkdtemp(prefix="hostile-workdirs-"))
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(workdirs)
    made_canary = not CANARY.exists()
    if made_canary:
        CANARY.write_text(f"canary {secrets.token_hex(8)}\n")
        CANARY.chmod(0o644)
    try:
        yield Host(sandbox.client, owner_label(), data_dir, short_rubric(), workdirs)
    finally:
        tempfile.tempdir = saved_tempdir
        shutil.rmtree(workdirs, ignore_errors=True)
        if made_canary:
            CANARY.unlink(missing_ok=True)


def grade_bounded(path: Path, host: Host) -> Report:
    """grade_submission in a daemon thread: a hang fails the test instead of hanging the run."""
    from grader.api import grade_submission

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = grade_submission(path, rubric=host.rubric, sandbox="docker",
                                                 data_dir=host.data_dir, seed=SEED, timeout_s=TRAIN_TIMEOUT_S)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"grade-{path.stem}", daemon=True)
    thread.start()
    thread.join(HANG_BUDGET_S)
    if thread.is_alive():
        pytest.fail(f"grading {path.name} hung: no Report after {HANG_BUDGET_S:.0f} s")
    if "error" in outcome:
        exc = outcome["error"]
        pytest.fail(f"grading {path.name} raised {type(exc).__name__}: {exc}")
    report = outcome["report"]
    assert isinstance(report, Report)
    return report


def summary(report: Report) -> str:
    """The report in a few lines, for assertion messages."""
    lines = [f"score {report.score}/{report.max_score} passed={report.passed} stages="
             + ", ".join(f"{s.stage}:{s.status}" for s in report.environment.stages)]
    lines += [f"  {c.id:14} {c.status.value:8} {c.diagnosis} | {c.message[:160]}" for c in report.checks]
    lines.append(f"  stdout[:300]={report.stdout[:300]!r}")
    lines.append(f"  stderr[-300:]={report.stderr[-300:]!r}")
    return "\n".join(lines)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def placeholders(data_dir: Path) -> dict[str, str]:
    """Values of the ${...} placeholders in attacks: the host paths an attack may aim at."""
    return {"host_data_dir": str(data_dir), "host_cache_dir": str(default_cache_dir())}


@pytest.mark.parametrize("case", CASES)
def test_every_case_builds(case: str, tmp_path: Path) -> None:
    """Each attack applies to its base (Corpus raises otherwise), and the file compiles unless that is the attack."""
    built = CORPUS.write(case, tmp_path, placeholders(tmp_path))
    source = built.read_text()
    assert "${" not in source
    if EXPECTED[case].get("diagnosis", {}).get("loads") != "syntax_error":
        compile(source, str(built), "exec")


def test_corpus_is_described() -> None:
    """Every hostile case says what it attempts and has an expected outcome for every check."""
    assert len(CASES) >= 33
    assert not list(HOSTILE.glob("*.py")), "cases live in corpus.yaml, built into tmp_path when graded"
    check_ids = [check.id for check in load_rubric().rubric.checks]
    for stem in CASES:
        assert len(CORPUS.cases[stem]["description"].strip()) > 40, f"{stem}: describe what it attempts"
        expected = EXPECTED[stem]
        assert set(expected) <= KEYS, f"{stem}: unknown keys {set(expected) - KEYS}"
        assert set(expected["checks"]) == set(check_ids), f"{stem}: give the status of every check"
        for check_id, status in expected["checks"].items():
            assert set(as_list(status)) <= STATUSES, f"{stem}.{check_id}: unknown status {status}"
        for stage, allowed in expected.get("stages", {}).items():
            assert set(as_list(allowed)) <= STAGE_STATUSES | {None}, f"{stem}: stage {stage}: {allowed}"
        assert 0 <= expected["max_score"] <= 100, stem


@pytest.mark.parametrize("case", CASES)
def test_hostile_submission(case: str, host: Host, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    expected = EXPECTED[case]
    submission = CORPUS.write(case, tmp_path, placeholders(host.data_dir))
    secret = f"hostile-secret-{secrets.token_hex(12)}"
    monkeypatch.setenv(SECRET_ENV, secret)
    marker = expected.get("marker")
    files_before = {path: fingerprint(path) for path in WATCHED_FILES}
    assert not host.containers(), "containers left over from an earlier case"

    started = time.monotonic()
    report = grade_bounded(submission, host)
    elapsed = time.monotonic() - started
    info = summary(report)

    # --- nothing left behind on the host ---------------------------------------------------------
    assert host.containers() == [], f"containers left after grading {case}:\n{info}"
    assert host.leftover_workdirs() == [], f"work folders left after grading {case}"
    if marker:
        deadline = time.monotonic() + 2.0  # the kernel may take a moment to reap a killed namespace
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(marker) == [], f"processes of {case} survived on the host"
    for path, before in files_before.items():
        assert fingerprint(path) == before, f"{case} changed the host file {path}"

    # --- the report is well-formed and bounded ---------------------------------------------------
    dumped = report.model_dump_json()  # NaN losses survive as "NaN" (and NaN != NaN, so compare the JSON)
    assert Report.model_validate_json(dumped).model_dump_json() == dumped
    assert report.environment.sandbox == "docker"
    assert report.environment.seed == SEED
    log_limit = host.rubric.rubric.limits.output_kb * 1024
    assert len(report.stdout) <= log_limit and len(report.stderr) <= log_limit, "logs must stay bounded"
    assert elapsed < HANG_BUDGET_S

    # --- the expected verdicts --------------------------------------------------------------------
    assert report.score <= expected["max_score"], f"{case} scored above its maximum:\n{info}"
    assert report.passed in as_list(expected.get("passed", False)), f"passed flag:\n{info}"
    if expected.get("passed") is True:
        assert report.score == expected["max_score"], f"{case} should get full marks:\n{info}"

    ran = {timing.stage: timing.status for timing in report.environment.stages if timing.status != "cancelled"}
    stages = expected.get("stages", {})
    # The train stage starts speculatively beside load/probe, so it may have run (or been cancelled)
    # even when its checks are skipped; every other stage runs only when needed.
    assert set(ran) - {"train"} <= set(stages), f"stages that should not have run:\n{info}"
    for stage, allowed in stages.items():
        assert ran.get(stage) in as_list(allowed), f"stage {stage}: {ran.get(stage)}, expected {allowed}\n{info}"

    for check_id, status in expected["checks"].items():
        result = report.check(check_id)
        assert result.status.value in as_list(status), \
            f"{check_id}: {result.status.value}, expected {status}\n{info}"
        if result.status is Status.PASS:
            assert result.points == result.max_points
        else:
            assert result.points == 0 and result.message, f"{check_id} must say why it did not pass\n{info}"
    for check_id, diagnosis in expected.get("diagnosis", {}).items():
        result = report.check(check_id)
        assert result.diagnosis in as_list(diagnosis), \
            f"{check_id}: diagnosis {result.diagnosis}, expected {diagnosis}\n{info}"
    for check_id, parts in expected.get("message", {}).items():
        message = report.check(check_id).message.lower()
        for part in parts:
            assert part.lower() in message, f"{check_id}: message should mention {part!r}\n{info}"

    # --- what the submission printed about its attempts -------------------------------------------
    def pattern(text: str) -> re.Pattern[str]:
        return re.compile(text.replace("{secret}", re.escape(secret)), re.MULTILINE)

    for text in expected.get("stdout_require", []):
        assert pattern(text).search(report.stdout), f"stdout lacks {text!r}\n{info}"
    for text in expected.get("stderr_require", []):
        assert pattern(text).search(report.stderr), f"stderr lacks {text!r}\n{info}"
    for text in expected.get("stdout_forbid", []):
        match = pattern(text).search(report.stdout)
        assert match is None, f"stdout shows {match.group(0)[:200]!r} ({text!r})\n{info}"
    for text, largest in expected.get("stdout_number_max", {}).items():
        numbers = [int(n) for n in pattern(text).findall(report.stdout)]
        assert numbers and max(numbers) <= largest, f"{text!r}: {numbers} (at most {largest})\n{info}"
