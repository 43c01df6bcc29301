"""DaskExecutor: the batch's Executor on a Dask cluster (client side).

Connect to the scheduler, wait for a worker, refuse workers running another nngrader version. run() sends
one task per student (the collected files as bytes, never a path), one per free worker thread at a time, and
turns each result into a record in the calling thread, exactly as the local pool does. Faults:

- a worker lost mid-grading (kill -9, a lost node): Dask re-runs its tasks on other workers; a task that
  keeps losing workers (Dask's `distributed.scheduler.allowed-failures`, default 3) ends as KilledWorker,
  which becomes a grader_error record (retried by --resume); the batch goes on;
- Ctrl-C: no further task is sent, those sent are cancelled, every worker stops this batch's running stages
  (see worker.stop_batch), and the client waits until none is live, then sweeps leftovers;
- the scheduler lost: ClusterError, after which the batch still writes the gradebook of what is done.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from grader.batch.records import StudentRecord
from grader.batch.runner import (
    STOP_TIMEOUT_S,
    TICK_S,
    BatchSettings,
    GradingJob,
    RunningStudent,
    error_record,
    graded_record,
    grading_failure,
    ignore_interrupts,
)
from grader.cluster import worker
from grader.data.mnist import default_cache_dir
from grader.errors import ClusterError, GraderError
from grader.sandbox.base import DoctorItem
from grader.submission import collect
from grader.task import secret_key
from grader.version import __version__

INSTALL_HINT = "batch grading on a cluster needs Dask: pip install 'nngrader[cluster]'"
WORKERS_POLL_S = 5.0  # how often it asks the scheduler whether any worker is left
NO_WORKER_TIMEOUT_S = 600.0  # no worker at all for this long: stop (what is graded is saved)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return distributed


def connect(address: str, timeout_s: float = 30.0) -> Any:
    """A Client of the scheduler at `address`, once at least one worker is there."""
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except TypeError as exc:  # a tls:// address without Dask's TLS settings
        raise ClusterError(f"cannot connect to {address}: {exc} (for tls://, set Dask's distributed.comm.tls "
                           "settings: the client's certificate, key and CA)") from None
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc}): is `dask scheduler` running "
                           "there, and is the port open from this machine?") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(f"no worker joined the Dask scheduler at {address} within {timeout_s:.0f} s ({exc}): "
                           "start one with `nngrader worker " + address + "`") from None
    return client


def _check_versions(client: Any, address: str) -> None:
    versions: dict[str, str] = client.run(worker.worker_version, on_error="return")
    wrong = {name: str(version) for name, version in versions.items() if version != __version__}
    if wrong:
        listed = ", ".join(f"{name} runs {version}" for name, version in sorted(wrong.items()))
        client.close()
        raise ClusterError(f"workers of {address} run another nngrader than this client ({__version__}): {listed}. "
                           "Install the same version on every node.")


class DaskExecutor:
    """Grades a batch's students as tasks on the Dask cluster at `address`; each worker uses its own `sandbox`.

    sandbox: 'docker' (default; 'auto' means docker too: a cluster node silently falling back to an
    unisolated sandbox is not what anyone wants) or 'local'.
    """

    def __init__(self, address: str, sandbox: str = "docker", *, connect_timeout_s: float = 30.0) -> None:
        if sandbox not in ("auto", "docker", "local"):
            raise ClusterError(f"unknown sandbox {sandbox!r} for cluster workers: use docker or local")
        self.address = address
        self.worker_sandbox: worker.WorkerSandbox = "local" if sandbox == "local" else "docker"
        self.sandbox_name: str = self.worker_sandbox
        self.client = connect(address, connect_timeout_s)
        _check_versions(self.client, address)
        threads = self.client.nthreads()
        self.workers, self.slots = len(threads), max(1, sum(threads.values()))
        self.task_key = secret_key(default_cache_dir())  # sent with every task: one hidden task for the batch
        self._submitted: dict[str, float] = {}  # student -> when its task was handed to the cluster
        self._limit_s = 0.0

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a client whose scheduler is gone must not raise
            self.client.close()

    def running(self) -> tuple[RunningStudent, ...]:
        """The students on the cluster now: as many as it has threads, so each is running or about to."""
        now = time.monotonic()
        return tuple(RunningStudent(student, now - submitted, self._limit_s)
                     for student, submitted in sorted(self._submitted.items(), key=lambda item: item[1]))

    def _task(self, job: GradingJob, settings: BatchSettings, batch_id: str) -> worker.GradeTask:
        submission = job.submission
        assert submission.path is not None and submission.entry is not None
        files = collect(submission.path, entry=submission.entry,
                        class_name=settings.rubric.rubric.architecture.class_name)
        return worker.GradeTask(batch_id=batch_id, student=submission.student, files=files, seed=job.seed,
                                rubric=settings.rubric, quick=settings.quick, sandbox=self.worker_sandbox,
                                speculate=self.slots == 1,  # as the local pool: only one grading at a time
                                grader_version=__version__, task_key=self.task_key)

    def _record(self, job: GradingJob, future: Any) -> StudentRecord | None:
        """The record of a finished future; None for a task stopped by our own Ctrl-C."""
        distributed = _distributed()
        try:
            if future.status == "error":
                raise future.exception()
            result: worker.TaskResult = future.result()  # a result lost with its worker is recomputed first
        except distributed.KilledWorker:
            return error_record(job, "the workers grading this submission were lost again and again (killed, out "
                                     "of memory or a lost node), so it was not tried further: --resume tries again")
        except Exception as exc:  # noqa: BLE001 - whatever happened to this task, it is this student's row
            if self.client.status not in ("running", "connecting"):
                raise self._lost() from None
            return error_record(job, f"on the cluster: {grading_failure(exc)}")
        if result.cancelled:
            return None
        if result.report is not None:
            return graded_record(job, result.report, result.duration_s)
        return error_record(job, result.error or "the worker returned nothing", result.duration_s)

    def _lost(self, still: int | None = None) -> ClusterError:
        left = f" with {still} student(s) still to grade" if still is not None else ""
        return ClusterError(f"lost the Dask scheduler at {self.address}{left}: what is graded is saved; rerun "
                            "with --resume")

    def run(self, jobs: list[GradingJob], settings: BatchSettings, on_done: Callable[[StudentRecord], None],
            on_tick: Callable[[], None]) -> bool:
        batch_id = uuid.uuid4().hex
        self._limit_s = settings.rubric.rubric.limits.stages_s
        futures: dict[Any, GradingJob] = {}
        try:
            self._grade(batch_id, deque(enumerate(jobs)), futures, settings, on_done, on_tick)
        except KeyboardInterrupt:
            with ignore_interrupts():
                self._stop(batch_id, futures)
            return True
        finally:
            self._submitted.clear()
            with contextlib.suppress(Exception):
                self.client.run(worker.forget_batch, batch_id, on_error="ignore")
        return False

    def _grade(self, batch_id: str, queue: deque[tuple[int, GradingJob]], futures: dict[Any, GradingJob],
               settings: BatchSettings, on_done: Callable[[StudentRecord], None],
               on_tick: Callable[[], None]) -> None:
        """Hand the cluster one student per free worker thread, as the local pool's threads take the next
        student when they finish one, and turn futures into records as they finish.

        The scheduler is never given the whole class at once: Dask would reserve a next student on every busy
        worker (distributed.scheduler.worker-saturation), and with uneven students the last ones wait behind a
        slow one while other workers stand idle. A future's end wakes this loop at once (no polling delay).
        """
        finished = threading.Event()
        next_tick = next_workers_check = workers_seen = time.monotonic()
        while queue or futures:
            finished.clear()
            done = {future: futures.pop(future) for future in [f for f in futures if f.done()]}
            while queue and len(futures) < self.slots:  # the next students start before results are fetched
                number, job = queue.popleft()
                future = self._submit(batch_id, number, job, settings, on_done, left=len(queue) + len(futures))
                if future is not None:
                    futures[future] = job
                    future.add_done_callback(lambda _: finished.set())
            for future, job in sorted(done.items(), key=lambda item: item[1].submission.student):
                self._submitted.pop(job.submission.student, None)
                if future.status == "cancelled" or self.client.status not in ("running", "connecting"):
                    raise self._lost(len(queue) + len(futures) + 1)
                record = self._record(job, future)
                future.release()  # its result need not stay on a worker
                if record is not None:
                    on_done(record)
            now = time.monotonic()
            if now >= next_tick:
                on_tick()
                next_tick = now + TICK_S
            if (queue or futures) and now >= next_workers_check:
                next_workers_check = now + WORKERS_POLL_S
                threads = self._threads()
                if threads:
                    workers_seen, self.slots = now, threads
                elif now - workers_seen > NO_WORKER_TIMEOUT_S:
                    raise ClusterError(f"no worker has served the Dask scheduler at {self.address} for "
                                       f"{NO_WORKER_TIMEOUT_S / 60:.0f} minutes, with {len(queue) + len(futures)} "
                                       "student(s) still to grade: what is graded is saved; start workers and "
                                       "rerun with --resume")
            if not done and futures:
                finished.wait(max(0.0, min(next_tick, next_workers_check) - time.monotonic()))

    def _submit(self, batch_id: str, number: int, job: GradingJob, settings: BatchSettings,
                on_done: Callable[[StudentRecord], None], left: int) -> Any:
        """One student's task on the cluster; None when its files could not be read (its record is done)."""
        try:
            task = self._task(job, settings, batch_id)
        except (GraderError, OSError) as exc:  # the work folder changed under us: this student only
            on_done(error_record(job, f"could not read the collected files: {exc}"))
            return None
        try:
            future = self.client.submit(worker.grade_task, task, pure=False, key=f"nngrader-grade-{batch_id}-{number}")
        except Exception as exc:  # noqa: BLE001 - a closed client: the scheduler is gone
            raise self._lost(left + 1) from exc
        self._submitted[job.submission.student] = time.monotonic()
        return future

    def _threads(self) -> int | None:
        """Worker threads on the cluster now (workers come and go); None when the scheduler does not answer
        (the status check above reports a lost scheduler)."""
        try:
            return int(sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001
            return None

    def _stop(self, batch_id: str, futures: dict[Any, GradingJob]) -> None:
        """After Ctrl-C: no queued task starts, and no grading of this batch runs on any worker when we return
        (each worker cancels this batch only: another batch on the same workers goes on)."""
        with contextlib.suppress(Exception):
            self.client.cancel(list(futures))
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                live = self.client.run(worker.stop_batch, batch_id, on_error="ignore")
            except Exception:  # noqa: BLE001 - the scheduler gone too: nothing more we can reach
                return
            if not sum(count for count in live.values() if isinstance(count, int)):
                break
            time.sleep(0.25)
        with contextlib.suppress(Exception):
            self.client.run(worker.sweep, self.worker_sandbox, on_error="ignore")


def cluster_doctor(address: str, sandbox: str = "docker", timeout_s: float = 30.0) -> dict[str, list[DoctorItem]]:
    """`nngrader doctor --cluster ADDRESS`: each worker's own items (version, sandbox, MNIST, cores)."""
    client = connect(address, timeout_s)
    try:
        name: worker.WorkerSandbox = "local" if sandbox == "local" else "docker"
        answers = client.run(worker.worker_doctor, name, __version__, on_error="return")
    finally:
        client.close()
    report: dict[str, list[DoctorItem]] = {}
    for address_, items in sorted(answers.items()):
        if isinstance(items, BaseException):
            items = [DoctorItem(name="worker", ok=False, detail=f"the check failed there: {items}",
                                fix="run `nngrader doctor` on that node")]
        report[address_] = items
    return report
