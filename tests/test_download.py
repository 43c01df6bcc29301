"""grader.data.download.fetch against local HTTP servers on 127.0.0.1 (no real network)."""

from __future__ import annotations

import functools
import gzip
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from grader.data import download
from grader.data.download import MIRRORS, fetch
from grader.data.mnist import FILES, find_file, verify
from grader.errors import DataError

pytestmark = pytest.mark.mnist

GZ_NAMES = [f"{f}.gz" for f in FILES.values()]


@pytest.fixture(scope="session")
def mnist_dir(mnist_data: Path) -> Path:
    """The real MNIST copy (tests/conftest.py: fails in CI when missing)."""
    return mnist_data


class _Quiet(SimpleHTTPRequestHandler):
    """Serves a folder; counts requests per path; keeps pytest output clean."""

    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()


class _Flaky(_Quiet):
    """Answers 503 to the first ``failures`` requests, then serves normally."""

    failures = 0

    def do_GET(self) -> None:
        if len(self.requests) < self.failures:
            self.requests.append(self.path)
            self.send_error(503, "try later")
            return
        super().do_GET()


@contextmanager
def _serve(directory: Path, handler: type[_Quiet] = _Quiet, **attrs: Any) -> Iterator[tuple[str, list[str]]]:
    """Run an HTTP server for ``directory`` on 127.0.0.1; yield (base URL, request log)."""
    log: list[str] = []
    cls = type("Handler", (handler,), {"requests": log, **attrs})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(cls, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def good_mirror(mnist_dir: Path) -> Iterator[tuple[str, list[str]]]:
    with _serve(mnist_dir) as served:
        yield served


def _dead_url() -> str:
    """A URL on a port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _corrupted_copy(mnist_dir: Path, dest: Path, victim: str) -> Path:
    """Copy the real files with ``victim`` changed by one byte (still valid gzip and IDX)."""
    dest.mkdir()
    for name in GZ_NAMES:
        shutil.copy(mnist_dir / name, dest / name)
    content = bytearray(gzip.decompress((dest / victim).read_bytes()))
    content[-1] ^= 0x01
    (dest / victim).write_bytes(gzip.compress(bytes(content)))
    return dest


def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(download, "sleep", delays.append)
    return delays


def test_default_mirrors() -> None:
    assert MIRRORS[0].startswith("https://") and all(m.endswith("/") for m in MIRRORS)
    assert len(MIRRORS) == 3


def test_fetch_from_local_server(good_mirror: tuple[str, list[str]], tmp_path: Path) -> None:
    url, log = good_mirror
    seen: dict[str, tuple[int, int]] = {}

    def progress(name: str, done: int, total: int) -> None:
        seen[name] = (done, total)

    dest = tmp_path / "mnist"
    assert fetch(dest, mirrors=[url], progress=progress) == dest
    verify(dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted(GZ_NAMES)  # no temp leftovers
    assert sorted(log) == sorted(f"/{n}" for n in GZ_NAMES)
    assert set(seen) == set(FILES.values())
    assert all(done == total > 0 for done, total in seen.values())
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in dest.iterdir())


def test_fetch_skips_verified_files(
    good_mirror: tuple[str, list[str]], mnist_dir: Path, tmp_path: Path
) -> None:
    url, log = good_mirror
    dest = tmp_path / "mnist"
    dest.mkdir()
    for name in GZ_NAMES[:3]:
        shutil.copy(mnist_dir / name, dest / name)
    fetch(dest, mirrors=[url])
    assert log == [f"/{GZ_NAMES[3]}"]
    log.clear()
    fetch(dest, mirrors=[url])
    assert log == []
    verify(dest)


def test_fetch_replaces_corrupt_local_file(
    good_mirror: tuple[str, list[str]], mnist_dir: Path, tmp_path: Path
) -> None:
    url, log = good_mirror
    dest = tmp_path / "mnist"
    dest.mkdir()
    for name in GZ_NAMES:
        shutil.copy(mnist_dir / name, dest / name)
    victim = FILES["train_labels"]
    (dest / f"{victim}.gz").unlink()
    (dest / victim).write_bytes(b"\x00\x00\x08\x01garbage")  # raw form, wrong content
    fetch(dest, mirrors=[url])
    assert log == [f"/{victim}.gz"]
    assert find_file(dest, victim) == dest / f"{victim}.gz"
    assert not (dest / victim).exists()  # the corrupt raw file is gone
    verify(dest)


def test_fetch_uses_env_data_dir(
    good_mirror: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNGRADER_DATA_DIR", str(tmp_path / "env-mnist"))
    assert fetch(mirrors=[good_mirror[0]]) == tmp_path / "env-mnist"
    verify(tmp_path / "env-mnist")


def test_fetch_404_falls_over_without_retrying(
    good_mirror: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = _no_sleep(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    with _serve(empty) as (bad_url, bad_log):
        dest = fetch(tmp_path / "mnist", mirrors=[bad_url, good_mirror[0]], retries=3)
    verify(dest)
    # 404 is final: one request, no backoff; then the good mirror is preferred for the rest.
    assert bad_log == [f"/{GZ_NAMES[0]}"]
    assert delays == []


def test_fetch_corrupted_mirror_falls_over(
    good_mirror: tuple[str, list[str]], mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_sleep(monkeypatch)
    victim = GZ_NAMES[3]
    bad_dir = _corrupted_copy(mnist_dir, tmp_path / "bad", victim)
    url, good_log = good_mirror
    with _serve(bad_dir) as (bad_url, bad_log):
        dest = fetch(tmp_path / "mnist", mirrors=[bad_url, url], retries=3)
    verify(dest)
    assert bad_log.count(f"/{victim}") == 1  # a wrong checksum is not retried on the same mirror
    assert good_log == [f"/{victim}"]
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_fetch_only_corrupted_mirror_fails(mnist_dir: Path, tmp_path: Path) -> None:
    victim = GZ_NAMES[1]
    bad_dir = _corrupted_copy(mnist_dir, tmp_path / "bad", victim)
    dest = tmp_path / "mnist"
    with _serve(bad_dir) as (bad_url, _), pytest.raises(DataError) as info:
        fetch(dest, mirrors=[bad_url], backoff=0)
    assert "wrong checksum" in str(info.value) and victim in str(info.value)
    assert not (dest / victim).exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_fetch_all_mirrors_dead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    delays = _no_sleep(monkeypatch)
    dead = [_dead_url(), _dead_url()]
    dest = tmp_path / "mnist"
    with pytest.raises(DataError) as info:
        fetch(dest, mirrors=dead, retries=2, timeout=5)
    message = str(info.value)
    assert "no internet? copy the four .gz files into" in message
    assert str(dest) in message and "--data-dir" in message
    assert all(url in message for url in dead)
    assert "ConnectionRefusedError" in message and "3 attempts" in message
    assert delays == [0.5, 1.0, 0.5, 1.0]  # exponential backoff, per mirror
    assert list(dest.iterdir()) == []


def test_fetch_retries_until_success(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = _no_sleep(monkeypatch)
    with _serve(mnist_dir, _Flaky, failures=2) as (url, log):
        dest = fetch(tmp_path / "mnist", mirrors=[url], retries=2, backoff=0.25)
    verify(dest)
    assert log[:3] == [f"/{GZ_NAMES[0]}"] * 3  # two 503s, then the real thing
    assert len(log) == 2 + len(GZ_NAMES)
    assert delays == [0.25, 0.5]


def test_fetch_gives_up_after_retries(
    mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_sleep(monkeypatch)
    with _serve(mnist_dir, _Flaky, failures=5) as (url, log), pytest.raises(DataError) as info:
        fetch(tmp_path / "mnist", mirrors=[url], retries=2)
    assert len(log) == 3  # 1 try + 2 retries, then no further files are attempted
    assert "HTTP 503" in str(info.value)


def test_fetch_accepts_mirror_without_trailing_slash(
    good_mirror: tuple[str, list[str]], tmp_path: Path
) -> None:
    verify(fetch(tmp_path / "mnist", mirrors=[good_mirror[0].rstrip("/")]))


def test_fetch_no_mirrors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="mirror"):
        fetch(tmp_path, mirrors=[])


def test_fetch_unwritable_dest(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write"):
        fetch(blocker / "mnist", mirrors=[_dead_url()])
