"""Writing a file so that a reader, a crash or a kill never sees half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: Path, data: str | bytes | Callable[[IO[bytes]], None], *, mode: int = 0o644) -> None:
    """Write `data` (text as UTF-8, bytes, or a function writing into the open file) to a temporary file in
    the same folder, flush it to disk and rename it over `path`.

    Text with lone surrogates (a student's JSON escapes) is written as \\udcXX instead of failing the write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600 files; a sandbox user may need to read prepared data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
