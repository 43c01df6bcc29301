"""The sandbox seam: the stage folder, how an exit is classified, the protocol the batch relies on, doctor,
and the import graph (no cycle in the sandbox package; the batch imports no backend)."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader import doctor as doctor_module
from grader.batch import runner
from grader.sandbox import select
from grader.sandbox.base import (
    OUT_FILES,
    DoctorItem,
    Ending,
    SandboxLimits,
    StageOutcome,
    StageRequest,
    StageStatus,
    StopReason,
    Watch,
    classify_exit,
    prepare_stage_dir,
    seal_inputs,
)

ROOT = Path(__file__).resolve().parents[1]
LIMITS = SandboxLimits(timeout_s=5, memory_mb=256, cpus=1, pids=64, file_mb=4, output_kb=4)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_stage_folder_holds_in_sub_out_and_exactly_two_empty_output_files(tmp_path: Path) -> None:
    stage_dir = prepare_stage_dir(tmp_path / "probe")
    assert sorted(path.name for path in stage_dir.iterdir()) == ["in", "out", "sub"]
    assert sorted(path.name for path in (stage_dir / "out").iterdir()) == sorted(OUT_FILES)
    assert mode(stage_dir) == 0o700
    assert all((stage_dir / "out" / name).stat().st_size == 0 for name in OUT_FILES)
    assert all(mode(stage_dir / "out" / name) == 0o666 for name in OUT_FILES)
    assert mode(stage_dir / "out") == 0o755  # the sandbox user cannot add anything
    assert (prepare_stage_dir(tmp_path / "train", data=True) / "data").is_dir()
    with pytest.raises(FileExistsError):
        prepare_stage_dir(tmp_path / "probe")


def test_sealed_inputs_are_read_only_for_everyone(tmp_path: Path) -> None:
    stage_dir = prepare_stage_dir(tmp_path / "load")
    (stage_dir / "sub" / "pkg").mkdir()
    (stage_dir / "sub" / "pkg" / "model.py").write_text("x = 1\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("not an input")
    outside.chmod(0o640)
    (stage_dir / "sub" / "link.py").symlink_to(outside)
    seal_inputs(stage_dir / "sub")
    assert mode(stage_dir / "sub") == mode(stage_dir / "sub" / "pkg") == 0o555
    assert mode(stage_dir / "sub" / "pkg" / "model.py") == 0o444
    assert mode(outside) == 0o640  # a link is never followed


def write_progress(stage_dir: Path, text: str) -> None:
    (stage_dir / "out" / "progress.txt").write_text(text)


@pytest.mark.parametrize(("progress", "code", "ending", "status"), [
    ("import\ndone load\n", 0, Ending(), StageStatus.OK),
    ("import\ndone load\n", 3, Ending(), StageStatus.OK),  # finished, then exited with a code: still ok
    ("import\n", 0, Ending(), StageStatus.EXITED),
    ("done load\nmore\n", 0, Ending(), StageStatus.EXITED),  # the mark must be the last line
    ("done probe\n", 0, Ending(), StageStatus.EXITED),  # of this stage
    ("", -11, Ending(), StageStatus.CRASHED),
    ("", 137, Ending(), StageStatus.MEMORY),
    ("", -25, Ending(), StageStatus.OUTPUT_LIMIT),
    ("done load\n", -9, Ending(timed_out=True), StageStatus.TIMEOUT),
    ("", -9, Ending(cancelled=True), StageStatus.CANCELLED),
    ("", -9, Ending(stop=StopReason(code="stalled", message="no progress for 30 s")), StageStatus.STOPPED),
])
def test_classify_exit(tmp_path: Path, progress: str, code: int, ending: Ending, status: StageStatus) -> None:
    stage_dir = prepare_stage_dir(tmp_path / "load")
    write_progress(stage_dir, progress)
    assert classify_exit("load", code, stage_dir, LIMITS, ending)[0] is status


def test_a_progress_link_is_not_the_done_mark(tmp_path: Path) -> None:
    stage_dir = prepare_stage_dir(tmp_path / "load")
    (tmp_path / "elsewhere").write_text("done load\n")
    (stage_dir / "out" / "progress.txt").unlink()
    (stage_dir / "out" / "progress.txt").symlink_to(tmp_path / "elsewhere")
    assert classify_exit("load", 0, stage_dir, LIMITS, Ending())[0] is StageStatus.EXITED


def test_a_huge_progress_file_is_read_from_its_end(tmp_path: Path) -> None:
    stage_dir = prepare_stage_dir(tmp_path / "train")
    write_progress(stage_dir, "epoch\n" * 500_000 + "done train\n")
    assert classify_exit("train", 0, stage_dir, LIMITS, Ending())[0] is StageStatus.OK


# --------------------------------------------------------------------------- the batch drives the protocol


class RecordingSandbox:
    """A fake backend that records the lifecycle calls the batch makes."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def run_stage(self, request: StageRequest, cancel: threading.Event | None = None,
                  watch: Watch | None = None) -> StageOutcome:
        raise AssertionError("not used")

    def describe(self) -> str | None:
        return None

    def stop_all(self) -> None:
        self.calls.append("stop_all")

    def sweep(self) -> int:
        self.calls.append("sweep")
        return 0

    def doctor(self) -> list[DoctorItem]:
        return []


def test_the_batch_winds_down_through_stop_all_and_sweep() -> None:
    box = RecordingSandbox()
    ctx = SimpleNamespace(sandbox=runner.CancellableSandbox(box, threading.Event()))  # what _wind_down uses
    finished: Future[None] = Future()
    finished.set_result(None)
    runner._wind_down([finished], ctx)  # type: ignore[arg-type, list-item]
    assert box.calls == ["stop_all", "sweep"]
    runner._kill_running_stages(box)
    assert box.calls[-1] == "stop_all"


def test_the_batch_and_the_cluster_import_no_sandbox_backend() -> None:
    code = ("import sys, grader.batch.runner, grader.api, grader.cluster.executor, grader.cluster.worker; "
            "print(sorted(m for m in sys.modules if m.startswith('grader.sandbox.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = set(eval(result.stdout))  # noqa: S307 - our own printed list
    assert not loaded & {"grader.sandbox.docker", "grader.sandbox.local", "grader.sandbox.docker_engine"}
    for module in ("batch/runner.py", "cluster/executor.py", "cluster/worker.py"):
        source = (ROOT / "grader" / module).read_text()
        assert "/proc" not in source and "import docker" not in source and "sandbox.docker" not in source


def sandbox_imports() -> dict[str, set[str]]:
    """grader.sandbox module -> the grader.sandbox modules it imports (at any level)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "grader" / "sandbox").glob("*.py"):
        module = f"grader.sandbox.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                found |= {name for name in names if name.startswith("grader.sandbox.")}
        graph[module] = found & {f"grader.sandbox.{p.stem}" for p in (ROOT / "grader" / "sandbox").glob("*.py")}
    return graph


def test_the_sandbox_package_has_no_import_cycle() -> None:
    graph = sandbox_imports()
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(path + [module])}")
        if state.get(module) == 2:
            return
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            visit(target, path + [module])
        state[module] = 2

    for module in sorted(graph):
        visit(module, [])
    assert "grader.sandbox.docker" not in graph["grader.sandbox.image"]


# --------------------------------------------------------------------------- doctor


def test_doctor_is_built_from_each_backend_and_the_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken() -> list[DoctorItem]:
        raise RuntimeError("boom")

    monkeypatch.setattr(select, "doctor_contributions", lambda: [
        ("fake", lambda: [DoctorItem(name="fake engine", ok=True, detail="answers")]), ("broken", broken)])
    monkeypatch.setattr(doctor_module, "doctor_contributions", select.doctor_contributions)
    items = doctor_module.doctor(tmp_path / "no-mnist-here")
    assert [item.name for item in items] == ["fake engine", "broken sandbox", "MNIST data"]
    assert items[0].ok and not items[1].ok and "boom" in items[1].detail
    assert not items[2].ok and items[2].fix


def test_each_backend_contributes_to_doctor() -> None:
    names = [name for name, _ in select.doctor_contributions()]
    assert names == ["docker", "local"]
    from grader.sandbox import image

    assert not hasattr(image, "doctor")  # moved to grader/doctor.py
    local_items = dict(select.doctor_contributions())["local"]()
    assert local_items[0].name == "local sandbox"
