"""What runs inside a Dask worker process: grade one task, report on the worker, stop a batch's gradings.

Every function here is sent by name (Dask pickles a reference to it), so workers need the same nngrader
version as the client: the executor checks it when it connects, and each task checks it again (a worker may
join later). Imports no Dask: a worker's functions are plain Python.
"""

from __future__ import annotations

import itertools
import os
import platform
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from grader.batch.runner import BatchSettings, CancellableSandbox, grade_files, grading_failure
from grader.doctor import data_item
from grader.errors import GraderError
from grader.models import Note, Report, StrictModel
from grader.rubric import LoadedRubric
from grader.sandbox.base import DoctorItem, Sandbox
from grader.sandbox.select import doctor_contributions, select_sandbox
from grader.submission import SubmissionFiles
from grader.version import __version__

WorkerSandbox = Literal["docker", "local"]


class GradeTask(StrictModel):
    """One student's grading, as shipped to a worker: the files themselves, never a path on the client."""

    batch_id: str = Field(description="The client's batch: Ctrl-C there stops this batch's tasks on every worker.")
    student: str
    files: SubmissionFiles = Field(description="The collected files (bounded by discovery) and the entry.")
    seed: int
    rubric: LoadedRubric
    quick: bool
    speculate: bool = Field(description="Start training beside the load and probe stages: the client asks for it "
                                        "when the cluster grades one student at a time, as the local pool does.")
    sandbox: WorkerSandbox
    grader_version: str = Field(description="The client's nngrader version; a worker running another refuses.")
    task_key: bytes = Field(description="The client's secret that hides the task (grader/task.py): every worker "
                                        "grades the task the client's machine would, whatever its own cache holds.")


class TaskResult(StrictModel):
    """What a worker sends back: a Report, or the reason there is none."""

    report: Report | None = None
    error: str | None = Field(default=None, description="A grader-side failure (becomes a grader_error record).")
    cancelled: bool = Field(default=False, description="Stopped by the client's Ctrl-C: not an outcome.")
    duration_s: float = 0.0
    worker: str = Field(default="", description="host:pid of the worker process that graded it.")


class _Batch:
    """One client batch as this worker process sees it: its cancel flag and the students grading for it now."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.grading: dict[int, str] = {}  # task number in this process -> student


_BATCHES: dict[str, _Batch] = {}
_LOCK = threading.Lock()
_NUMBERS = itertools.count()
_SANDBOXES: dict[str, tuple[Sandbox, list[Note]]] = {}  # one per sandbox name and worker process, as in a batch


def _sandbox(name: WorkerSandbox) -> tuple[Sandbox, list[Note]]:
    """This process's sandbox of that name, made on first use (Docker: one engine client, one sweep)."""
    with _LOCK:
        if name not in _SANDBOXES:
            _SANDBOXES[name] = select_sandbox(name)
        return _SANDBOXES[name]


def _batch(batch_id: str) -> _Batch:
    with _LOCK:
        return _BATCHES.setdefault(batch_id, _Batch())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def grade_task(task: GradeTask) -> TaskResult:
    """Grade one student on this worker: write the files into a private folder, grade, remove the folder.

    Stopping is only through the batch's cancel event: the running stage sees it (and is killed), no new stage
    starts; other batches on this worker are not touched.
    """
    started = time.perf_counter()
    here = worker_name()
    if task.grader_version != __version__:
        return TaskResult(error=f"worker {here} runs nngrader {__version__}, the client {task.grader_version}: "
                                "install the same version on every node", worker=here)
    batch, number = _batch(task.batch_id), next(_NUMBERS)
    with _LOCK:  # checked and registered at once: stop_batch either sees this grading or we see its cancel
        if batch.cancel.is_set():
            return TaskResult(cancelled=True, worker=here)
        batch.grading[number] = task.student
    try:
        box, notes = _sandbox(task.sandbox)
        with tempfile.TemporaryDirectory(prefix="nngrader-task-") as folder:
            root = Path(folder) / "submission"
            task.files.write(root)
            settings = BatchSettings(rubric=task.rubric, quick=task.quick, data_dir=None)  # the worker's own MNIST
            report = grade_files(root, task.files.entry, task.student, task.seed, settings,
                                 sandbox=CancellableSandbox(box, batch.cancel), sandbox_notes=notes,
                                 speculate=task.speculate, cancel=batch.cancel, task_key=task.task_key)
    except Exception as exc:  # noqa: BLE001 - one student's failure is a record, never a lost worker thread
        if batch.cancel.is_set():
            return TaskResult(cancelled=True, worker=here)
        message = f"worker {here}: {exc}" if isinstance(exc, GraderError) else grading_failure(exc)
        return TaskResult(error=message, worker=here, duration_s=time.perf_counter() - started)
    finally:
        with _LOCK:
            batch.grading.pop(number, None)
    if batch.cancel.is_set():  # a stage was killed under it: the report is not a real grade
        return TaskResult(cancelled=True, worker=here)
    return TaskResult(report=report, worker=here, duration_s=time.perf_counter() - started)


def stop_batch(batch_id: str) -> int:
    """Cancel a batch on this worker (its running stages end, none starts); returns its gradings still live."""
    batch = _batch(batch_id)
    with _LOCK:
        batch.cancel.set()
        return len(batch.grading)


def students_grading() -> list[str]:
    """The students this worker process is grading now, in any batch."""
    with _LOCK:
        return sorted(student for batch in _BATCHES.values() for student in batch.grading.values())


def forget_batch(batch_id: str) -> None:
    """Drop a finished batch's bookkeeping (a stopped one stays cancelled until its tasks are gone)."""
    with _LOCK:
        batch = _BATCHES.get(batch_id)
        if batch is not None and not batch.grading and not batch.cancel.is_set():
            del _BATCHES[batch_id]


def sweep(sandbox: WorkerSandbox) -> int:
    """Remove what graders that are gone left behind (a killed worker's containers); the count removed."""
    box, _ = select_sandbox(sandbox)
    return box.sweep()


def worker_version() -> str:
    return __version__


def worker_doctor(sandbox: WorkerSandbox, client_version: str, dask_worker: Any = None) -> list[DoctorItem]:
    """This worker's `nngrader doctor --cluster` lines: version, the sandbox's own checks, MNIST, cores.

    dask_worker: the Worker (Dask passes it to functions run with Client.run that take this argument).
    """
    nthreads = dask_worker.state.nthreads if dask_worker is not None else "?"
    same = client_version == __version__
    items = [DoctorItem(name="nngrader", ok=same, detail=f"{__version__} on Python {platform.python_version()}"
                        + ("" if same else f"; the client runs {client_version}"),
                        fix="" if same else f"pip install nngrader=={client_version} on this node")]
    contributions = dict(doctor_contributions())
    try:
        items += contributions[sandbox]()
    except Exception as exc:  # noqa: BLE001 - a broken check is one failed line
        items.append(DoctorItem(name=f"{sandbox} sandbox", ok=False, detail=f"the check itself failed: {exc}",
                                fix="run `nngrader doctor` on this node"))
    items.append(data_item(None))
    items.append(DoctorItem(name="cores", ok=True, detail=f"{os.cpu_count()} cores, {nthreads} grading thread(s)"))
    return items
