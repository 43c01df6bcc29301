"""The local sandbox with real processes: the same stage contract as Docker, and, as root, a uid of its own.

The tests marked `root` need the grader to run as root (Gradescope's layout): the stage then runs as an
unprivileged uid and may not read or write anything of the grader's but its inputs and two output files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.errors import SandboxError
from grader.sandbox.base import StageStatus, StopReason
from grader.sandbox.local import LocalSandbox, running_stages
from grader.sandbox.users import SandboxUsers, pids_of, processes
from tests.sandbox_stubs import LIMITS, Background, out_entries, results, stage_request, stub_harness, trying

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the local sandbox drops privileges only as root")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stub_harness(tmp_path_factory.mktemp("harness"))


@pytest.fixture
def work() -> Iterator[Path]:
    """A private work folder (0700), as the api makes one; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="nngrader-test-"))
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


@pytest.fixture
def sandbox(harness: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalSandbox:
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    return LocalSandbox(harness)


# --------------------------------------------------------------------------- the stage contract


def test_a_stage_runs_in_its_own_tmp_folder_with_read_only_inputs(sandbox: LocalSandbox, work: Path) -> None:
    source = trying("""
    import os, sys
    SUB = sys.path[0]
    here = os.getcwd()
    open("scratch.txt", "w").write("x")  # the working folder is writable
    RESULT = {"cwd": here, "home": os.environ["HOME"], "tmpdir": os.environ["TMPDIR"],
              "env": sorted(os.environ), "sub": attempt(lambda: os.makedirs(os.path.join(SUB, "cache"))),
              "entry": attempt(lambda: open(os.path.join(SUB, "submission.py"), "a")),
              "helper": __import__("helper").VALUE}
    """)
    request = stage_request(work, source, files={"helper.py": "VALUE = 42\n"})
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    seen = results(request)[0]["extra"]
    assert seen["cwd"] == seen["home"] == seen["tmpdir"]
    assert not Path(seen["cwd"]).exists()  # removed after the stage
    assert not seen["cwd"].startswith(str(request.stage_dir))
    assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_CTYPE", "OPENBLAS_NUM_THREADS",
                                "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
    assert seen["sub"] in ("EACCES", "EROFS") and seen["entry"] in ("EACCES", "EROFS")
    assert seen["helper"] == 42
    assert out_entries(request) == ["progress.txt", "results.bin"]


def test_the_done_mark_decides_ok_and_its_absence_exited_early(sandbox: LocalSandbox, work: Path) -> None:
    finished = sandbox.run_stage(stage_request(work, "EXIT_CODE = 3\n", name="a"))
    assert finished.status is StageStatus.OK and finished.exit_code == 3, finished
    quit_early = sandbox.run_stage(stage_request(work, "import os\nos._exit(0)\n", name="b"))
    assert quit_early.status is StageStatus.EXITED, quit_early


def test_printing_200_mb_is_truncated_and_the_results_stand(sandbox: LocalSandbox, work: Path) -> None:
    source = """
    import sys
    block = ("x" * 1023 + "\\n") * 1024
    for _ in range(200):
        sys.stdout.write(block)
    print("the end")
    RESULT = "kept"
    """
    outcome = sandbox.run_stage(stage_request(work, source))
    assert outcome.status is StageStatus.OK, outcome
    assert outcome.stdout_bytes == 200 * 2**20 + len("the end\n")
    assert outcome.stdout.endswith("xxx\nthe end\n") and "bytes dropped ...]" in outcome.stdout
    assert len(outcome.stdout) < LIMITS.output_kb * 1024 + 100


def test_timeout_cancel_and_watch(sandbox: LocalSandbox, work: Path) -> None:
    slow = "import time\ntime.sleep(60)\n"
    limits = LIMITS.model_copy(update={"timeout_s": 1.0})
    timed_out = sandbox.run_stage(stage_request(work, slow, limits=limits, name="a"))
    assert timed_out.status is StageStatus.TIMEOUT, timed_out
    cancel = threading.Event()
    cancel.set()
    assert sandbox.run_stage(stage_request(work, slow, name="b"), cancel).status is StageStatus.CANCELLED
    reason = StopReason(code="too_slow", message="projected 900 s for 10 epochs, the limit is 300 s")
    stopped = sandbox.run_stage(stage_request(work, slow, name="c"), watch=lambda: reason)
    assert stopped.status is StageStatus.STOPPED and stopped.stop == reason
    assert stopped.message == reason.message
    assert running_stages() == []


def test_stop_all_kills_the_running_stage(sandbox: LocalSandbox, work: Path) -> None:
    stage = Background(sandbox, stage_request(work, "import time\ntime.sleep(60)\n"))
    stage.progress()
    sandbox.stop_all()
    assert stage.outcome().status is StageStatus.CANCELLED
    assert running_stages() == []


def test_the_data_folder_is_read_only_and_never_the_hidden_labels(sandbox: LocalSandbox, work: Path,
                                                                  tmp_path: Path) -> None:
    data = tmp_path / "public"
    data.mkdir()
    np.save(data / "train_images.npy", np.zeros((2, 784), dtype=np.uint8))
    np.save(data / "test_images.npy", np.zeros((2, 784), dtype=np.uint8))
    source = "import sys\ntry:\n    open(sys.argv[4] + '/x', 'w')\n    RESULT = 'writable'\nexcept OSError:\n" \
             "    RESULT = 'read-only'\n"
    request = stage_request(work, source, stage="train", data_dir=data)
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    assert results(request)[0]["data"] == ["test_images.npy", "train_images.npy"]
    if os.geteuid() == 0:
        assert results(request)[0]["extra"] == "read-only"
    np.save(data / "test_labels.npy", np.zeros(2, dtype=np.uint8))
    with pytest.raises(SandboxError, match="hidden test labels"):
        sandbox.run_stage(stage_request(work, "", stage="train", data_dir=data, name="again"))


# --------------------------------------------------------------------------- as root: a uid of its own


HOSTILE_PROBE = trying("""
import os, sys
out_dir, in_dir = sys.argv[2], sys.argv[1]
view = os.path.dirname(in_dir)
RESULT = {
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "create_file": attempt(lambda: open(os.path.join(out_dir, "load.json"), "w")),
    "create_dir": attempt(lambda: os.makedirs(os.path.join(out_dir, "a", "b"))),
    "link": attempt(lambda: os.symlink("/etc/passwd", os.path.join(out_dir, "x"))),
    "remove": attempt(lambda: os.remove(os.path.join(out_dir, "results.bin"))),
    "append": attempt(lambda: open(os.path.join(out_dir, "progress.txt"), "a").write("beat\\n")),
    "work_folder": attempt(lambda: os.listdir(WORK)),
    "secret": attempt(lambda: open(os.path.join(WORK, "permutation.npy"), "rb").read()),
    "stage_dir": attempt(lambda: os.listdir(os.path.join(WORK, "load"))),
    "stage_out": attempt(lambda: open(os.path.join(WORK, "load", "out", "results.bin"), "ab")),
    "view_out": attempt(lambda: open(os.path.join(view, "out", "x"), "w")),
    "view": attempt(lambda: open(os.path.join(view, "new"), "w")),
    "labels": attempt(lambda: open(CACHE_LABELS, "rb").read()),
    "root_home": attempt(lambda: os.listdir("/root")),
    "kill_parent": attempt(lambda: os.kill(os.getppid(), 0)),
}
""")


@pytest.fixture
def exposed_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """nngrader's cache with the hidden labels, made world-readable in a folder everyone can reach."""
    root = Path(tempfile.mkdtemp(prefix="nngrader-cache-test-", dir="/tmp"))
    root.chmod(0o755)
    labels = root / "cache" / "prepared" / "k" / "hidden" / "test_labels.npy"
    labels.parent.mkdir(parents=True)
    np.save(labels, np.arange(10, dtype=np.uint8))
    for folder in [root / "cache", *labels.parents][:5]:
        folder.chmod(0o755)
    labels.chmod(0o644)
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(root / "cache"))
    yield labels
    subprocess.run(["rm", "-rf", str(root)], check=False)


@as_root
def test_as_root_the_stage_reaches_only_its_inputs_and_its_two_output_files(
        harness: Path, work: Path, exposed_cache: Path) -> None:
    (work / "permutation.npy").write_bytes(b"hidden permutation")  # the api's secret beside the stages
    (work / "permutation.npy").chmod(0o644)
    box = LocalSandbox(harness)  # closes the cache folder to others
    source = f"CACHE_LABELS = {str(exposed_cache)!r}\nWORK = {str(work)!r}\n" + HOSTILE_PROBE
    request = stage_request(work, source)
    outcome = box.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    seen = results(request)[0]["extra"]
    assert box.users is not None and seen["uid"] in box.users.uids and seen["gid"] == seen["uid"]
    assert seen["groups"] == []
    assert seen["append"] == "ok"  # the two output files are its own
    for attempt in ("create_file", "create_dir", "link", "remove"):
        assert seen[attempt] == "EACCES", (attempt, seen)
    for attempt in ("work_folder", "secret", "stage_dir", "stage_out", "view_out", "view", "labels", "root_home"):
        assert seen[attempt] == "EACCES", (attempt, seen)
    assert seen["kill_parent"] == "EPERM"
    assert out_entries(request) == ["progress.txt", "results.bin"]
    assert pids_of(seen["uid"]) == []


@as_root
def test_as_root_no_process_outlives_its_stage(sandbox: LocalSandbox, work: Path) -> None:
    """A setsid child (and its own child) keeps forging results.bin: it is dead before run_stage returns."""
    source = """
    import os, sys, time
    results = os.path.join(sys.argv[2], "results.bin")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                with open(results, "w") as f:
                    f.write('{"forged": 100}\\n')
                time.sleep(0.001)
        os._exit(0)
    time.sleep(0.2)
    """
    request = stage_request(work, source)
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    uid = sandbox.users.uids if sandbox.users else range(0)
    assert all(pids_of(each) == [] for each in uid)
    written = (request.stage_dir / "out" / "results.bin").read_bytes()
    time.sleep(0.3)
    assert (request.stage_dir / "out" / "results.bin").read_bytes() == written  # nobody writes any more


@as_root
def test_as_root_files_left_in_shared_tmp_folders_are_removed(sandbox: LocalSandbox, work: Path) -> None:
    marker = f"nngrader-left-behind-{os.getpid()}"
    source = f"open('/tmp/{marker}', 'w').write('x')\nimport os\nos.makedirs('/dev/shm/{marker}/a/b')\n"
    outcome = sandbox.run_stage(stage_request(work, source))
    assert outcome.status is StageStatus.OK, outcome
    assert not Path(f"/tmp/{marker}").exists() and not Path(f"/dev/shm/{marker}").exists()


@as_root
def test_as_root_a_fork_bomb_meets_the_process_limit(sandbox: LocalSandbox, work: Path) -> None:
    source = """
    import os, time
    parent, failures = os.getpid(), 0
    end = time.monotonic() + 2
    while time.monotonic() < end:
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
        except OSError:
            failures += 1
            time.sleep(0.01)
    RESULT = failures
    """
    request = stage_request(work, source, limits=LIMITS.model_copy(update={"pids": 16}))
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    assert results(request)[0]["extra"] > 0  # RLIMIT_NPROC of the stage's own uid bit
    assert subprocess.run(["true"], timeout=10).returncode == 0


@as_root
def test_as_root_concurrent_stages_get_different_uids(sandbox: LocalSandbox, work: Path) -> None:
    requests = [stage_request(work, "import time\ntime.sleep(0.5)\n", name=f"s{n}") for n in range(3)]
    threads = [threading.Thread(target=sandbox.run_stage, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    uids = {results(request)[0]["uid"] for request in requests}
    assert len(uids) == 3


@as_root
def test_as_root_sweep_kills_what_a_dead_grader_left_running(sandbox: LocalSandbox) -> None:
    assert sandbox.users is not None
    lease = sandbox.users.lease()
    uid = lease.uid
    lease.release()  # as if the grader holding it had died
    orphan = subprocess.Popen(["sleep", "60"], user=uid, group=uid, extra_groups=[], start_new_session=True)
    try:
        assert pids_of(uid) == [orphan.pid]
        assert sandbox.sweep() >= 1
        assert pids_of(uid) == []
    finally:
        orphan.kill()
        orphan.wait()


@as_root
def test_as_root_a_uid_with_an_account_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNGRADER_SANDBOX_UID", "65534-65534")  # nobody
    with pytest.raises(SandboxError, match="belongs to an account"):
        SandboxUsers.from_env().lease()


@as_root
def test_as_root_the_grader_refuses_rather_than_run_student_code_as_root(
        harness: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNGRADER_SANDBOX_PYTHON", "/nonexistent/python3")
    monkeypatch.setenv("NNGRADER_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SandboxError, match="NNGRADER_SANDBOX_PYTHON"):
        LocalSandbox(harness)


def test_the_prelude_applies_the_limits(sandbox: LocalSandbox, work: Path) -> None:
    source = """
    import resource
    RESULT = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name.upper()))[0]
              for name in ("as", "fsize", "core", "nofile", "nproc")}
    """
    request = stage_request(work, source)
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    seen = results(request)[0]["extra"]
    assert seen["as"] == LIMITS.memory_mb * 2**20 and seen["fsize"] == LIMITS.file_mb * 2**20
    assert seen["core"] == 0 and seen["nofile"] == 256
    if os.geteuid() == 0:
        assert seen["nproc"] == LIMITS.pids


def test_describe_names_the_interpreter_and_the_uids(sandbox: LocalSandbox) -> None:
    description = sandbox.describe() or ""
    assert "python" in description
    assert ("as uids 61000-61063" in description) == (os.geteuid() == 0)


@as_root
def test_as_root_a_stage_cannot_reach_a_neighbour_running_beside_it(sandbox: LocalSandbox, work: Path) -> None:
    """Two stages at once (speculative training, a parallel batch) run as two uids: one cannot enter the other's
    folders, write its results or signal its processes."""
    first = stage_request(work, """
    import os, sys, time
    with open(os.path.join(sys.argv[2], "progress.txt"), "a") as f:
        f.write("at %s %d\\n" % (os.path.dirname(sys.argv[1]), os.getpid()))
    time.sleep(30)
    """, name="first")
    running = Background(sandbox, first)
    try:
        view, pid = running.progress("at ").split("at ")[1].split()
        second = stage_request(work, trying(f"""
        import os, signal
        RESULT = {{"list": attempt(lambda: os.listdir({view!r})),
                   "write": attempt(lambda: open({view!r} + "/out/results.bin", "a")),
                   "signal": attempt(lambda: os.kill({pid}, signal.SIGKILL))}}
        """), name="second")
        outcome = sandbox.run_stage(second)
        assert outcome.status is StageStatus.OK, outcome
        assert results(second)[0]["extra"] == {"list": "EACCES", "write": "EACCES", "signal": "EPERM"}
    finally:
        sandbox.stop_all()
    assert running.outcome().status is StageStatus.CANCELLED  # still running, untouched, until stop_all


@as_root
def test_as_root_a_child_in_namespaces_of_its_own_is_killed_too(sandbox: LocalSandbox, work: Path) -> None:
    """unshare() into a new user and PID namespace does not take a process out of reach."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here")
    source = """
    import os, subprocess, sys, time
    results = os.path.join(sys.argv[2], "results.bin")
    loop = "exec 3>>%s; while true; do echo forged >&3; sleep 0.01; done" % results  # an open descriptor
    child = subprocess.Popen(["unshare", "--user", "--map-root-user", "--pid", "--fork", "sh", "-c", loop],
                             start_new_session=True)
    time.sleep(0.5)
    RESULT = child.poll()  # None: it runs in its own namespaces
    """
    request = stage_request(work, source)
    outcome = sandbox.run_stage(request)
    assert outcome.status is StageStatus.OK, outcome
    if results(request)[0]["extra"] is not None:
        pytest.skip("unprivileged user namespaces are not allowed here")
    assert sandbox.users is not None
    assert not [proc for proc in processes() if proc.live and set(proc.uids) & set(sandbox.users.uids)]
    written = (request.stage_dir / "out" / "results.bin").read_bytes()
    time.sleep(0.3)
    assert (request.stage_dir / "out" / "results.bin").read_bytes() == written


@as_root
@pytest.mark.docker
def test_as_root_processes_of_another_container_with_the_same_uid_are_left_alone() -> None:
    """A grader on the host must not kill a Gradescope-style container's stages that use the same uid number."""
    from grader.sandbox.docker_engine import connect, engine_available
    from grader.sandbox.image import IMAGE_TAG, image_present
    from grader.sandbox.users import kill_all

    if not engine_available() or not image_present(client := connect(), IMAGE_TAG):
        pytest.skip("needs a Docker engine and the grading image")
    uid = 61050
    container = client.containers.run(IMAGE_TAG, ["sleep", "60"], user=f"{uid}:{uid}", network_mode="none",
                                      detach=True, labels={"nngrader": "1"})
    try:
        container.reload()
        pid = container.attrs["State"]["Pid"]
        kill_all(uid)
        assert pid in [proc.pid for proc in processes() if proc.live]  # its sleep still runs
    finally:
        container.remove(force=True)


def test_doctor_flags_a_sandbox_numpy_on_the_reference_blas(tmp_path: Path) -> None:
    """Debian's numpy without OpenBLAS trains about 7 times slower: doctor says so and how to fix it."""
    from grader.sandbox.local import _blas_item

    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\necho 2.5\n")
    slow.chmod(0o755)
    item = _blas_item(str(slow))
    assert not item.ok and "reference BLAS" in item.detail and "libopenblas0-pthread" in item.fix
    assert _blas_item(sys.executable).ok
