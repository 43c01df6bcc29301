"""grader.data.mnist: IDX reading, checksum verification, the prepared .npy cache."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import pytest
from numpy.typing import NDArray

from grader.data import mnist
from grader.data.mnist import (
    FILES,
    SHA256,
    PreparedMnist,
    default_cache_dir,
    load_arrays,
    prepare,
    read_idx,
    resolve_data_dir,
    verify,
)
from grader.errors import DataError, GraderError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="session")
def mnist_dir(mnist_data: Path) -> Path:
    """The real MNIST copy (tests/conftest.py: fails in CI when missing)."""
    return mnist_data


@pytest.fixture(scope="session")
def real(mnist_dir: Path) -> dict[str, NDArray[Any]]:
    """The four real arrays, decoded once for the whole session."""
    return {name: read_idx(mnist_dir / f"{filename}.gz") for name, filename in FILES.items()}


@pytest.fixture(scope="session")
def prepared(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PreparedMnist:
    return prepare(mnist_dir, tmp_path_factory.mktemp("cache"))


def _copy_dir(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for filename in FILES.values():
        shutil.copy(src / f"{filename}.gz", dest / f"{filename}.gz")
    return dest


def _idx_bytes(array: NDArray[Any], type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# --------------------------------------------------------------------------- read_idx


@pytest.mark.mnist
def test_read_idx_shapes_and_dtypes(real: dict[str, NDArray[Any]]) -> None:
    assert real["train_images"].shape == (60000, 28, 28)
    assert real["train_labels"].shape == (60000,)
    assert real["test_images"].shape == (10000, 28, 28)
    assert real["test_labels"].shape == (10000,)
    assert all(a.dtype == np.uint8 for a in real.values())
    assert real["train_images"].max() == 255


@pytest.mark.mnist
def test_class_counts_match_readme(real: dict[str, NDArray[Any]]) -> None:
    assert np.bincount(real["train_labels"], minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(real["test_labels"], minlength=10).tolist() == TEST_COUNTS


@pytest.mark.mnist
def test_read_idx_raw_file_equals_gz(mnist_dir: Path, tmp_path: Path, real: dict[str, NDArray[Any]]) -> None:
    raw = tmp_path / FILES["test_labels"]
    raw.write_bytes(gzip.decompress((mnist_dir / f"{raw.name}.gz").read_bytes()))
    np.testing.assert_array_equal(read_idx(raw), real["test_labels"])


@pytest.mark.mnist
def test_read_idx_truncated_gzip(mnist_dir: Path, tmp_path: Path) -> None:
    data = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        read_idx(bad)


def test_read_idx_wrong_magic(tmp_path: Path) -> None:
    bad = tmp_path / "weird-idx1-ubyte"
    bad.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataError, match="weird-idx1-ubyte.*magic"):
        read_idx(bad)


def test_read_idx_wrong_magic_inside_gzip(tmp_path: Path) -> None:
    bad = tmp_path / "inside.gz"
    bad.write_bytes(gzip.compress(b"PK\x03\x04 not idx at all"))
    with pytest.raises(DataError, match="inside.gz"):
        read_idx(bad)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "magic"),
        (b"\x00\x00\x42\x01" + (1).to_bytes(4, "big") + b"x", "type code"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big"), "header"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "payload"),
        (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "payload"),
    ],
)
def test_read_idx_structural_errors(tmp_path: Path, payload: bytes, match: str) -> None:
    bad = tmp_path / "broken-idx"
    bad.write_bytes(payload)
    with pytest.raises(DataError, match=match) as info:
        read_idx(bad)
    assert "broken-idx" in str(info.value)


def test_read_idx_other_dtypes_native_order(tmp_path: Path) -> None:
    values = np.array([[1, -2, 300], [-32768, 32767, 0]], dtype=np.int16)
    path = tmp_path / "shorts.gz"
    path.write_bytes(gzip.compress(_idx_bytes(values, 0x0B)))
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype == np.int16 and out.dtype.isnative and out.flags.writeable


def test_read_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.gz"):
        read_idx(tmp_path / "nope.gz")


def test_data_error_is_grader_error() -> None:
    assert issubclass(DataError, GraderError)


# --------------------------------------------------------------------------- verify


@pytest.mark.mnist
def test_verify_real_dir(mnist_dir: Path) -> None:
    verify(mnist_dir)


@pytest.mark.mnist
def test_verify_accepts_raw_files(mnist_dir: Path, tmp_path: Path) -> None:
    data = _copy_dir(mnist_dir, tmp_path / "d")
    gz = data / "train-labels-idx1-ubyte.gz"
    (data / "train-labels-idx1-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    verify(data)


@pytest.mark.mnist
def test_verify_tampered_copy_names_file(mnist_dir: Path, tmp_path: Path) -> None:
    data = _copy_dir(mnist_dir, tmp_path / "d")
    gz = data / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(gz.read_bytes()))
    content[100] ^= 0x01  # a label changes; the IDX structure stays valid
    gz.unlink()
    (data / "train-labels-idx1-ubyte").write_bytes(bytes(content))
    with pytest.raises(DataError) as info:
        verify(data)
    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message and "checksum" in message
    assert "nngrader data fetch" in message
    assert "t10k" not in message  # only the bad file is blamed


@pytest.mark.mnist
def test_verify_missing_and_corrupt_gz(mnist_dir: Path, tmp_path: Path) -> None:
    data = _copy_dir(mnist_dir, tmp_path / "d")
    (data / "t10k-images-idx3-ubyte.gz").unlink()
    (data / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(DataError) as info:
        verify(data)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte: missing" in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "nngrader data fetch" in message


def test_verify_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nngrader data fetch") as info:
        verify(tmp_path)
    assert all(filename in str(info.value) for filename in FILES.values())


def test_sha256_table_matches_files_table() -> None:
    assert set(SHA256) == set(FILES.values())
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in SHA256.values())


@pytest.mark.mnist
def test_sha256_table_matches_shared_sums(mnist_dir: Path) -> None:
    sums = mnist_dir / "SHA256SUMS.raw"
    if not sums.is_file():
        pytest.skip("no SHA256SUMS.raw next to the data")
    table: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, filename = line.split()
            table[filename] = digest
    assert table == SHA256


# --------------------------------------------------------------------------- prepare


@pytest.mark.mnist
def test_prepare_creates_npy_equal_to_idx(prepared: PreparedMnist, real: dict[str, NDArray[Any]]) -> None:
    arrays = load_arrays(prepared)
    assert set(arrays) == set(FILES)
    for name, array in arrays.items():
        assert isinstance(array, np.memmap) and array.dtype == np.uint8
        expected = real[name].reshape(real[name].shape[0], -1) if name.endswith("images") else real[name]
        assert array.shape == expected.shape
        np.testing.assert_array_equal(array, expected)
    assert arrays["train_images"].shape == (60000, 784)
    assert arrays["test_labels"].shape == (10000,)


@pytest.mark.mnist
def test_prepare_keeps_test_labels_out_of_public(prepared: PreparedMnist) -> None:
    public = prepared.public_dir
    assert prepared.train_images.parent == public
    assert prepared.train_labels.parent == public
    assert prepared.test_images.parent == public
    assert not prepared.test_labels.resolve().is_relative_to(public.resolve())
    assert prepared.test_labels.parent == prepared.hidden_dir
    assert sorted(p.name for p in public.iterdir()) == [
        "test_images.npy",
        "train_images.npy",
        "train_labels.npy",
    ]


@pytest.mark.mnist
def test_prepare_files_are_world_readable(prepared: PreparedMnist) -> None:
    # The sandbox may read public/ as another uid.
    for name in FILES:
        assert getattr(prepared, name).stat().st_mode & 0o444 == 0o444


@pytest.mark.mnist
def test_prepare_second_call_is_cached(prepared: PreparedMnist, tmp_path: Path) -> None:
    cache = prepared.root.parents[1]
    before = {name: getattr(prepared, name).stat().st_mtime_ns for name in FILES}
    # An empty data dir proves the cached path reads nothing from it (no re-hash).
    (tmp_path / "empty").mkdir()
    again = prepare(tmp_path / "empty", cache)
    assert again == prepared
    assert {name: getattr(again, name).stat().st_mtime_ns for name in FILES} == before
    assert not list(prepared.root.rglob("*.tmp"))


@pytest.mark.mnist
def test_prepare_manifest_records_sources(prepared: PreparedMnist) -> None:
    manifest = json.loads((prepared.root / "manifest.json").read_text())
    assert manifest["source_sha256"] == SHA256
    assert manifest["shapes"]["train_images"] == [60000, 784]


@pytest.mark.mnist
def test_prepare_repairs_incomplete_cache(mnist_dir: Path, tmp_path: Path) -> None:
    first = prepare(mnist_dir, tmp_path)
    first.test_labels.unlink()
    with first.train_labels.open("r+b") as f:  # truncated by some crash or a careless user
        f.truncate(100)
    second = prepare(mnist_dir, tmp_path)
    assert second == first
    assert second.test_labels.is_file()
    assert load_arrays(second)["train_labels"].shape == (60000,)


@pytest.mark.mnist
def test_prepare_concurrent_callers(mnist_dir: Path, tmp_path: Path) -> None:
    results: list[PreparedMnist] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(prepare(mnist_dir, tmp_path))
        except BaseException as exc:  # noqa: BLE001 - report any failure from the thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and results[0] == results[1]
    assert load_arrays(results[0])["test_images"].shape == (10000, 784)
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.mnist
def test_prepare_refuses_tampered_data(mnist_dir: Path, tmp_path: Path) -> None:
    data = _copy_dir(mnist_dir, tmp_path / "d")
    gz = data / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(gz.read_bytes()))
    content[-1] ^= 0x01
    gz.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        prepare(data, tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("manifest.json"))
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing written before all four pass


def test_prepare_missing_data_tells_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nngrader data fetch"):
        prepare(tmp_path / "empty", tmp_path / "cache")


def test_prepare_uses_default_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNGRADER_DATA_DIR", raising=False)
    with pytest.raises(DataError) as info:
        prepare()
    assert str(tmp_path / "cache" / "mnist") in str(info.value)


def test_prepared_key_is_stable() -> None:
    assert mnist.prepared_key() == mnist.prepared_key()
    assert len(mnist.prepared_key()) == 16


# --------------------------------------------------------------------------- directories


def test_resolve_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NNGRADER_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("NNGRADER_DATA_DIR")
    assert resolve_data_dir() == tmp_path / "cache" / "mnist"
    monkeypatch.setenv("NNGRADER_DATA_DIR", "")  # empty means unset
    assert resolve_data_dir() == tmp_path / "cache" / "mnist"


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("NNGRADER_CACHE_DIR")
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("nngrader", appauthor=False))
    assert default_cache_dir().name == "nngrader"


def test_resolve_data_dir_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_data_dir(Path("~/m")) == tmp_path / "m"


def test_prepare_rejects_a_missing_data_dir_even_when_cached(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        prepare(tmp_path / "no-such-folder", cache_dir=tmp_path / "cache")
