"""Read what a stage wrote, as untrusted data: results.bin and progress.txt.

results.bin is a sequence of records, each `b"NNGR" + uint32 length + JSON meta + arrays`, where the
meta's "arrays" lists the names of the .npy blobs that follow, in order. The host indexes the whole file
once, reading only headers: every JSON document is size- and depth-checked before it is parsed, every
.npy header is parsed by a strict pattern (never evaluated) and must describe a plain little-endian
numeric array that fits in the file. No array data is read until a check asks for an array *with the
shape it expects*; a forged header (shape (2**40,), a width that changes between steps, 1,999 rows
instead of 2,000) is refused before any allocation or arithmetic. Nothing is ever unpickled or evaluated.

Cost bound: the index reads at most MAX_JSON_TOTAL bytes of JSON and MAX_RECORDS headers; an array is
read only in the size a check expects. A forged file therefore costs the host about what an honest one does.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESULTS_FILE = "results.bin"
PROGRESS_FILE = "progress.txt"
MAGIC = b"NNGR"
MAX_RESULTS_BYTES = 256 * 2**20  # larger than any limit a rubric allows a stage to write
MAX_JSON_BYTES = 256 * 1024  # one record's meta
MAX_JSON_TOTAL = 2 * 2**20  # all metas of a stage together
MAX_JSON_DEPTH = 32
MAX_RECORDS = 64
MAX_ARRAYS_PER_RECORD = 128
MAX_NPY_HEADER = 4096
MAX_ELEMENTS = 4_000_000  # the most elements of any array a check asks for
PROGRESS_TAIL_BYTES = 64 * 1024

Dim = int | range
Shape = tuple[Dim, ...]


class UntrustedDataError(Exception):
    """A stage output is missing, too large, a symlink, malformed, or not what the check expects."""


class ShapeMismatch(UntrustedDataError):
    """An array's header is well formed but its shape is not one the check expects (often a student's bug)."""

    def __init__(self, message: str, shape: tuple[int, ...]) -> None:
        super().__init__(message)
        self.shape = shape


# --------------------------------------------------------------------------- the record metas


class UntrustedModel(BaseModel):
    """Base of the models that validate what the harness wrote (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")


class Frame(UntrustedModel):
    """One frame of a student's traceback, inside the submission's files."""

    file: str = Field(default="", max_length=300)
    line: int | None = None
    function: str = Field(default="", max_length=200)
    code: str = Field(default="", max_length=300)


class StudentError(UntrustedModel):
    """An exception raised by student code, as the harness described it."""

    type: str = Field(max_length=200)
    message: str = Field(default="", max_length=2000)
    frames: list[Frame] = Field(default_factory=list, max_length=10)
    line: int | None = None
    file: str | None = Field(default=None, max_length=300)
    phase: str | None = Field(default=None, max_length=20)

    def where(self) -> str:
        """'simple_nn.py line 12 in forward: probs = ...' for the innermost frame in the submission."""
        if self.line is not None:
            return f"{self.file or 'the file'}, line {self.line}"
        if not self.frames:
            return ""
        frame = self.frames[-1]
        code = f": {frame.code[:120]}" if frame.code else ""
        return f"{frame.file} line {frame.line} in {frame.function}{code}"

    def summary(self) -> str:
        """'ZeroDivisionError: division by zero (simple_nn.py line 3 in forward: ...)'."""
        where = self.where()
        text = f"{self.type}: {self.message}" if self.message else self.type
        return f"{text} ({where})" if where else text


class RecordMeta(UntrustedModel):
    """What every record carries."""

    name: str = Field(max_length=50)
    ok: bool = False
    error: StudentError | None = None
    arrays: list[str] = Field(default_factory=list, max_length=MAX_ARRAYS_PER_RECORD)
    problems: dict[str, str] = Field(default_factory=dict, max_length=MAX_ARRAYS_PER_RECORD)
    seconds: float | None = None


M = TypeVar("M", bound=RecordMeta)


# --------------------------------------------------------------------------- reading files safely


def open_untrusted(path: Path) -> int:
    """A read-only descriptor of a regular file, never following a planted symlink or blocking on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise UntrustedDataError(f"{path.name} is missing") from exc
    except OSError as exc:  # ELOOP: a symlink was planted
        raise UntrustedDataError(f"{path.name} could not be opened safely ({exc.strerror})") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UntrustedDataError(f"{path.name} is not a regular file")
    return fd


def json_depth(raw: bytes) -> int:
    """The deepest nesting of [ and { outside strings, computed without recursion."""
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', raw)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def parse_json(raw: bytes, what: str) -> Any:
    """JSON from untrusted bytes: size and depth checked first, so the parser cannot be made to recurse."""
    if len(raw) > MAX_JSON_BYTES:
        raise UntrustedDataError(f"{what} is {len(raw)} bytes of JSON, over the {MAX_JSON_BYTES} byte limit")
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise UntrustedDataError(f"{what} is JSON nested {depth} levels deep (limit {MAX_JSON_DEPTH})")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UntrustedDataError(f"{what} is not valid JSON") from exc


_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER = re.compile(
    r"\{\s*'descr':\s*'(?P<descr>[<>|=][a-z]\d{1,2})',\s*'fortran_order':\s*(?P<fortran>True|False),\s*"
    r"'shape':\s*\((?P<shape>[0-9, ]{0,80})\),?\s*\}\s*$")
_DTYPES = {"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"}


@dataclass(frozen=True)
class ArrayHeader:
    """Where an array's data is in results.bin, and what its header claims."""

    offset: int
    dtype: str
    shape: tuple[int, ...]
    fortran: bool

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.float64)) if self.shape else 1


def _npy_header(data: bytes, what: str) -> tuple[str, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran, header length) of an .npy blob starting `data`; UntrustedDataError if odd."""
    if data[:6] != _NPY_MAGIC or len(data) < 10:
        raise UntrustedDataError(f"{what} is not an .npy array")
    major = data[6]
    if major == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    elif major in (2, 3) and len(data) >= 12:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    else:
        raise UntrustedDataError(f"{what} has an unknown .npy version")
    if length > MAX_NPY_HEADER or start + length > len(data):
        raise UntrustedDataError(f"{what} has an oversized .npy header")
    match = _NPY_HEADER.match(data[start:start + length].decode("latin-1"))
    if match is None or match["descr"] not in _DTYPES:
        raise UntrustedDataError(f"{what} is not a plain numeric array")
    dims = [part.strip() for part in match["shape"].split(",") if part.strip()]
    if len(dims) > 4 or any(len(d) > 12 for d in dims):
        raise UntrustedDataError(f"{what} claims an impossible shape ({match['shape']})")
    return match["descr"], tuple(int(d) for d in dims), match["fortran"] == "True", start + length


# --------------------------------------------------------------------------- the index


@dataclass
class Record:
    """One record of results.bin: its validated base meta, raw meta, and its arrays' headers."""

    meta: dict[str, Any]
    arrays: dict[str, ArrayHeader] = field(default_factory=dict)


@dataclass
class StageResults:
    """The index of one stage's results.bin. `problem` says why indexing stopped early, if it did."""

    path: Path
    records: dict[str, Record] = field(default_factory=dict)
    problem: str = ""

    @classmethod
    def read(cls, out_dir: Path) -> StageResults:
        """Index out_dir/results.bin. Never raises: a missing or broken file is an empty index with a problem."""
        results = cls(out_dir / RESULTS_FILE)
        try:
            fd = open_untrusted(results.path)
        except UntrustedDataError as exc:
            results.problem = str(exc)
            return results
        try:
            results._index(fd)
        except UntrustedDataError as exc:
            results.problem = str(exc)
        finally:
            os.close(fd)
        return results

    def _index(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size > MAX_RESULTS_BYTES:
            raise UntrustedDataError(f"{RESULTS_FILE} is {size} bytes, over the {MAX_RESULTS_BYTES} byte limit")
        offset = json_total = 0
        while offset < size:
            if len(self.records) >= MAX_RECORDS:
                raise UntrustedDataError(f"{RESULTS_FILE} holds more than {MAX_RECORDS} records")
            head = os.pread(fd, 8, offset)
            if len(head) < 8 or head[:4] != MAGIC:
                raise UntrustedDataError(f"{RESULTS_FILE} is corrupt at byte {offset}")
            (length,) = struct.unpack("<I", head[4:])
            json_total += length
            if length > MAX_JSON_BYTES or json_total > MAX_JSON_TOTAL:
                raise UntrustedDataError(f"{RESULTS_FILE} has an oversized record at byte {offset}")
            raw = os.pread(fd, length, offset + 8)
            meta = parse_json(raw, f"{RESULTS_FILE} record at byte {offset}")
            try:
                base = RecordMeta.model_validate(meta)
            except ValidationError as exc:
                raise UntrustedDataError(f"{RESULTS_FILE} record at byte {offset} is malformed") from exc
            offset += 8 + length
            record = Record(meta=meta)
            for key in base.arrays:
                what = f"array {base.name}.{key}"
                blob = os.pread(fd, 12 + MAX_NPY_HEADER, offset)
                dtype, shape, fortran, header = _npy_header(blob, what)
                nbytes = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
                if offset + header + nbytes > size:
                    raise UntrustedDataError(f"{what} claims {nbytes} bytes, more than {RESULTS_FILE} holds")
                record.arrays[key] = ArrayHeader(offset + header, dtype, shape, fortran)
                offset += header + nbytes
            self.records[base.name] = record

    # ------------------------------------------------------------------ what checks call

    def meta(self, name: str, model: type[M]) -> M:
        """Record `name`'s meta validated by `model`; UntrustedDataError when absent or malformed."""
        record = self.records.get(name)
        if record is None:
            raise UntrustedDataError(f"no result for {name}" + (f" ({self.problem})" if self.problem else ""))
        try:
            return model.model_validate(record.meta)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise UntrustedDataError(f"the {name} result is malformed ({where}: {first['msg']})") from exc

    def has_array(self, name: str, key: str) -> bool:
        record = self.records.get(name)
        return record is not None and key in record.arrays

    def array(self, name: str, key: str, shapes: Iterable[Shape], *, integer: bool = False) -> np.ndarray:
        """Array `key` of record `name`, as float64 (int64 when `integer`), if its shape is one of `shapes`.

        The shape is checked against the header before a byte of data is read.
        """
        record = self.records.get(name)
        if record is None or key not in record.arrays:
            raise UntrustedDataError(f"no array {key!r} in the {name} result")
        header = record.arrays[key]
        allowed = list(shapes)
        if not any(_fits(header.shape, shape) for shape in allowed):
            raise ShapeMismatch(f"{name}.{key} has shape {header.shape}, expected {_show(allowed)}", header.shape)
        if header.size > MAX_ELEMENTS:
            raise UntrustedDataError(f"{name}.{key} has {header.size} elements (limit {MAX_ELEMENTS})")
        if integer and header.dtype[1] not in "iub":
            raise UntrustedDataError(f"{name}.{key} holds {header.dtype} values, expected integers")
        dtype = np.dtype(header.dtype)
        fd = open_untrusted(self.path)
        try:
            data = os.pread(fd, header.size * dtype.itemsize, header.offset)
        finally:
            os.close(fd)
        if len(data) != header.size * dtype.itemsize:
            raise UntrustedDataError(f"{name}.{key} was cut short")
        array = np.frombuffer(data, dtype=dtype).reshape(header.shape, order="F" if header.fortran else "C")
        return array.astype(np.int64 if integer else np.float64)


def _fits(shape: tuple[int, ...], expected: Shape) -> bool:
    return len(shape) == len(expected) and all(
        (size in want) if isinstance(want, range) else size == want for size, want in zip(shape, expected, strict=True))


def _show(shapes: list[Shape]) -> str:
    def dim(d: Dim) -> str:
        return f"{d.start}..{d.stop - 1}" if isinstance(d, range) else str(d)

    return " or ".join("(" + ", ".join(dim(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
                       for shape in shapes)


# --------------------------------------------------------------------------- progress.txt


def progress_tail(out_dir: Path, limit: int = PROGRESS_TAIL_BYTES) -> list[str]:
    """The last lines of progress.txt (at most `limit` bytes, ASCII), oldest first."""
    try:
        fd = open_untrusted(out_dir / PROGRESS_FILE)
    except UntrustedDataError:
        return []
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, limit, max(0, size - limit))
    finally:
        os.close(fd)
    lines = data.decode("ascii", "replace").splitlines()
    return [line.strip()[:200] for line in (lines[1:] if size > limit else lines) if line.strip()]


def last_probe(out_dir: Path) -> str | None:
    """The probe that was running when the stage ended (the last `probe P` line)."""
    for line in reversed(progress_tail(out_dir)):
        if line.startswith("probe "):
            return line[6:].strip() or None
    return None

