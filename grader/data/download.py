"""Download the four MNIST files from public mirrors (stdlib urllib only).

Every file is checked against ``SHA256`` (on its decompressed content) before it replaces
anything in the destination, so a bad mirror can never leave a corrupt file behind.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import sleep
from typing import IO

from grader.data.mnist import SHA256, _is_gzip, file_sha256, find_file, resolve_data_dir
from grader.errors import DataError

MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

Progress = Callable[[str, int, int], None]
"""``progress(filename, bytes_done, bytes_total)``; ``bytes_total`` is 0 when the server does not say."""

DEFAULT_BACKOFF = 0.5
# Worth asking the same mirror again: the server said "later", not "no".
_RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_CHUNK = 1 << 16
_USER_AGENT = "nngrader (MNIST fetch)"


class _MirrorFailed(Exception):
    """This mirror cannot give us this file; the message says why. Move on to the next one."""


class _Permanent(Exception):
    """Retrying the same URL will not help (404, wrong checksum)."""


@dataclass(frozen=True)
class _Options:
    retries: int
    timeout: float
    progress: Progress | None
    backoff: float


def fetch(
    dest: Path | None = None,
    *,
    mirrors: list[str] | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    progress: Progress | None = None,
    backoff: float = DEFAULT_BACKOFF,
) -> Path:
    """Download whatever of the four MNIST ``.gz`` files ``dest`` lacks, verify them, return ``dest``.

    ``dest`` defaults to ``resolve_data_dir()``. Files already present with the right checksum
    are kept. Each mirror is tried in order; a mirror gets ``1 + retries`` attempts for
    transient failures (connection errors, timeouts, HTTP 5xx/429) with exponential backoff
    starting at ``backoff`` seconds, while a 404 or a wrong checksum moves on at once.
    Raises DataError (listing the mirrors tried and the last error) when a file cannot be had.
    """
    target = resolve_data_dir(dest)
    _ensure_writable(target)
    order = list(MIRRORS if mirrors is None else mirrors)
    if not order:
        raise DataError("no MNIST mirrors given; pass at least one URL")
    opts = _Options(retries=max(0, retries), timeout=timeout, progress=progress, backoff=backoff)
    for filename in SHA256:
        if _already_ok(target, filename):
            continue
        used = _fetch_file(filename, target, order, opts)
        # Ask the mirror that just worked first next time: saves waiting on a dead one 4 times.
        order.remove(used)
        order.insert(0, used)
    return target


def _ensure_writable(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=dest):
            pass
    except OSError as exc:
        raise DataError(f"cannot write MNIST into {dest} ({exc}); pass another --data-dir") from exc


def _already_ok(dest: Path, filename: str) -> bool:
    path = find_file(dest, filename)
    if path is None:
        return False
    try:
        return file_sha256(path) == SHA256[filename]
    except DataError:
        return False  # unreadable: download a good one over it


def _url(mirror: str, filename: str) -> str:
    return f"{mirror.rstrip('/')}/{filename}.gz"


def _fetch_file(filename: str, dest: Path, mirrors: list[str], opts: _Options) -> str:
    """Get ``filename`` from the first mirror that serves it correctly; return that mirror."""
    tried: list[str] = []
    for mirror in mirrors:
        url = _url(mirror, filename)
        try:
            _fetch_with_retries(url, filename, dest, opts)
            return mirror
        except _MirrorFailed as exc:
            tried.append(f"{url}: {exc}")
    raise DataError(_failure_message(filename, dest, tried))


def _failure_message(filename: str, dest: Path, tried: list[str]) -> str:
    listing = "\n  ".join(tried)
    names = ", ".join(f"{f}.gz" for f in SHA256)
    return (
        f"could not download MNIST file {filename}.gz from any mirror.\n"
        f"Mirrors tried:\n  {listing}\n"
        f"Last error: {tried[-1]}\n"
        f"no internet? copy the four .gz files into {dest} or pass --data-dir ({names})."
    )


def _fetch_with_retries(url: str, filename: str, dest: Path, opts: _Options) -> None:
    last: BaseException | None = None
    for attempt in range(opts.retries + 1):
        if attempt:
            sleep(opts.backoff * 2 ** (attempt - 1))
        try:
            _download_verified(url, filename, dest, opts)
            return
        except _Permanent as exc:
            raise _MirrorFailed(str(exc)) from exc
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code not in _RETRYABLE_HTTP:
                raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from exc
            last = exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            # Connection refused/reset, DNS failure, timeout, truncated transfer: may pass.
            last = exc
    raise _MirrorFailed(f"{_describe(last)} (gave up after {opts.retries + 1} attempts)")


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc.reason).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _download_verified(url: str, filename: str, dest: Path, opts: _Options) -> None:
    """Download ``url`` to a temp file in ``dest``; move it into place only if its checksum is right."""
    fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            _stream(url, filename, f, opts)
        _check(tmp, filename)
        # Mirrors serve .gz, but if one hands out raw IDX we keep it under its true name.
        final = dest / (f"{filename}.gz" if _is_gzip(tmp) else filename)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a sandbox running as another uid
        os.replace(tmp, final)
        # The other form (raw vs .gz) may be a corrupt leftover that find_file would still pick.
        other = dest / filename if final.suffix == ".gz" else dest / f"{filename}.gz"
        other.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)


def _check(path: Path, filename: str) -> None:
    try:
        actual = file_sha256(path)
    except DataError as exc:
        raise _Permanent(f"downloaded file is not valid gzip/IDX ({exc.__cause__})") from exc
    if actual != SHA256[filename]:
        raise _Permanent(f"wrong checksum (sha256 {actual[:12]}..., expected {SHA256[filename][:12]}...)")


def _stream(url: str, filename: str, out: IO[bytes], opts: _Options) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=opts.timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if opts.progress is not None:
                opts.progress(filename, done, total)
    if total and done != total:
        raise http.client.IncompleteRead(b"", total - done)
