"""Watching a running stage from the host: progress for the user, and stopping what cannot finish.

The harness appends a line to progress.txt at every probe and a heartbeat every half second with its
forward/backward call count, the training rows seen so far, a fingerprint of the weights and its resident
memory. While a stage
runs, a thread here reads the tail of that file about four times a second and

* reports a ProgressEvent (stage, elapsed time against the limit, epochs done) to `on_progress`;
* stops a probe or train stage that makes no progress at all for `stall_s` seconds (no call, no change to
  the weights or to its memory, no new probe: an infinite loop, a sleep, a fork bomb), with the diagnosis
  `stalled` (a stage still allocating is left to meet its memory limit);
* stops a training run whose pace cannot finish within the time limit (`too_slow`, with the projection),
  once it has run long enough for the projection to mean something, and one that has gone through far
  more batches than the epochs it was asked for (`runaway`: its loop does not stop).

A stage stopped this way ends with StageStatus.STOPPED and a StopReason. The sandbox only needs to honour
the cancel event; what progress means stays here, beside the harness that writes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from grader.models import ProgressEvent
from grader.results import progress_tail
from grader.sandbox.base import Sandbox, StageOutcome, StageRequest, StageStatus, StopReason

POLL_S = 0.25
PROJECTION_AFTER_S = 10.0  # the pace of training is judged only after this long
PROJECTION_MARGIN = 1.25  # stop when the projected run exceeds the limit by this factor
RUNAWAY = 1.5  # stop a training run that has seen this many times the rows of the epochs it was asked for
WATCHED = ("probe", "train")  # the load stage is plain import time: its time limit is the watch


class StageWatch:
    """Runs one stage in a sandbox under watch (see the module docstring)."""

    def __init__(self, stage: str, out_dir: Path, limit_s: float, stall_s: float, *,
                 runs: dict[str, tuple[int, int]], on_progress: Callable[[ProgressEvent], None] | None = None) -> None:
        """runs: the probes that call train(), with the rows and epochs they give it."""
        self.stage, self.out_dir, self.limit_s, self.stall_s = stage, out_dir, limit_s, stall_s
        self.runs, self.on_progress = runs, on_progress
        self.reason: StopReason | None = None
        self._state: tuple[object, ...] = ()
        self._changed = self._started = time.monotonic()
        self._train_started: float | None = None
        self._samples, self._samples_changed = 0, self._started

    def run(self, sandbox: Sandbox, request: StageRequest, cancels: Iterable[threading.Event | None]) -> StageOutcome:
        """Run the stage; stop it when a cancel event is set or the watch finds a reason."""
        stop = threading.Event()
        done = threading.Event()
        parents = [event for event in cancels if event is not None]

        def watcher() -> None:
            while not done.wait(POLL_S):
                if any(event.is_set() for event in parents):
                    stop.set()
                    return
                reason = self.poll()
                if reason is not None:
                    self.reason = reason
                    stop.set()
                    return

        thread = threading.Thread(target=watcher, name=f"nngrader-watch-{self.stage}", daemon=True)
        thread.start()
        try:
            outcome = sandbox.run_stage(request, stop)
        finally:
            done.set()
            thread.join()
        if self.reason is not None and outcome.status is StageStatus.CANCELLED:
            return outcome.model_copy(update={"status": StageStatus.STOPPED, "stop": self.reason,
                                              "message": self.reason.message})
        return outcome

    def poll(self) -> StopReason | None:
        """Read the progress so far: report it, and say whether the stage must be stopped."""
        now = time.monotonic()
        probe, calls, samples, fingerprint, memory = "", 0, 0, "", ""
        probes = 0
        for line in progress_tail(self.out_dir, 8192):
            kind, _, rest = line.partition(" ")
            if kind == "probe":
                probe, probes = rest, probes + 1
                if rest in self.runs and self._train_started is None:
                    self._train_started = now
            elif kind == "beat":
                fields = rest.split()
                if len(fields) >= 4 and fields[1].isdigit() and fields[2].isdigit():
                    calls, samples, fingerprint = int(fields[1]), int(fields[2]), fields[3][:40]
                    memory = fields[4][:12] if len(fields) > 4 else ""
        state = (probe, probes, calls, samples, fingerprint, memory)
        if state != self._state:
            self._state, self._changed = state, now
        if samples != self._samples:
            self._samples, self._samples_changed = samples, now
        elapsed = now - self._started
        rows, epochs = self.runs.get(probe, (0, 0))
        epoch = samples / rows if rows else None
        self._report(elapsed, probe, epoch, epochs)
        if self.stage in WATCHED and now - self._changed >= self.stall_s:
            what = f" while {probe} was running" if probe else ""
            return StopReason(code="stalled", message=f"no progress for {self.stall_s:g} s{what} (no forward or "
                              "backward call, no change to the weights): stopped")
        if epoch is None or self._train_started is None:
            return None
        if epoch > RUNAWAY * epochs:
            return StopReason(code="runaway", message=f"train() has gone through {epoch:.1f} epochs of batches but was "
                              f"asked for {epochs}: its loop does not stop")
        training = now - self._train_started
        flowing = now - self._samples_changed < 3.0  # no projection from a count that does not move
        if training >= PROJECTION_AFTER_S and epoch > 0 and flowing:
            projected = (self._train_started - self._started) + training * epochs / epoch
            if projected > PROJECTION_MARGIN * self.limit_s:
                return StopReason(code="too_slow", message=f"after {training:.0f} s train() had done {epoch:.2f} of "
                                  f"{epochs} epochs; at that pace the stage needs about {projected:.0f} s, over its "
                                  f"{self.limit_s:g} s limit: stopped")
        return None

    def _report(self, elapsed: float, probe: str, epoch: float | None, epochs: int) -> None:
        if self.on_progress is None:
            return
        if epoch is not None:
            message = f"{probe}: epoch {min(epoch, epochs):.1f}/{epochs}"
        else:
            message = f"{self.stage}: {probe}" if probe else f"{self.stage}: starting"
        try:
            self.on_progress(ProgressEvent(stage=self.stage, elapsed_s=elapsed, limit_s=self.limit_s, epoch=epoch,
                                           epochs=epochs or None, message=message))
        except Exception:  # noqa: BLE001 - a broken progress display must not stop grading
            self.on_progress = None
