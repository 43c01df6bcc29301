"""Forged outputs, end to end: a submission that writes its own records into results.bin or progress.txt.

Each case is the reference plus an attack that runs at exit (after the harness wrote its honest records, so
the forgery is what the host reads last) or at import. Whatever it forges, grading returns a report with
a clean verdict, never a traceback, and the host does not pay for what a forged header claims.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import grade_submission
from grader.models import Report, Status
from tests.test_integrity import reference_with

pytestmark = [pytest.mark.mnist, pytest.mark.slow]

FORGE = '''
import atexit as _atexit, json as _json, os as _os, struct as _struct, sys as _sys


def _npy(shape, descr="<f8"):
    header = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\\n"
    return b"\\x93NUMPY\\x01\\x00" + _struct.pack("<H", len(header)) + header


def _record(meta, blobs=b""):
    head = _json.dumps(meta).encode() if isinstance(meta, dict) else meta
    return b"NNGR" + _struct.pack("<I", len(head)) + head + blobs


def _forge():
    with open(_os.path.join(_sys.argv[2], "{file}"), "ab") as f:
        f.write({payload})


{when}
'''

ATTACKS: dict[str, tuple[str, str, str]] = {
    # name: (file, payload expression, when)
    "deep_json": ("results.bin", '_record(b\'{"name": "momentum", "ok": true, "x": \' + b"[" * 120000 + b"]" * 120000 '
                  '+ b"}")', "_atexit.register(_forge)"),
    "momentum_33_steps": ("results.bin", '_record({"name": "momentum", "ok": True, "steps": 33, "calls": 33, '
                          '"params_changed": True, "arrays": ["0_W1"]}, _npy((6000, 600)) + bytes(6000 * 600 * 8))',
                          "_atexit.register(_forge)"),
    "terabyte_header": ("results.bin", '_record({"name": "test", "ok": True, "arrays": ["predictions"]}, '
                        '_npy((2 ** 40,), "<i8") + bytes(64))', "_atexit.register(_forge)"),
    "wrong_width": ("results.bin", '_record({"name": "gradients", "ok": True, "form": "dict", "arrays": ["W1"]}, '
                    '_npy((784, 65)) + bytes(784 * 65 * 8))', "_atexit.register(_forge)"),
    "garbage_first": ("results.bin", 'b"\\x00garbage" * 1000', "_forge()"),
    "progress_flood": ("progress.txt", '(b"beat 1 1 1 1.0\\n" * 200000) + b"done probe\\n"',
                       "_atexit.register(_forge)"),
}

EXPECTED = {  # what the forgery costs the student: the check whose record it replaced, nothing else
    "deep_json": {},
    "momentum_33_steps": {"momentum": "invalid_output"},
    "terabyte_header": {},
    "wrong_width": {"gradients": "gradient_mismatch"},
    "garbage_first": "all",
    "progress_flood": {},
}


def attacked(tmp_path: Path, name: str) -> Path:
    file, payload, when = ATTACKS[name]
    attack = FORGE.replace("{file}", file).replace("{payload}", payload).replace("{when}", when)
    return reference_with(tmp_path, name, replace={"import numpy as np\n": "import numpy as np\n" + attack})


def check(report: Report, name: str) -> None:
    expected = EXPECTED[name]
    if expected == "all":  # garbage before the harness's records: the student loses what the stage showed
        assert report.check("loads").diagnosis == "invalid_output"
        assert "corrupt at byte 0" in report.check("loads").message
        return
    assert isinstance(expected, dict)
    for result in report.checks:
        if result.id in expected:
            assert result.status is Status.FAIL and result.diagnosis == expected[result.id], result
            assert result.hint
        else:
            assert result.status is Status.PASS, (result.id, result.message)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_forged_outputs_get_a_clean_verdict_locally(name: str, tmp_path: Path, mnist_data: Path) -> None:
    started = time.perf_counter()
    report = grade_submission(attacked(tmp_path, name), sandbox="local", data_dir=mnist_data, seed=5)
    check(report, name)
    assert time.perf_counter() - started < 120  # a generous hang guard, not a benchmark


@pytest.mark.docker
@pytest.mark.parametrize("name", ["momentum_33_steps", "garbage_first", "progress_flood"])
def test_forged_outputs_get_a_clean_verdict_in_docker(name: str, tmp_path: Path, mnist_data: Path,
                                                      docker_ready: str) -> None:
    check(grade_submission(attacked(tmp_path, name), sandbox="docker", data_dir=mnist_data, seed=5), name)


def test_the_cli_prints_a_report_not_a_traceback(tmp_path: Path, mnist_data: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "grader", "check", str(attacked(tmp_path, "deep_json")),
                             "--sandbox", "local", "--data-dir", str(mnist_data), "--seed", "5"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "100/100" in result.stdout
