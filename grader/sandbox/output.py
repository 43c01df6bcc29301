"""A stage's stdout and stderr, drained on the host: bounded head and tail, the middle counted and dropped.

The stage writes into a pipe (local) or the container's attach stream (Docker); a host thread reads it as
fast as it comes, so printing never blocks on a full pipe, never fills a disk and never voids results.
`OutputTail` keeps the first and last bytes; `PipeDrain` reads local pipes into two of them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time

CHUNK = 65536
DRAIN_GRACE_S = 1.0  # after the stage ended, how long to wait for output still in flight


class OutputTail:
    """The first limit//2 and the last limit - limit//2 bytes of a stream, and its total length."""

    def __init__(self, limit: int) -> None:
        self.head_max = max(0, limit // 2)
        self.tail_max = max(0, limit - self.head_max)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes | memoryview) -> None:
        self.total += len(data)
        room = self.head_max - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data or self.tail_max == 0:
            return
        self.tail += data
        if len(self.tail) > 2 * self.tail_max:  # trim in batches: amortised O(1) per byte
            del self.tail[:-self.tail_max]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - min(len(self.tail), self.tail_max)

    def text(self) -> str:
        """Head + '[... N bytes dropped ...]' + tail, decoded as UTF-8 with replacement characters."""
        tail = bytes(self.tail[-self.tail_max:]) if self.tail_max else b""
        if self.dropped == 0:
            return (bytes(self.head) + tail).decode("utf-8", "replace")
        return (bytes(self.head).decode("utf-8", "replace") + f"\n[... {self.dropped} bytes dropped ...]\n"
                + tail.decode("utf-8", "replace"))


class PipeDrain:
    """Reads a process's stdout and stderr pipes in a thread, into two OutputTails."""

    def __init__(self, stdout: int, stderr: int, limit: int) -> None:
        self.stdout, self.stderr = OutputTail(limit), OutputTail(limit)
        self._fds = {stdout: self.stdout, stderr: self.stderr}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nngrader-output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for fd in self._fds:
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ)
            open_fds = set(self._fds)
            while open_fds and not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    fd = int(key.fd)
                    try:
                        data = os.read(fd, CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        self._fds[fd].feed(data)
                    else:
                        selector.unregister(fd)
                        open_fds.discard(fd)

    def finish(self, grace_s: float = DRAIN_GRACE_S) -> None:
        """Wait for end of file on both pipes (at most grace_s: a surviving child may hold them), then close."""
        deadline = time.monotonic() + grace_s
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        self._thread.join()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
