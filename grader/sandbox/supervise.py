"""supervise: wait for a running stage, and decide when the host must stop it.

Shared by both sandboxes. The stage's exit is seen at once (another thread blocks on it and sets an event);
meanwhile this loop wakes every CANCEL_POLL_S to check the cancel events, the wall-time deadline and, every
WATCH_PERIOD_S, the grader's `watch` callable (stalled or too-slow training).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from grader.sandbox.base import WATCH_PERIOD_S, Ending, Watch

CANCEL_POLL_S = 0.05


def supervise(exited: threading.Event, timeout_s: float, cancels: Iterable[threading.Event | None],
              watch: Watch | None = None) -> Ending:
    """Block until `exited` is set (Ending(), or cancelled when a cancel event is set by then), the deadline
    passes, a cancel event is set, or watch() objects.

    An exception from `watch` (including KeyboardInterrupt) propagates: the caller's `finally` kills the stage.
    """
    events = [event for event in cancels if event is not None]
    start = time.monotonic()
    deadline = start + timeout_s
    next_watch = start + WATCH_PERIOD_S
    while not exited.wait(min(CANCEL_POLL_S, max(0.0, deadline - time.monotonic()))):
        if any(event.is_set() for event in events):
            return Ending(cancelled=True)
        now = time.monotonic()
        if now >= deadline:
            return Ending(timed_out=True)
        if watch is not None and now >= next_watch:
            next_watch = now + WATCH_PERIOD_S
            reason = watch()
            if reason is not None:
                return Ending(stop=reason)
    if any(event.is_set() for event in events):  # killed by stop_all, or cancelled as it ended
        return Ending(cancelled=True)
    return Ending()
