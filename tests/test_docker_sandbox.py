"""The Docker sandbox against hostile submissions, with real containers.

Needs a running engine and the grading image (`nngrader image build --offline`): skipped when they are
missing, except in CI (CI=true) where that is a failure. Stages run a stub harness (tests/sandbox_stubs.py):
these tests are about the sandbox, not about what the real harness records.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.errors import SandboxError
from grader.sandbox import docker as sandbox_docker
from grader.sandbox.base import SandboxLimits, StageRequest, StageStatus, StopReason
from grader.sandbox.docker import DockerSandbox, connect, engine_available, owner_label, sweep_leftovers
from grader.sandbox.docker_containers import container_settings
from grader.sandbox.image import BASE_TAG, IMAGE_TAG, build_offline, image_present
from tests.sandbox_stubs import LIMITS, Background, out_entries, results, stage_request, stub_harness, trying

TRIVIAL = """
import numpy as np

class SimpleNN:
    def __init__(self):
        self.W1 = np.random.randn(784, 64) * 0.01
        self.b1 = np.zeros(64)
        self.W2 = np.random.randn(64, 10) * 0.01
        self.b2 = np.zeros(10)

    def forward(self, X):
        h = np.maximum(0, X @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X, y):
        return {name: np.zeros_like(getattr(self, name)) for name in ("W1", "b1", "W2", "b2")}

    def train(self, X, y, epochs=1):
        return [0.5] * epochs
"""


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    if not engine_available():
        _missing("Docker engine not reachable")
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="module")
def docker_sandbox(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> DockerSandbox:
    """The sandbox on the grading image, running the stub harness; builds the image when only the
    (offline) base is missing."""
    if not image_present(docker_client, IMAGE_TAG):
        if not image_present(docker_client, BASE_TAG):
            _missing(f"grading image {IMAGE_TAG} missing: run `nngrader image build --offline`")
        try:
            build_offline(docker_client)
        except SandboxError as exc:
            _missing(f"could not build {IMAGE_TAG}: {exc}")
    return DockerSandbox(docker_client, harness=stub_harness(tmp_path_factory.mktemp("harness")))


@pytest.fixture(autouse=True)
def no_leftover_containers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test, no container of this process remains (running or not)."""
    yield
    if "docker_sandbox" not in request.fixturenames and "docker_client" not in request.fixturenames:
        return
    client = request.getfixturevalue("docker_client")
    left = client.containers.list(all=True, filters={"label": f"nngrader.owner={owner_label()}"}, ignore_removed=True)
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


def make_stage(tmp_path: Path, source: str, stage: str = "load", data_dir: Path | None = None,
               limits: SandboxLimits = LIMITS) -> StageRequest:
    return stage_request(tmp_path, source, stage=stage, data_dir=data_dir, limits=limits)


def with_class(source: str) -> str:
    """The hostile snippet followed by a working SimpleNN, so the load stage itself succeeds."""
    return textwrap.dedent(source) + TRIVIAL


# --------------------------------------------------------------------------- engine and image


def test_unreachable_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    assert engine_available(timeout=2) is False
    with pytest.raises(SandboxError, match="not reachable.*--sandbox local"):
        connect(timeout=2)
    with pytest.raises(SandboxError, match="not reachable"):
        DockerSandbox()


@pytest.mark.docker
def test_missing_image_says_how_to_build(docker_client: Any) -> None:
    with pytest.raises(SandboxError, match="nngrader image build"):
        DockerSandbox(docker_client, image="nngrader-grader:no-such-version")


@pytest.mark.docker
def test_describe_names_the_image(docker_sandbox: DockerSandbox) -> None:
    assert docker_sandbox.name == "docker"
    assert docker_sandbox.describe() == IMAGE_TAG
    assert docker_sandbox.user == "1000:1000"


@pytest.mark.docker
def test_self_test_finds_no_confinement_problem(docker_sandbox: DockerSandbox) -> None:
    assert sandbox_docker.self_test(docker_sandbox.client) == []


@pytest.mark.docker
def test_sweep_removes_only_containers_of_dead_graders(docker_sandbox: DockerSandbox) -> None:
    client = docker_sandbox.client
    common = {"image": docker_sandbox.image_id, "command": ["true"], "network_mode": "none"}
    dead = client.containers.create(**common, labels={"nngrader": "1", "nngrader.owner":
                                                      f"{os.uname().nodename}:999999999:1"})
    alive = client.containers.create(**common, labels={"nngrader": "1", "nngrader.owner": owner_label()})
    try:
        assert sweep_leftovers(client) >= 1
        ids = {c.id for c in client.containers.list(all=True, filters={"label": "nngrader=1"}, ignore_removed=True)}
        assert dead.id not in ids
        assert alive.id in ids
    finally:
        for container in (dead, alive):
            with contextlib.suppress(Exception):
                container.remove(force=True)


# --------------------------------------------------------------------------- normal runs


@pytest.mark.docker
def test_load_stage_ok(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    request = make_stage(tmp_path, TRIVIAL + "\nprint('hello from the sandbox')\n")
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    assert outcome.exit_code == 0
    assert 0 < outcome.sandbox_s < outcome.duration_s
    assert results(request) == [{"stage": "load", "uid": 1000, "data": None, "extra": None}]
    assert outcome.stdout == "hello from the sandbox\n" and outcome.stdout_bytes == 23
    assert out_entries(request) == ["progress.txt", "results.bin"]


@pytest.mark.docker
def test_train_stage_with_read_only_data(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    data = tmp_path / "public"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "train_images.npy", rng.integers(0, 256, (50, 784), dtype=np.uint8))
    np.save(data / "train_labels.npy", rng.integers(0, 10, 50, dtype=np.uint8))
    np.save(data / "test_images.npy", rng.integers(0, 256, (20, 784), dtype=np.uint8))
    source = TRIVIAL + """
try:
    open("/data/planted.txt", "w")
    print("data: writable")
except OSError as exc:
    print("data:", type(exc).__name__)
"""
    request = make_stage(tmp_path, source, stage="train", data_dir=data)
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    assert results(request)[0]["data"] == ["test_images.npy", "train_images.npy", "train_labels.npy"]
    assert "data: OSError" in outcome.stdout
    assert not (data / "planted.txt").exists()


@pytest.mark.docker
def test_refuses_to_mount_hidden_labels(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    np.save(data / "test_labels.npy", np.zeros(10, dtype=np.uint8))
    request = make_stage(tmp_path, TRIVIAL, stage="train", data_dir=data)
    with pytest.raises(SandboxError, match="hidden test labels"):
        docker_sandbox.run_stage(request)


# --------------------------------------------------------------------------- hostile submissions


@pytest.mark.docker
def test_confinement_seen_from_inside(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = r"""
    import errno, json, os, shutil, subprocess
    r = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
    r["id"] = subprocess.run(["id"], capture_output=True, text=True).stdout.strip()
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"):
        r[key] = status[key].strip()
    def attempt(label, func):
        try:
            func()
            r[label] = "ok"
        except OSError as exc:
            r[label] = errno.errorcode.get(exc.errno, type(exc).__name__)
    attempt("write_usr", lambda: open("/usr/x", "w"))
    attempt("write_root", lambda: open("/x", "w"))
    attempt("write_in", lambda: open("/in/x", "w"))
    attempt("write_submission", lambda: open("/sub/submission.py", "a"))
    attempt("write_sub", lambda: os.makedirs("/sub/cache"))
    attempt("write_out", lambda: open("/out/extra.txt", "w"))
    attempt("write_harness", lambda: open("/harness/harness.py", "a"))
    attempt("write_tmp", lambda: open("/tmp/x", "w").write("hi"))
    def run_from_tmp():
        shutil.copy("/bin/true", "/tmp/true")
        os.chmod("/tmp/true", 0o755)
        subprocess.run(["/tmp/true"])
    attempt("exec_tmp", run_from_tmp)
    attempt("setuid", lambda: os.setuid(0))
    r["interfaces"] = sorted(os.listdir("/sys/class/net"))
    limits = {}
    for line in open("/proc/self/limits").read().splitlines()[1:]:
        name = line[:26].strip()
        limits[name] = line[26:47].strip()
    r["limits"] = limits
    r["threads_env"] = os.environ.get("OPENBLAS_NUM_THREADS")
    r["mounts"] = {}
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        r["mounts"][fields[4]] = fields[5].split(",")
    print("CONFINEMENT " + json.dumps(r))
    """
    request = make_stage(tmp_path, with_class(source))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    line = next(x for x in outcome.stdout.splitlines() if x.startswith("CONFINEMENT "))
    seen = json.loads(line.removeprefix("CONFINEMENT "))
    assert (seen["uid"], seen["gid"], seen["groups"]) == (1000, 1000, [1000])
    assert seen["id"].startswith("uid=1000(student) gid=1000(student)")
    assert int(seen["CapEff"], 16) == int(seen["CapPrm"], 16) == int(seen["CapBnd"], 16) == 0
    assert seen["NoNewPrivs"] == "1"
    assert seen["Seccomp"] == "2"  # the engine's default seccomp filter is on
    assert seen["write_usr"] == seen["write_root"] == "EROFS"
    for path in ("write_in", "write_submission", "write_sub", "write_harness", "write_out"):
        assert seen[path] in ("EROFS", "EACCES"), path
    mounts = seen["mounts"]
    for path in ("/", "/in", "/sub", "/harness/harness.py"):
        assert "ro" in mounts[path], (path, mounts[path])
    assert "/out" not in mounts  # a folder of the read-only root
    assert "rw" in mounts["/out/results.bin"] and "rw" in mounts["/out/progress.txt"]
    assert {"rw", "nosuid", "nodev", "noexec"} <= set(mounts["/tmp"])
    assert "/data" not in mounts
    assert seen["write_tmp"] == "ok"
    assert seen["exec_tmp"] == "EACCES"  # /tmp is noexec
    assert seen["setuid"] == "EPERM"
    assert seen["interfaces"] == ["lo"]
    assert seen["limits"]["Max open files"] == "256"
    assert seen["limits"]["Max file size"] == str(LIMITS.file_mb * 2**20)
    assert seen["limits"]["Max core file size"] == "0"
    assert seen["threads_env"] == "1"


@pytest.mark.docker
def test_infinite_loop_at_import_times_out(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    limits = LIMITS.model_copy(update={"timeout_s": 3.0})
    request = make_stage(tmp_path, "while True:\n    pass\n", limits=limits)
    start = time.perf_counter()
    outcome = docker_sandbox.run_stage(request)
    elapsed = time.perf_counter() - start
    assert outcome.status is StageStatus.TIMEOUT, outcome
    assert "3 s" in outcome.message
    assert 3.0 <= elapsed < 3.0 + 8


@pytest.mark.docker
def test_sigterm_is_no_escape(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = """
    import signal, time
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    time.sleep(1000)
    """
    request = make_stage(tmp_path, with_class(source), limits=LIMITS.model_copy(update={"timeout_s": 2.0}))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.TIMEOUT, outcome


@pytest.mark.docker
def test_os_exit_is_exited_early(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    outcome = docker_sandbox.run_stage(make_stage(tmp_path, "import os\nos._exit(0)\n"))
    assert outcome.status is StageStatus.EXITED, outcome
    assert outcome.exit_code == 0


@pytest.mark.docker
def test_segfault_is_crashed_with_sigsegv(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    outcome = docker_sandbox.run_stage(make_stage(tmp_path, "import ctypes\nctypes.string_at(0)\n"))
    assert outcome.status is StageStatus.CRASHED, outcome
    assert outcome.signal == "SIGSEGV"
    assert outcome.exit_code == 128 + 11


@pytest.mark.docker
@pytest.mark.parametrize("source", [
    "import numpy as np\nx = np.ones(2 * 10**8)\n",
    "chunks = []\nwhile True:\n    chunks.append(bytes(range(256)) * 4096)\n",
], ids=["numpy", "list"])
def test_memory_hog_is_memory(docker_sandbox: DockerSandbox, tmp_path: Path, source: str) -> None:
    outcome = docker_sandbox.run_stage(make_stage(tmp_path, with_class(source)))
    assert outcome.status is StageStatus.MEMORY, outcome
    assert "256 MB" in outcome.message


@pytest.mark.docker
def test_printing_200_mb_is_truncated_not_fatal(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = """
    import sys
    line = "x" * 1023 + "\\n"
    print("first line")
    for _ in range(200 * 1024):
        sys.stdout.write(line)
    sys.stderr.write("e" * 3_000_000)
    print("last line")
    RESULT = "still here"
    """
    request = make_stage(tmp_path, source, limits=LIMITS.model_copy(update={"timeout_s": 120}))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    assert results(request)[0]["extra"] == "still here"  # the stage's results stand
    assert outcome.stdout_bytes == 200 * 2**20 + len("first line\nlast line\n")
    assert outcome.stderr_bytes == 3_000_000
    assert outcome.stdout.startswith("first line\nxxx") and outcome.stdout.endswith("xxx\nlast line\n")
    dropped = outcome.stdout_bytes - LIMITS.output_kb * 1024
    assert f"[... {dropped} bytes dropped ...]" in outcome.stdout
    assert len(outcome.stdout) < LIMITS.output_kb * 1024 + 100
    assert out_entries(request) == ["progress.txt", "results.bin"]


@pytest.mark.docker
def test_tmp_is_capped(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = """
    import errno
    try:
        with open("/tmp/big", "wb") as f:
            for _ in range(100):
                f.write(b"0" * 2**20)
        print("tmp: unbounded")
    except OSError as exc:
        print("tmp:", errno.errorcode[exc.errno])
    """
    request = make_stage(tmp_path, with_class(source), limits=LIMITS.model_copy(update={"file_mb": 8}))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    # fsize (EFBIG, Python ignores SIGXFSZ) and the tmpfs size (ENOSPC) are both 8 MB
    assert any(f"tmp: {code}" in outcome.stdout for code in ("EFBIG", "ENOSPC"))


@pytest.mark.docker
def test_fork_bomb_is_contained(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = """
    import os, time
    parent = os.getpid()
    failures = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            os.fork()
        except OSError:
            failures += 1
            time.sleep(0.01)
    if os.getpid() != parent:
        os._exit(0)
    print("fork failures:", failures, flush=True)
    """
    limits = LIMITS.model_copy(update={"timeout_s": 8.0})
    request = make_stage(tmp_path, with_class(source), limits=limits)
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status in (StageStatus.OK, StageStatus.TIMEOUT), outcome
    if outcome.status is StageStatus.OK:
        failures = int(outcome.stdout.split("fork failures:")[1].split()[0])
        assert failures > 0  # the pids limit bit
    # the host is fine
    assert subprocess.run(["true"], timeout=10).returncode == 0


@pytest.mark.docker
def test_no_network(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = """
    import socket
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=3).close()
        print("connect: ok")
    except OSError as exc:
        print("connect:", type(exc).__name__)
    try:
        socket.getaddrinfo("example.com", 80)
        print("resolve: ok")
    except OSError as exc:
        print("resolve:", type(exc).__name__)
    """
    request = make_stage(tmp_path, with_class(source))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    out = outcome.stdout
    assert "connect: " in out and "connect: ok" not in out
    assert "resolve: gaierror" in out


@pytest.mark.docker
def test_no_host_secrets(docker_sandbox: DockerSandbox, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "nngrader-test-secret-7f3a9c"
    monkeypatch.setenv("NNGRADER_FAKE_SECRET", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    source = """
    import json, os
    print("ENV " + json.dumps(dict(os.environ)))
    for path in ("/proc/1/environ", "/proc/self/environ"):
        try:
            print(path, open(path, "rb").read().replace(b"\\0", b" ").decode())
        except OSError as exc:
            print(path, type(exc).__name__)
    """
    request = make_stage(tmp_path, with_class(source))
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    out = outcome.stdout
    assert secret not in out
    env = json.loads(next(x for x in out.splitlines() if x.startswith("ENV ")).removeprefix("ENV "))
    allowed = {"PATH", "HOME", "TMPDIR", "HOSTNAME", "PWD", "LANG", "LC_CTYPE",
               "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
    assert set(env) <= allowed, set(env) - allowed
    assert env["HOME"] == "/tmp"


@pytest.mark.docker
def test_a_stage_cannot_create_anything_in_out_or_grow_its_files_past_the_limit(
        docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = trying("""
    import os
    def grow():
        with open("/out/progress.txt", "ab") as f:
            for _ in range(64):
                f.write(b"p" * 2**20)
    tried = {"file": attempt(lambda: open("/out/load.json", "w")),
             "folder": attempt(lambda: os.makedirs("/out/a/b/c")),
             "link": attempt(lambda: os.symlink("/etc/passwd", "/out/stdout.log")),
             "replace": attempt(lambda: os.rename("/tmp", "/out/results.bin")),
             "remove": attempt(lambda: os.remove("/out/results.bin")),
             "grow": attempt(grow)}
    tried["grown_to"] = os.path.getsize("/out/progress.txt")
    open("/out/progress.txt", "w").close()  # truncating its own progress is allowed: only it loses by it
    RESULT = tried
    """)
    request = make_stage(tmp_path, source)
    outcome = docker_sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    tried = results(request)[0]["extra"]
    assert {tried[label] for label in ("file", "folder", "link")} <= {"EROFS", "EACCES"}, tried
    assert tried["replace"] in ("EBUSY", "EROFS", "EXDEV") and tried["remove"] in ("EBUSY", "EROFS"), tried
    assert tried["grow"] == "EFBIG"  # RLIMIT_FSIZE: Python ignores SIGXFSZ and gets EFBIG
    assert out_entries(request) == ["progress.txt", "results.bin"]
    assert tried["grown_to"] == LIMITS.file_mb * 2**20
    out = request.stage_dir / "out"
    assert all(not path.is_symlink() and path.is_file() for path in out.iterdir())


@pytest.mark.docker
def test_done_mark_decides_ok_and_its_absence_exited_early(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    finished = docker_sandbox.run_stage(make_stage(tmp_path / "a", "EXIT_CODE = 3\n"))
    assert finished.status is StageStatus.OK and finished.exit_code == 3, finished
    quit_early = docker_sandbox.run_stage(make_stage(tmp_path / "b", "import sys\nsys.exit(0)\n"))
    assert quit_early.status is StageStatus.EXITED, quit_early


@pytest.mark.docker
def test_watch_stops_a_stalled_stage(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    request = make_stage(tmp_path, "import time\nprint('training', flush=True)\ntime.sleep(60)\n")
    reason = StopReason(code="stalled", message="no progress for 1 s")
    polls: list[float] = []

    def watch() -> StopReason | None:
        polls.append(time.monotonic())
        return reason if len(polls) >= 3 else None

    outcome = docker_sandbox.run_stage(request, watch=watch)
    assert outcome.status is StageStatus.STOPPED, outcome
    assert outcome.stop == reason and outcome.message == reason.message
    assert outcome.stdout == "training\n"
    assert len(polls) == 3


@pytest.mark.docker
def test_stop_all_kills_the_running_stages(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    stage = Background(docker_sandbox, make_stage(tmp_path, "import time\ntime.sleep(60)\n"))
    stage.progress()
    docker_sandbox.stop_all()
    assert stage.outcome().status is StageStatus.CANCELLED


def test_stage_containers_keep_no_logs() -> None:
    settings = container_settings(LIMITS, image="x", user="1000:1000", command=["true"], mounts=[], stage="load")
    assert settings["log_config"].type == "none"  # output goes through the attach stream only


@pytest.mark.docker
def test_interrupt_still_removes_the_container(docker_sandbox: DockerSandbox, tmp_path: Path) -> None:
    def interrupted() -> StopReason | None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the waiting thread

    with pytest.raises(KeyboardInterrupt):
        docker_sandbox.run_stage(make_stage(tmp_path, "import time\ntime.sleep(60)\n"), watch=interrupted)
    # no_leftover_containers checks that the container is gone


@pytest.mark.docker
def test_time_limit_holds_when_wait_ignores_its_timeout(docker_sandbox: DockerSandbox, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """docker-py #2964: wait(timeout) may block past its timeout; the deadline does not depend on it."""
    import docker.models.containers

    original = docker.models.containers.Container.wait

    def blocking_wait(self: Any, **kwargs: Any) -> Any:
        return original(self)  # no HTTP timeout at all

    monkeypatch.setattr(docker.models.containers.Container, "wait", blocking_wait)
    limits = LIMITS.model_copy(update={"timeout_s": 2.0})
    start = time.perf_counter()
    outcome = docker_sandbox.run_stage(make_stage(tmp_path, "while True:\n    pass\n", limits=limits))
    assert outcome.status is StageStatus.TIMEOUT, outcome
    assert time.perf_counter() - start < 2.0 + 8
