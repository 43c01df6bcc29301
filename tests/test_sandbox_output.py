"""Host-side output capture (head + tail, the middle counted) and stage supervision (cancel, deadline, watch)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from grader.sandbox.base import Ending, StopReason
from grader.sandbox.output import OutputTail, PipeDrain
from grader.sandbox.supervise import supervise


def test_short_output_is_kept_whole() -> None:
    tail = OutputTail(100)
    tail.feed(b"hello ")
    tail.feed(b"world\n")
    assert tail.text() == "hello world\n"
    assert (tail.total, tail.dropped) == (12, 0)


def test_long_output_keeps_head_and_tail_and_says_how_much_was_dropped() -> None:
    tail = OutputTail(10)
    for chunk in (b"ABCDE", b"x" * 1000, b"12345"):
        tail.feed(chunk)
    assert tail.text() == "ABCDE\n[... 1000 bytes dropped ...]\n12345"
    assert tail.total == 1010


def test_many_small_writes_keep_exactly_the_last_bytes() -> None:
    tail = OutputTail(16)
    for number in range(10_000):
        tail.feed(b"%d," % number)
    text = tail.text()
    assert text.startswith("0,1,2,3,\n[... ")
    assert text.endswith("98,9999,")
    assert tail.dropped == tail.total - 16


def test_undecodable_bytes_are_replaced_not_fatal() -> None:
    tail = OutputTail(100)
    tail.feed(b"caf\xe9 \xff\xfe ok")
    assert tail.text() == "caf\ufffd \ufffd\ufffd ok"


def test_pipes_are_drained_while_the_process_prints_more_than_a_pipe_holds() -> None:
    code = "import sys; sys.stdout.write('o' * 5_000_000); sys.stderr.write('e' * 300_000); print('end')"
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=out_write, stderr=err_write)
    os.close(out_write)
    os.close(err_write)
    drain = PipeDrain(out_read, err_read, 1024)
    assert process.wait(timeout=60) == 0  # never blocked on a full pipe
    drain.finish()
    assert drain.stdout.total == 5_000_004 and drain.stderr.total == 300_000
    assert drain.stdout.text().endswith("oooend\n")
    assert "[... 4998980 bytes dropped ...]" in drain.stdout.text()


def test_drain_gives_up_on_a_pipe_held_open_by_a_survivor() -> None:
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    os.write(out_write, b"partial")
    drain = PipeDrain(out_read, err_read, 1024)
    drain.finish(grace_s=0.2)  # out_write is still open (a child that escaped): returns anyway
    assert drain.stdout.text() == "partial"
    os.close(out_write)
    os.close(err_write)


# --------------------------------------------------------------------------- supervise


def test_a_stage_that_exits_ends_with_nothing_set() -> None:
    exited = threading.Event()
    exited.set()
    assert supervise(exited, 10, [None]) == Ending()


def test_deadline_cancel_and_watch_each_end_the_wait() -> None:
    assert supervise(threading.Event(), 0.2, []).timed_out
    cancel = threading.Event()
    cancel.set()
    assert supervise(threading.Event(), 10, [None, cancel]).cancelled
    reason = StopReason(code="stalled", message="no progress for 30 s")
    calls: list[int] = []

    def watch() -> StopReason | None:
        calls.append(1)
        return reason if len(calls) >= 2 else None

    ending = supervise(threading.Event(), 10, [], watch)
    assert ending.stop == reason and not ending.timed_out
    assert len(calls) == 2


def test_an_exception_in_watch_reaches_the_caller() -> None:
    def watch() -> StopReason | None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        supervise(threading.Event(), 10, [], watch)
