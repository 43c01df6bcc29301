"""The result stream is hostile input: every way of forging it gives UntrustedDataError, never a crash.

Honest records are written with the harness's own writer, then forged, truncated and fuzzed. The reader
must never raise anything but UntrustedDataError, never allocate what a header merely claims, and never
follow a link or block on a FIFO.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import struct
import tracemalloc
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from grader.harness import HARNESS_PATH
from grader.results import (
    MAX_JSON_DEPTH,
    RecordMeta,
    ShapeMismatch,
    StageResults,
    UntrustedDataError,
    json_depth,
    progress_tail,
)


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nngrader_harness_under_test", HARNESS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(harness: ModuleType, out: Path, records: list[tuple[str, dict[str, object], dict[str, object]]]) -> Path:
    out.mkdir(exist_ok=True)
    output = harness.Output(str(out))
    for name, meta, arrays in records:
        output.record(name, dict(meta), arrays)
    output.results.close()
    output.progress_file.close()
    return out


def forged_record(name: str, meta: dict[str, object], blobs: bytes = b"") -> bytes:
    head = json.dumps({"name": name, **meta}).encode()
    return b"NNGR" + struct.pack("<I", len(head)) + head + blobs


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_honest_records_round_trip(harness: ModuleType, tmp_path: Path) -> None:
    out = write(harness, tmp_path / "out", [
        ("forward", {"ok": True}, {"output": np.arange(20.0).reshape(4, 5)}),
        ("test", {"ok": True}, {"predictions": np.arange(7, dtype=np.int64), "missing": None}),
    ])
    results = StageResults.read(out)
    assert results.problem == ""
    assert results.meta("forward", RecordMeta).ok
    assert results.array("forward", "output", [(4, 5)]).sum() == 190
    assert results.array("test", "predictions", [(range(1, 10),)], integer=True).dtype == np.int64
    assert results.meta("test", RecordMeta).problems == {"missing": "None"}


def test_a_shape_other_than_expected_is_refused_before_reading(harness: ModuleType, tmp_path: Path) -> None:
    out = write(harness, tmp_path / "out", [("forward", {"ok": True}, {"output": np.zeros((1999, 10))})])
    with pytest.raises(ShapeMismatch, match=r"\(1999, 10\), expected \(2000, 10\)") as caught:
        StageResults.read(out).array("forward", "output", [(2000, 10)])
    assert caught.value.shape == (1999, 10)


def test_a_header_claiming_terabytes_allocates_nothing(tmp_path: Path) -> None:
    (tmp_path / "results.bin").write_bytes(forged_record("test", {"ok": True, "arrays": ["predictions"]},
                                                         npy_header((2**40,)) + b"\0" * 64))
    tracemalloc.start()
    results = StageResults.read(tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "claims" in results.problem and peak < 10 * 2**20
    with pytest.raises(UntrustedDataError):
        results.array("test", "predictions", [(10000,)])


def test_json_nested_deeply_is_refused_without_recursion(tmp_path: Path) -> None:
    for depth, problem in ((120_000, "levels deep"), (200_000, "oversized record")):  # within / over the size cap
        deep = b"[" * depth + b"]" * depth
        head = b'{"name": "momentum", "ok": true, "x": ' + deep + b"}"
        (tmp_path / "results.bin").write_bytes(b"NNGR" + struct.pack("<I", len(head)) + head)
        assert problem in StageResults.read(tmp_path).problem
    assert json_depth(b'{"a": "[[[[[[", "b": [[1]]}') == 3  # brackets inside strings do not count
    shallow = b'{"name": "x", "v": ' + b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5) + b"}"
    (tmp_path / "results.bin").write_bytes(b"NNGR" + struct.pack("<I", len(shallow)) + shallow)
    assert "levels deep" in StageResults.read(tmp_path).problem


def test_a_planted_symlink_or_fifo_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(forged_record("forward", {"ok": True}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.bin").symlink_to(secret)
    assert "opened safely" in StageResults.read(out).problem
    (out / "results.bin").unlink()
    os.mkfifo(out / "results.bin")
    assert "not a regular file" in StageResults.read(out).problem  # returns at once: no blocking open
    os.mkfifo(out / "progress.txt")
    assert progress_tail(out) == []


def test_a_malformed_meta_is_untrusted_data(harness: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "results.bin").write_bytes(forged_record("momentum", {"ok": True, "steps": "many"}))
    from grader.checks.momentum import MomentumMeta

    with pytest.raises(UntrustedDataError, match="steps"):
        StageResults.read(tmp_path).meta("momentum", MomentumMeta)


def _mutations(honest: bytes, rng: np.random.Generator) -> list[bytes]:
    cases = [rng.bytes(int(rng.integers(0, 4096))) for _ in range(200)]
    cases += [b"NNGR" + rng.bytes(int(rng.integers(0, 300))) for _ in range(200)]
    for _ in range(1500):
        data = bytearray(honest)
        kind = int(rng.integers(0, 4))
        if kind == 0:  # flip bytes
            for _ in range(int(rng.integers(1, 8))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        elif kind == 1:  # truncate
            data = data[: int(rng.integers(0, len(data)))]
        elif kind == 2:  # splice a chunk elsewhere
            a, b = sorted(int(v) for v in rng.integers(0, len(data), size=2))
            data[int(rng.integers(0, len(data))):] = data[a:b]
        else:  # overwrite a length or a header field
            at = int(rng.integers(0, len(data) - 4))
            data[at:at + 4] = struct.pack("<I", int(rng.integers(0, 2**32)))
        cases.append(bytes(data))
    return cases


def test_fuzzed_result_files_never_raise_anything_else(harness: ModuleType, tmp_path: Path) -> None:
    honest_dir = write(harness, tmp_path / "honest", [
        ("build", {"ok": True, "class_name": "SimpleNN"}, {}),
        ("forward", {"ok": True}, {"output": np.random.default_rng(0).random((32, 10))}),
        ("momentum", {"ok": True, "steps": 2}, {"0_W1": np.ones((3, 4)), "0_X": np.ones((2, 3)),
                                                "1_W1": np.ones((3, 4)), "1_X": np.ones((2, 3))}),
    ])
    honest = (honest_dir / "results.bin").read_bytes()
    target = tmp_path / "fuzz"
    target.mkdir()
    from grader.checks.momentum import MomentumMeta

    for data in _mutations(honest, np.random.default_rng(1234)):
        (target / "results.bin").write_bytes(data)
        results = StageResults.read(target)  # never raises
        for name, model in (("build", RecordMeta), ("forward", RecordMeta), ("momentum", MomentumMeta)):
            with contextlib.suppress(UntrustedDataError):
                results.meta(name, model)
        for name, key, shape in (("forward", "output", (32, 10)), ("momentum", "0_W1", (3, 4)),
                                 ("momentum", "1_X", (range(1, 5), 3))):
            try:
                array = results.array(name, key, [shape])
                assert array.dtype == np.float64
            except UntrustedDataError:
                pass
