"""Batch grading on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The workers grade in Docker with the real MNIST and the preload that checks them at start-up. The
gradebook of a mixed class must equal the local batch's, also when a worker is killed mid-run; a
submission that keeps killing workers ends as a grader error while the class is graded; Ctrl-C leaves
no container on the workers. In CI (CI=true) a missing Dask, Docker or MNIST fails these tests.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.batch import BatchEvent, StudentRecord, grade_batch
from grader.cluster import DaskExecutor
from grader.cluster.preload import HOUSEKEEPING_S
from grader.cluster.worker import GradeTask, grade_task, students_grading
from grader.errors import ClusterError
from grader.rubric import load_rubric
from grader.submission import SubmissionFiles
from tests.conftest import REFERENCE, ROOT, unavailable
from tests.local_cluster import LocalCluster, free_port

pytestmark = [pytest.mark.docker, pytest.mark.mnist]

REFERENCE_CODE = REFERENCE.read_text()
SUM_NOT_MEAN = REFERENCE_CODE.replace("dz2 = (probs - y) / n", "dz2 = (probs - y)")
ALLOWED_FAILURES = 1  # the scheduler gives up on a task after its second lost worker


class Cluster(LocalCluster):
    """A scheduler and two nanny-supervised workers (a killed worker process is restarted by its nanny)."""

    def __init__(self, tmp: Path, data: Path) -> None:
        super().__init__(tmp, {**os.environ, "NNGRADER_DATA_DIR": str(data), "NNGRADER_WORKER_SANDBOX": "docker",
                               "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
                               "PYTHONPATH": str(ROOT)})
        for number in (1, 2):  # each worker with its own cache, hence its own task key (the client's is sent)
            self.add_worker(f"w{number}", NNGRADER_CACHE_DIR=str(tmp / f"cache{number}"))
        self.client = self._client()

    def _client(self) -> Any:
        import distributed

        client = distributed.Client(self.address, timeout=60, set_as_default=False)
        client.wait_for_workers(2, timeout=180)
        return client

    def worker_pids(self) -> dict[str, int]:
        return dict(self.client.run(os.getpid))

    def kill_worker_running(self, student: str) -> bool:
        """kill -9 the worker process grading `student` now (its nanny starts a new one); False if none is."""
        for address, students in self.client.run(students_grading, on_error="ignore").items():
            if student in students:
                pid = self.worker_pids().get(address)
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    return True
        return False

    def close(self) -> None:
        self.client.close()
        super().close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, mnist_data: Path, docker_ready: str) -> Iterator[Cluster]:
    try:
        import distributed  # noqa: F401
    except ImportError:
        unavailable("Dask is not installed: pip install -e '.[test]'")
    running = Cluster(tmp_path_factory.mktemp("cluster"), mnist_data)
    try:
        yield running
    finally:
        running.close()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def mixed_class(folder: Path) -> Path:
    """A right one, a wrong one, a multi-file folder, one that does not parse, and one with nothing to grade."""
    write(folder / "alice.py", REFERENCE_CODE)
    write(folder / "bob.py", SUM_NOT_MEAN)
    write(folder / "carol" / "model.py", REFERENCE_CODE.replace("import numpy as np",
                                                                "import numpy as np\nfrom helpers import relu", 1))
    write(folder / "carol" / "helpers.py", "def relu(x):\n    return x * (x > 0)\n")
    write(folder / "dan.py", "class SimpleNN(:\n")
    (folder / "erin").mkdir()
    return folder


def rows(grades_csv: Path) -> list[dict[str, str]]:
    with grades_csv.open(newline="") as handle:
        return list(csv.DictReader(handle))


def observed(out: Path) -> dict[str, list[tuple[str, str, float, str]]]:
    """Each graded student's checks as reported: id, status, points and the message with its measured values
    (loss, accuracy: they depend on the hidden task, hence on the task key)."""
    found = {}
    for path in sorted((out / "reports").glob("*.json")):
        record = StudentRecord.model_validate_json(path.read_text())
        if record.report is not None:
            found[record.student] = [(c.id, c.status.value, c.points, c.message) for c in record.report.checks]
    return found


@dataclass
class Graded:
    gradebook: str
    checks: dict[str, list[tuple[str, str, float, str]]]


@pytest.fixture(scope="module")
def local_gradebook(tmp_path_factory: pytest.TempPathFactory, mnist_data: Path, docker_ready: str) -> Graded:
    """The mixed class graded by the local batch, in Docker: what the cluster must reproduce."""
    tmp = tmp_path_factory.mktemp("local")
    result = grade_batch(mixed_class(tmp / "class"), out_dir=tmp / "out", sandbox=docker_ready, data_dir=mnist_data,
                         quick=True, jobs=2)
    assert [r.status for r in result.records] == ["graded"] * 4 + ["invalid_submission"]
    return Graded(result.grades_csv.read_text(), observed(tmp / "out"))


def test_the_cli_grades_a_class_on_the_cluster_as_the_local_batch_does(tmp_path: Path, cluster: Cluster,
                                                                        local_gradebook: Graded) -> None:
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "grader", "batch", str(mixed_class(tmp_path / "class")),
                             "--out", str(out), "--quick", "--cluster", cluster.address],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (out / "grades.csv").read_text() == local_gradebook.gradebook
    assert observed(out) == local_gradebook.checks  # the same hidden task, to the last measured value
    assert (out / "summary.html").is_file() and len(list((out / "reports").glob("*.json"))) == 5
    assert "Traceback" not in result.stderr


def test_a_worker_killed_mid_grading_changes_nothing(tmp_path: Path, cluster: Cluster,
                                                     local_gradebook: Graded) -> None:
    killed: list[str] = []

    def killer() -> None:
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            if cluster.kill_worker_running("bob"):
                killed.append("bob")
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    events: list[BatchEvent] = []
    with DaskExecutor(cluster.address) as executor:
        result = grade_batch(mixed_class(tmp_path / "class"), out_dir=tmp_path / "out", quick=True,
                             executor=executor, progress=events.append)
    thread.join()
    cluster.wait_for_workers(2)  # the nanny's new worker is back
    assert killed == ["bob"]
    assert result.grades_csv.read_text() == local_gradebook.gradebook  # complete, identical, one row per student
    assert observed(tmp_path / "out") == local_gradebook.checks
    assert len(rows(result.grades_csv)) == 5
    on_the_cluster = [{student.student for student in event.running} for event in events]
    assert set().union(*on_the_cluster) == {"alice", "bob", "carol", "dan"}  # the progress line names them
    assert max(map(len, on_the_cluster)) <= 2  # one per worker thread: the scheduler holds no queue of ours


def test_a_submission_that_keeps_killing_workers_is_a_grader_error(tmp_path: Path, cluster: Cluster) -> None:
    """Every worker that picks up mallory dies: after ALLOWED_FAILURES + 1 losses she is a grader_error (retried
    by --resume), and everyone else is graded."""
    folder = tmp_path / "class"
    write(folder / "alice.py", REFERENCE_CODE)
    write(folder / "mallory.py", REFERENCE_CODE + "\n# the one whose grading kills its worker\n")
    done = threading.Event()
    kills: list[int] = []

    def killer() -> None:
        while not done.is_set():
            if cluster.kill_worker_running("mallory"):
                kills.append(1)
                time.sleep(1.0)  # the lost task moves on: do not count one loss twice
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with DaskExecutor(cluster.address) as executor:
            result = grade_batch(folder, out_dir=tmp_path / "out", quick=True, executor=executor)
    finally:
        done.set()
        thread.join()
    cluster.wait_for_workers(2)  # the nanny's new worker is back
    by_student = {record.student: record for record in result.records}
    assert by_student["alice"].status == "graded"
    mallory = by_student["mallory"]
    assert mallory.status == "grader_error" and mallory.retry
    assert "lost again and again" in (mallory.error or "")
    assert len(kills) == ALLOWED_FAILURES + 1


def test_ctrl_c_leaves_no_container_on_the_workers(tmp_path: Path, cluster: Cluster) -> None:
    from grader.sandbox.docker import LABEL, OWNER_LABEL, connect

    docker = connect()

    def worker_containers() -> list[str]:
        pids = set(cluster.worker_pids().values())
        found = docker.containers.list(all=True, filters={"label": f"{LABEL}=1"}, ignore_removed=True)
        return [c.id for c in found if any(f":{pid}:" in c.labels.get(OWNER_LABEL, "") for pid in pids)]

    folder = tmp_path / "class"
    for name in ("ann", "ben", "cat"):
        write(folder / f"{name}.py", REFERENCE_CODE + f"\n# {name}\n")
    process = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(tmp_path / "out"),
                                "--cluster", cluster.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not worker_containers():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no grading container started within 120 s"
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    assert (tmp_path / "out" / "grades.csv").is_file()
    assert worker_containers() == []
    assert all(len(keys) == 0 for keys in cluster.client.processing().values())


def test_the_client_says_its_data_dir_is_not_sent_only_when_given_one(tmp_path: Path, cluster: Cluster,
                                                                       mnist_data: Path) -> None:
    """NNGRADER_DATA_DIR may be set for a worker on the same machine: that is no reason for a note."""
    (tmp_path / "class").mkdir()
    note = "--data-dir is not sent to the workers"
    for args, env, expected in (([], {"NNGRADER_DATA_DIR": str(mnist_data)}, False),
                                (["--data-dir", str(mnist_data)], {}, True)):
        result = subprocess.run([sys.executable, "-m", "grader", "batch", str(tmp_path / "class"), "--out",
                                 str(tmp_path / "out"), "--cluster", cluster.address, *args],
                                capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **env})
        assert result.returncode == 0, result.stderr
        assert (note in result.stderr) is expected, result.stderr


def housekeeping(dask_worker: Any = None, dask_scheduler: Any = None) -> dict[str, float]:
    """The intervals (ms) of a Dask process's periodic callbacks, as client.run sends it the process."""
    server = dask_worker if dask_worker is not None else dask_scheduler
    return {name: callback.callback_time for name, callback in server.periodic_callbacks.items()}


def test_the_preload_paces_dask_in_every_process(cluster: Cluster) -> None:
    """Worker, nanny and scheduler, each started with the preload as the README says: Dask's defaults (a 20 ms
    event-loop tick, the profiler) would cost an idle worker and nanny 7% of a core (BENCHMARKS "Cluster")."""
    nannies = cluster.client.run(housekeeping, nanny=True)
    processes = {**cluster.client.run(housekeeping), **{f"nanny {a}": found for a, found in nannies.items()},
                 "scheduler": cluster.client.run_on_scheduler(housekeeping)}
    assert len(processes) == 5
    for place, found in processes.items():
        assert "tick" in found and "profile" not in found, place
        for name, seconds in HOUSEKEEPING_S.items():
            assert found.get(name, seconds * 1000) == seconds * 1000, (place, name, found)
    # The nanny spawned each worker with glibc's malloc defaults, as the local batch runs (Dask's 64 KiB trim
    # threshold made one worker grade 8% slower than --jobs 1)
    assert set(cluster.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}


def test_doctor_reports_every_worker(cluster: Cluster) -> None:
    result = subprocess.run([sys.executable, "-m", "grader", "doctor", "--cluster", cluster.address],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("worker tcp://127.0.0.1:") == 2
    for line in ("nngrader: ", "docker engine", "grading image", "MNIST data", "cores: "):
        assert result.stdout.count(line) == 2, result.stdout


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        DaskExecutor(f"tcp://127.0.0.1:{free_port()}", connect_timeout_s=2)


def test_a_worker_refuses_a_task_from_another_version() -> None:
    files = SubmissionFiles(display="x.py", entry="x.py", files={"x.py": REFERENCE_CODE.encode()})
    task = GradeTask(batch_id="b", student="x", files=files, seed=1, rubric=load_rubric(), quick=True,
                     speculate=False, sandbox="docker", grader_version="0.0.0-other", task_key=bytes(32))
    result = grade_task(task)
    assert result.report is None and "install the same version on every node" in (result.error or "")


def test_nngrader_worker_refuses_a_node_that_cannot_grade(tmp_path: Path) -> None:
    env = {**os.environ, "NNGRADER_DATA_DIR": str(tmp_path / "no-mnist-here")}
    result = subprocess.run([sys.executable, "-m", "grader", "worker", f"tcp://127.0.0.1:{free_port()}"],
                            capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert result.returncode == 2
    assert "FAIL MNIST data" in result.stdout and "cannot grade yet" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_lost_scheduler_keeps_what_is_done_and_says_so(tmp_path: Path, mnist_data: Path, docker_ready: str) -> None:
    """A scheduler of its own, served by `nngrader worker`; killed mid-batch: exit 2, one line, a gradebook."""
    env = {**os.environ, "NNGRADER_DATA_DIR": str(mnist_data), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"}
    local = LocalCluster(tmp_path, env)
    local.start("worker", ["grader", "worker", local.address, "--nthreads", "1"])
    folder = tmp_path / "class"
    for name in ("ann", "ben", "cat"):
        write(folder / f"{name}.py", REFERENCE_CODE + f"\n# {name}\n")
    try:
        batch = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(tmp_path / "out"),
                                  "--cluster", local.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env, cwd=ROOT)
        deadline = time.monotonic() + 180
        while "Registered to" not in (tmp_path / "worker.log").read_text():  # the batch waits for it meanwhile
            assert batch.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        time.sleep(5.0)  # the first student is being graded
        os.killpg(local.scheduler.pid, signal.SIGKILL)
        stdout, stderr = batch.communicate(timeout=180)
    finally:
        local.close()
    assert batch.returncode == 2, stdout + stderr
    assert "Error: lost the Dask scheduler" in stderr and "rerun with --resume" in stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "out" / "grades.csv").is_file() and (tmp_path / "out" / "summary.html").is_file()
