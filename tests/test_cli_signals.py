"""SIGINT and SIGTERM to `nngrader check`: the containers stop, the work folder goes, the exit code says which.

A real `nngrader check` subprocess grades a submission whose training never ends, in real Docker containers.
Once one of its containers runs, the test sends the signal and expects, within a few seconds: exit 130
(SIGINT) or 143 (SIGTERM), one line on stderr and no traceback, no container of that process left on the
engine, and nothing left in the process's temporary folder (TMPDIR points at a folder of the test's own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REFERENCE

STOP_WITHIN_S = 10.0  # generous for a loaded 2-core machine; the grader's own budget is 8 s


def never_ending_training(tmp_path: Path) -> Path:
    """The reference solution, except that train() sleeps forever (forward and gradients stay right)."""
    source = REFERENCE.read_text()
    path = tmp_path / "slow_nn.py"
    path.write_text(source + "\n\nimport time as _time\n\n\ndef _forever(self, *args, **kwargs):\n"
                    "    while True:\n        _time.sleep(1)\n\n\nSimpleNN.train = _forever\n")
    return path


def containers_of(pid: int) -> list[str]:
    """Ids of the nngrader containers (running or not) that process `pid` created."""
    from grader.sandbox.docker import LABEL, OWNER_LABEL, connect

    client = connect()
    found = client.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True)
    return [c.id for c in found if f":{pid}:" in c.labels.get(OWNER_LABEL, "")]


@pytest.mark.docker
@pytest.mark.mnist
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_containers_and_removes_the_work_folder(sig: signal.Signals, code: int, tmp_path: Path,
                                                             docker_ready: str, mnist_data: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NNGRADER_DATA_DIR": str(mnist_data)}
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "check", str(never_ending_training(tmp_path)), "--sandbox", "docker",
         "--seed", "1", "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not containers_of(process.pid):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no container started within 120 s"
            time.sleep(0.2)
        time.sleep(1.0)  # the train stage is running (speculatively, beside load and probe)
        sent = time.monotonic()
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == code, stderr
    assert took < STOP_WITHIN_S, f"took {took:.1f} s to stop"
    assert "Traceback" not in stderr and stdout == ""
    assert "interrupted" in stderr
    assert containers_of(process.pid) == []
    assert list(tmpdir.iterdir()) == []  # the work folder and everything under it are gone
