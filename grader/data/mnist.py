"""MNIST: locate, verify, decode and cache the four IDX files.

The raw data lives in a *data dir* (``resolve_data_dir``) as the four standard files,
gzip-compressed (``X.gz``) or not (``X``). Checksums are always taken on the
*decompressed* content, because gzip output differs between compressors.

``prepare`` decodes them once into plain ``.npy`` files under
``<cache>/prepared/<key>/`` so that every later run just memory-maps them::

    <key>/public/train_images.npy   (60000, 784) uint8   <- mounted read-only into the sandbox
    <key>/public/train_labels.npy   (60000,)     uint8
    <key>/public/test_images.npy    (10000, 784) uint8
    <key>/hidden/test_labels.npy    (10000,)     uint8   <- never leaves the host
    <key>/manifest.json             written last: its presence means "complete"
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from numpy.typing import NDArray

from grader.errors import DataError
from grader.fileio import atomic_write

FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the decompressed IDX files (the README's SHA256SUMS.raw).
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Bump when the prepared layout changes, so an old cache is never mistaken for a new one.
PREPARED_FORMAT = 1
MANIFEST = "manifest.json"
PUBLIC = ("train_images", "train_labels", "test_images")
HIDDEN = ("test_labels",)

_FETCH_HINT = "run `nngrader data fetch` (or pass --data-dir pointing at a folder that has them)"
_GZIP_MAGIC = b"\x1f\x8b"
# IDX type codes -> big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES: dict[int, str] = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """Where nngrader keeps downloads and prepared arrays.

    ``$NNGRADER_CACHE_DIR`` if set, else the platform's user cache dir
    (``~/.cache/nngrader`` on Linux).
    """
    env = os.environ.get("NNGRADER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("nngrader", appauthor=False))


def resolve_data_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the four IDX files: argument > ``$NNGRADER_DATA_DIR`` > cache/mnist."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("NNGRADER_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return default_cache_dir() / "mnist"


# --------------------------------------------------------------------------- raw files


def find_file(data_dir: Path, filename: str) -> Path | None:
    """Path of ``filename`` in ``data_dir`` as ``filename.gz`` or raw ``filename``, else None.

    The ``.gz`` wins when both exist because that is what ``fetch`` writes.
    """
    for candidate in (data_dir / f"{filename}.gz", data_dir / filename):
        if candidate.is_file():
            return candidate
    return None


def _is_gzip(path: Path) -> bool:
    # Sniff the magic rather than trust the suffix: a mirror or a user may hand us either.
    with path.open("rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _open_content(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading its decompressed content."""
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with _open_content(path) as f:
            while chunk := f.read(_CHUNK):
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read or decompress ({exc}); the file is corrupt") from exc


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of the *decompressed* content of ``path`` (streamed, low memory)."""
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _read_content(path: Path) -> bytes:
    return b"".join(_chunks(path))


def _parse_idx(data: bytes, path: Path) -> NDArray[Any]:
    """Decode IDX bytes; every structural problem becomes a DataError naming ``path``."""
    if len(data) < 4 or data[0:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX data type code 0x{type_code:02x}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(
            f"{path}: IDX payload is {len(data) - header} bytes but shape {shape} needs {expected}"
        )
    flat = np.frombuffer(data, dtype=dtype, offset=header)
    # astype copies: the result is writable and in native byte order.
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path: Path) -> NDArray[Any]:
    """Read an IDX file (gzip-compressed or raw) into a native-endian array of its declared shape.

    Raises DataError naming the file when it is unreadable, truncated or not IDX.
    """
    path = Path(path)
    return _parse_idx(_read_content(path), path)


def verify(data_dir: Path) -> None:
    """Check that the four MNIST files are in ``data_dir`` with the right content.

    Raises one DataError listing every missing or corrupt file and how to fix it.
    """
    data_dir = Path(data_dir)
    problems: list[str] = []
    for filename, expected in SHA256.items():
        path = find_file(data_dir, filename)
        if path is None:
            problems.append(f"{filename}: missing (looked for {filename}.gz and {filename})")
            continue
        try:
            actual = file_sha256(path)
        except DataError as exc:
            problems.append(str(exc))
            continue
        if actual != expected:
            problems.append(f"{path}: wrong checksum (sha256 {actual[:12]}..., expected {expected[:12]}...)")
    if problems:
        lines = "\n  ".join(problems)
        raise DataError(
            f"MNIST in {data_dir} is incomplete or corrupt:\n  {lines}\nTo fix it, {_FETCH_HINT}."
        )


# --------------------------------------------------------------------------- prepared cache


@dataclass(frozen=True)
class PreparedMnist:
    """Paths of the decoded ``.npy`` files (images (N, 784) uint8, labels (N,) uint8)."""

    root: Path
    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path

    @property
    def public_dir(self) -> Path:
        """Folder safe to mount read-only into the sandbox (no test labels in it)."""
        return self.root / "public"

    @property
    def hidden_dir(self) -> Path:
        """Folder with the test labels; must never be exposed to a submission."""
        return self.root / "hidden"

    @classmethod
    def at(cls, root: Path) -> PreparedMnist:
        """The layout under ``root`` (the files need not exist yet)."""
        paths = {name: root / ("public" if name in PUBLIC else "hidden") / f"{name}.npy" for name in FILES}
        return cls(root=root, **paths)


def prepared_key() -> str:
    """Short, stable folder name for this data set and layout version."""
    material = f"v{PREPARED_FORMAT}:" + ",".join(SHA256[f] for f in FILES.values())
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _manifest_ok(p: PreparedMnist) -> bool:
    """Cheap completeness check: the manifest matches and every file has its recorded size."""
    try:
        manifest = json.loads((p.root / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != PREPARED_FORMAT or manifest.get("source_sha256") != SHA256:
            return False
        sizes: dict[str, int] = manifest["sizes"]
        return all(getattr(p, name).stat().st_size == sizes[name] for name in FILES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _locate_all(data_dir: Path) -> dict[str, Path]:
    """Logical name -> file path for all four files; DataError naming any that are absent."""
    found = {name: find_file(data_dir, filename) for name, filename in FILES.items()}
    present = {name: path for name, path in found.items() if path is not None}
    if len(present) < len(FILES):
        missing = ", ".join(FILES[name] for name in FILES if name not in present)
        raise DataError(f"MNIST in {data_dir} is missing {missing}. To fix it, {_FETCH_HINT}.")
    return present


def _decode_verified(data_dir: Path) -> dict[str, NDArray[np.uint8]]:
    """Decode the four files in memory, checking each checksum before parsing it."""
    arrays: dict[str, NDArray[np.uint8]] = {}
    for name, path in _locate_all(data_dir).items():
        content = _read_content(path)  # decompress once: hash and parse the same bytes
        if hashlib.sha256(content).hexdigest() != SHA256[FILES[name]]:
            verify(data_dir)  # builds the full, friendly message listing every bad file
            raise DataError(f"{path}: wrong checksum (changed while being read). To fix it, {_FETCH_HINT}.")
        array = _parse_idx(content, path).astype(np.uint8, copy=False)
        arrays[name] = array.reshape(array.shape[0], -1) if name.endswith("images") else array
    return arrays


def prepare(data_dir: Path | None = None, cache_dir: Path | None = None) -> PreparedMnist:
    """Decode MNIST once into ``.npy`` files under ``cache_dir/prepared/<key>/`` and return their paths.

    Returns immediately (without reading ``data_dir``) when a complete prepared copy exists.
    Safe against concurrent callers and crashes: every file is written atomically and the
    manifest, written last, is what marks the copy complete.
    """
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        # Checked even when a prepared copy exists: a mistyped --data-dir must not pass silently.
        raise DataError(f"MNIST folder {data_dir} does not exist: pass a folder with the four .gz files, "
                        "or run `nngrader data fetch`")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    prepared = PreparedMnist.at(cache / "prepared" / prepared_key())
    if _manifest_ok(prepared):
        return prepared
    arrays = _decode_verified(resolve_data_dir(data_dir))
    for name, array in arrays.items():
        atomic_write(getattr(prepared, name), functools.partial(np.save, arr=array, allow_pickle=False))
    manifest = {
        "format": PREPARED_FORMAT,
        "source_sha256": SHA256,
        "shapes": {name: list(a.shape) for name, a in arrays.items()},
        "sizes": {name: getattr(prepared, name).stat().st_size for name in FILES},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True).encode()
    atomic_write(prepared.root / MANIFEST, text)
    return prepared


def load_arrays(p: PreparedMnist) -> dict[str, NDArray[np.uint8]]:
    """Memory-map the prepared arrays (read-only, no copy), keyed like ``FILES``."""
    try:
        return {name: np.load(getattr(p, name), mmap_mode="r", allow_pickle=False) for name in FILES}
    except (OSError, ValueError) as exc:
        raise DataError(f"prepared MNIST in {p.root} is unreadable ({exc}); delete that folder") from exc
