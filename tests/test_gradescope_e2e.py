"""The Gradescope package run as Gradescope runs it: setup.sh once, then run_autograder per submission, as root.

Emulation (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a container from the local grading
image (Debian bookworm) started by the test, as root, with no Docker engine inside:

1. the zip (built by `nngrader gradescope package`, default: a wheel of this nngrader) is extracted to
   /autograder/source and setup.sh runs once, with network (Debian and the package index, through the host's
   CA bundle); MNIST is copied in beforehand, since the test machine cannot reach the MNIST mirrors
   (`nngrader data fetch` then only verifies the checksums);
2. that container is committed as the autograder image;
3. per submission, a fresh container of that image, without network, gets the files in
   /autograder/submission and runs /autograder/source/run_autograder from /autograder; the container lives on
   for a few seconds afterwards, so a process the submission left behind could still act; then
   /autograder/results/results.json is read and checked against the spec's model.

Submissions: an honest one (the reference, 100 points), the same split over two files (entry + a helper
module it imports), a buggy notebook (.ipynb of the plain-SGD mutant: 90 points), and a hostile one (issue 9:
it reads the test labels through the grader's files, answers with them, and leaves a `setsid` child that
overwrites results.json with 100).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import nbformat
import pytest

from grader.gradescope_package import build_autograder_zip
from grader.rubric import load_rubric
from tests.conftest import REFERENCE, mutant_source
from tests.test_formats import GradescopeResults

IMAGE = "nngrader-grader:0.1.0"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CHECKS = len(load_rubric(None).rubric.checks)
LINGER_S = 5  # the container outlives run_autograder this long: time for a left-behind process to strike

pytestmark = [pytest.mark.docker, pytest.mark.mnist, pytest.mark.slow]


def docker(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def tar_of(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    """A tar stream for `docker cp -`: files at the given relative paths, owned by root."""
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), (0o755 if name.endswith(("setup.sh", "run_autograder")) else mode)
            archive.addfile(info, BytesIO(data))
    return buffer.getvalue()


def copy_in(container: str, folder: str, files: dict[str, bytes]) -> None:
    subprocess.run(["docker", "cp", "-", f"{container}:{folder}"], input=tar_of(files), check=True,
                   capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def autograder_image(tmp_path_factory: pytest.TempPathFactory, docker_ready: str, mnist_data: Path) -> Iterator[str]:
    """The autograder image Gradescope would build from our zip: setup.sh run once in the grading image."""
    if shutil.which("docker") is None:
        pytest.skip("the docker command is needed for the emulation")
    work = tmp_path_factory.mktemp("gradescope")
    with zipfile.ZipFile(build_autograder_zip(work / "autograder.zip")) as archive:
        source = {name: archive.read(name) for name in archive.namelist()}
    name = f"nngrader-gs-setup-{secrets.token_hex(4)}"
    tag = f"nngrader-gradescope-e2e:{secrets.token_hex(4)}"
    ca = ["-v", f"{HOST_CA}:/etc/ssl/certs/host-ca.crt:ro", "-e", "PIP_CERT=/etc/ssl/certs/host-ca.crt",
          "-e", "SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt"] if HOST_CA.is_file() else []
    docker("create", "--name", name, "--user", "0", "--network", "host", *ca, "-w", "/autograder",
           "--entrypoint", "/bin/bash", IMAGE, "-c", "bash /autograder/source/setup.sh")
    try:
        copy_in(name, "/", {f"autograder/source/{n}": data for n, data in source.items()}
                | {f"opt/nngrader/mnist/{p.name}": p.read_bytes() for p in mnist_data.glob("*.gz")})
        setup = docker("start", "-a", name, timeout=1500, check=False)
        assert setup.returncode == 0, f"setup.sh failed:\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}"
        docker("commit", name, tag)
    finally:
        docker("rm", "-f", name, check=False)
    yield tag
    docker("rmi", "-f", tag, check=False)


def run_autograder(image: str, files: dict[str, bytes]) -> GradescopeResults:
    """One submission, in a fresh container of the autograder image, as Gradescope runs it."""
    name = f"nngrader-gs-run-{secrets.token_hex(4)}"
    docker("create", "--name", name, "--user", "0", "--network", "none", "-w", "/autograder", "--entrypoint",
           "/bin/bash", image, "-c", f"/autograder/source/run_autograder; sleep {LINGER_S}")
    try:
        copy_in(name, "/", {f"autograder/submission/{n}": data for n, data in files.items()})
        run = docker("start", "-a", name, timeout=900, check=False)
        out = subprocess.run(["docker", "cp", f"{name}:/autograder/results/results.json", "-"],
                             capture_output=True, timeout=60)
        assert out.returncode == 0, f"no results.json; run_autograder said:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
        with tarfile.open(fileobj=BytesIO(out.stdout)) as archive:
            member = archive.extractfile("results.json")
            assert member is not None
            text = member.read().decode("utf-8")
    finally:
        docker("rm", "-f", name, check=False)
    return GradescopeResults.model_validate_json(text)


def by_name(results: GradescopeResults) -> dict[str, str]:
    return {test.name or "": test.status or "" for test in results.tests or []}


# --------------------------------------------------------------------------- the submissions


def honest_multi_file() -> dict[str, bytes]:
    """The reference solution, importing a helper module of the student's own."""
    helper = b"import numpy as np\n\n\ndef relu(z):\n    return np.maximum(z, 0)\n"
    entry = REFERENCE.read_text().replace(
        "import numpy as np\n", "import numpy as np\n\nfrom activations import relu as _relu  # their own module\n", 1)
    return {"simple_nn.py": entry.encode(), "activations.py": helper}


def buggy_notebook() -> dict[str, bytes]:
    """The plain-SGD mutant (no momentum: loses the 10 momentum points), uploaded as a Jupyter notebook."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# My digit recognizer"),
                      nbformat.v4.new_code_cell(mutant_source("plain_sgd"))]
    return {"digits.ipynb": nbformat.writes(notebook).encode()}


HOSTILE = r'''
import glob, gzip, os, subprocess, sys
import numpy as np

FORGED = ('{"score": 100, "output": "forged", "tests": [{"name": "forged", "score": 100, "max_score": 100}]}')
# Leave a process behind that overwrites the verdict after nngrader wrote it.
subprocess.Popen(["setsid", "sh", "-c", "for i in $(seq 1 40); do sleep 0.25; printf '%s' '" + FORGED
                  + "' > /autograder/results/results.json 2>/dev/null; done"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

LABELS = None
for path in glob.glob("/opt/nngrader/**/*labels*", recursive=True) + glob.glob("/root/.cache/**/*labels*",
                                                                                recursive=True):
    try:
        if path.endswith(".npy"):
            data = np.load(path)
        else:
            data = np.frombuffer(gzip.open(path).read()[8:], dtype=np.uint8)
        if data.shape == (10000,):
            LABELS = data
            print("read the test labels from", path)
    except OSError:
        pass


class SimpleNN:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(0, 0.05, (784, 64)); self.b1 = np.zeros((1, 64))
        self.W2 = rng.normal(0, 0.05, (64, 10)); self.b2 = np.zeros((1, 10))

    def forward(self, X):
        if LABELS is not None and X.shape[0] == 10000:
            return np.eye(10)[LABELS]
        z = np.maximum(X @ self.W1 + self.b1, 0) @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X, y):
        return {"W1": np.zeros_like(self.W1), "b1": np.zeros_like(self.b1),
                "W2": np.zeros_like(self.W2), "b2": np.zeros_like(self.b2)}

    def train(self, X, y, epochs=10, **kwargs):
        return [2.3 - 0.2 * i for i in range(epochs)]  # never trains
'''


# --------------------------------------------------------------------------- the runs


def test_honest_submission_gets_full_marks(autograder_image: str) -> None:
    results = run_autograder(autograder_image, {"simple_nn.py": REFERENCE.read_bytes()})
    assert results.score == 100, results.output
    assert set(by_name(results).values()) == {"passed"} and len(by_name(results)) == CHECKS
    assert results.extra_data is not None and results.extra_data["passed"] is True
    assert results.leaderboard and results.leaderboard[0].name == "Accuracy"


def test_honest_multi_file_submission_gets_full_marks(autograder_image: str) -> None:
    results = run_autograder(autograder_image, honest_multi_file())
    assert results.score == 100, results.output
    assert set(by_name(results).values()) == {"passed"} and len(by_name(results)) == CHECKS
    assert results.extra_data is not None and results.extra_data["passed"] is True


def test_buggy_notebook_loses_exactly_the_momentum_points(autograder_image: str) -> None:
    results = run_autograder(autograder_image, buggy_notebook())
    statuses = by_name(results)
    assert results.score == 90, results.output
    assert statuses["SGD with momentum"] == "failed"
    assert [status for name, status in statuses.items() if name != "SGD with momentum"] == ["passed"] * (CHECKS - 1)


def test_hostile_submission_steals_nothing(autograder_image: str) -> None:
    results = run_autograder(autograder_image, {"simple_nn.py": HOSTILE.encode()})
    # The verdict is nngrader's, written after every process of the submission was gone: not the forged one.
    assert results.output != "forged" and results.extra_data is not None
    assert json.dumps(results.extra_data).count("grader_version") == 1
    # The test labels were out of reach, and a network that never trained gets no accuracy points.
    statuses = by_name(results)
    assert statuses["Test accuracy above 90%"] == "failed"
    assert results.score is not None and results.score < 70
