"""Read what a stage wrote, as untrusted data.

Files are opened with O_NOFOLLOW (a planted symlink is refused, never followed), must be regular files,
are size-capped before reading, and arrays are loaded with allow_pickle=False. JSON is validated by
Pydantic models. Nothing here is ever evaluated or unpickled.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_JSON_BYTES = 256 * 1024
MAX_ARRAY_BYTES = 64 * 2**20


class UntrustedDataError(Exception):
    """A stage output is missing, too large, a symlink, or malformed."""


class StudentError(BaseModel):
    """An exception raised by student code, as the harness described it."""

    model_config = ConfigDict(extra="ignore")
    type: str = Field(max_length=200)
    message: str = Field(default="", max_length=2000)
    frames: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    line: int | None = None
    phase: str | None = Field(default=None, max_length=20)
    classes: list[str] = Field(default_factory=list, max_length=50)

    def where(self) -> str:
        """'line 12 in forward: probs = ...' for the innermost frame in the submission."""
        if self.line is not None:
            return f"line {self.line}"
        if not self.frames:
            return ""
        frame = self.frames[-1]
        return f"line {frame.get('line')} in {frame.get('function')}: {str(frame.get('code', ''))[:120]}"

    def summary(self) -> str:
        """'ZeroDivisionError: division by zero (line 3 in forward: ...)'."""
        where = self.where()
        text = f"{self.type}: {self.message}" if self.message else self.type
        return f"{text} ({where})" if where else text


class ProbeMeta(BaseModel):
    """The JSON a probe wrote beside its arrays."""

    model_config = ConfigDict(extra="ignore")
    ok: bool
    error: StudentError | None = None
    arrays: dict[str, str] = Field(default_factory=dict, max_length=200)
    problems: dict[str, str] = Field(default_factory=dict, max_length=200)
    seconds: float | None = None
    # probe-specific fields, each optional
    form: str | None = Field(default=None, max_length=100)
    changed_params: list[str] = Field(default_factory=list, max_length=50)
    steps: int | None = None
    params_changed: bool | None = None
    losses: list[float] = Field(default_factory=list, max_length=10_000)
    class_name: str | None = Field(default=None, max_length=200)
    candidates: list[str] = Field(default_factory=list, max_length=50)
    params: dict[str, dict[str, Any] | None] = Field(default_factory=dict, max_length=50)


def _read_capped(path: Path, limit: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise UntrustedDataError(f"{path.name} is missing") from exc
    except OSError as exc:  # ELOOP: a symlink was planted
        raise UntrustedDataError(f"{path.name} could not be opened safely ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedDataError(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise UntrustedDataError(f"{path.name} is {info.st_size} bytes, over the {limit} byte limit")
        return f.read(limit + 1)[:limit]


def read_meta(out_dir: Path, probe: str) -> ProbeMeta:
    """The validated `<probe>.json` of a stage."""
    raw = _read_capped(out_dir / f"{probe}.json", MAX_JSON_BYTES)
    try:
        return ProbeMeta.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise UntrustedDataError(f"{probe}.json is malformed") from exc


def read_array(out_dir: Path, meta: ProbeMeta, name: str, max_elements: int = 4_000_000) -> np.ndarray:
    """Array `name` of a probe, as float64, refusing anything but a plain numeric .npy."""
    filename = meta.arrays.get(name)
    if filename is None or "/" in filename or filename.startswith("."):
        raise UntrustedDataError(f"no array {name!r}")
    raw = _read_capped(out_dir / filename, MAX_ARRAY_BYTES)
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UntrustedDataError(f"{filename} is not a valid .npy file") from exc
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub" or array.size > max_elements:
        raise UntrustedDataError(f"{filename} is not a plain numeric array")
    return np.asarray(array, dtype=np.float64)


def read_progress(out_dir: Path) -> list[str]:
    """Probes started, in order (the last one was running when a stage died)."""
    try:
        text = _read_capped(out_dir / "progress.txt", 4096).decode("ascii", "replace")
    except UntrustedDataError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_log(out_dir: Path, name: str, limit: int) -> str:
    """The first `limit` bytes of a log, decoded leniently (non-UTF-8 output is replaced, not fatal)."""
    path = out_dir / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return ""
        data = f.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    return text + ("\n[... output truncated ...]" if len(data) > limit else "")
