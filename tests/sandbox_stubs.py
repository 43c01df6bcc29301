"""A stub harness and stage folders for the sandbox tests: they test the sandbox, not the real harness.

The stub keeps the harness's contract (`python3 -I harness.py IN OUT SUB [DATA]`, the entry module named in
request.json, `done <stage>` as the last line of progress.txt) and writes one JSON line to results.bin
after importing the submission. Standard library only, so it runs on the grading image's Python too.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from grader.sandbox.base import SandboxLimits, StageOutcome, StageRequest, prepare_stage_dir

LIMITS = SandboxLimits(timeout_s=20, memory_mb=256, cpus=1, pids=64, file_mb=4, output_kb=64)

STUB_HARNESS = r'''
import importlib.util, json, os, sys
in_dir, out_dir, sub_dir = sys.argv[1:4]
data_dir = sys.argv[4] if len(sys.argv) > 4 else None
request = json.load(open(os.path.join(in_dir, "request.json")))
stage = request["stage"]
progress = open(os.path.join(out_dir, "progress.txt"), "a", buffering=1)
progress.write("import\n")
sys.path.insert(0, sub_dir)
spec = importlib.util.spec_from_file_location("submission", os.path.join(sub_dir, request["entry"]))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
seen = {"stage": stage, "uid": os.getuid(), "data": sorted(os.listdir(data_dir)) if data_dir else None,
        "extra": getattr(module, "RESULT", None)}
with open(os.path.join(out_dir, "results.bin"), "ab") as f:
    f.write(json.dumps(seen).encode() + b"\n")
progress.write("done %s\n" % stage)
code = getattr(module, "EXIT_CODE", 0)
if code:
    sys.exit(code)
'''


ATTEMPT = """
import errno
def attempt(func):
    # 'ok', or the name of the errno that func() failed with
    try:
        func()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
"""


def trying(source: str) -> str:
    """A submission that tries things: `source` (dedented) with attempt(func) defined before it."""
    return ATTEMPT + textwrap.dedent(source)


def stub_harness(folder: Path) -> Path:
    """The stub harness, written into `folder` (world-readable: the sandbox user runs it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stub_harness.py"
    path.write_text(STUB_HARNESS)
    path.chmod(0o644)
    return path


def stage_request(work: Path, source: str, *, stage: str = "load", data_dir: Path | None = None,
                  limits: SandboxLimits = LIMITS, files: dict[str, str] | None = None,
                  name: str | None = None) -> StageRequest:
    """A stage folder under `work` with the submission `source` (dedented) as sub/submission.py."""
    work.mkdir(parents=True, exist_ok=True)
    stage_dir = prepare_stage_dir(work / (name or stage))
    (stage_dir / "in" / "request.json").write_text(json.dumps({"stage": stage, "entry": "submission.py"}))
    (stage_dir / "sub" / "submission.py").write_text(textwrap.dedent(source))
    for relative, text in (files or {}).items():
        (stage_dir / "sub" / relative).parent.mkdir(parents=True, exist_ok=True)
        (stage_dir / "sub" / relative).write_text(textwrap.dedent(text))
    return StageRequest(stage=stage, stage_dir=stage_dir, data_dir=data_dir, limits=limits)


def results(request: StageRequest) -> list[dict[str, Any]]:
    """The JSON lines in results.bin (what the stub harness wrote)."""
    raw = (request.stage_dir / "out" / "results.bin").read_bytes()
    return [json.loads(line) for line in raw.splitlines() if line.startswith(b"{")]


def out_entries(request: StageRequest) -> list[str]:
    """What the out/ folder holds after the stage."""
    return sorted(path.name for path in (request.stage_dir / "out").iterdir())


class Background:
    """A stage running in a thread, for tests that act while it runs."""

    def __init__(self, box: Any, request: StageRequest) -> None:
        self.request = request
        self.outcomes: list[StageOutcome] = []
        self.thread = threading.Thread(target=lambda: self.outcomes.append(box.run_stage(request)))
        self.thread.start()

    def progress(self, containing: str = "import", timeout_s: float = 60) -> str:
        """progress.txt once it contains `containing` (the stub writes 'import' before importing)."""
        path = self.request.stage_dir / "out" / "progress.txt"
        deadline = time.monotonic() + timeout_s
        while containing not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        return path.read_text()

    def outcome(self, timeout_s: float = 60) -> StageOutcome:
        self.thread.join(timeout_s)
        assert self.outcomes, "the stage did not return"
        return self.outcomes[0]
