"""remove_tree: the cleanup that cannot fail, on the trees a hostile stage can leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox import cleanup
from grader.sandbox.cleanup import remove_tree

NOBODY = 65534


def deep_tree(top: Path, depth: int, *, lock_every: int = 0) -> None:
    """`depth` nested folders d/d/d/... (deeper than PATH_MAX), with a file and a link to /etc/passwd at
    every 100th level, and every `lock_every`-th folder without permissions."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(depth):
        os.mkdir("d", dir_fd=fd)
        if level % 100 == 0:
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
            os.symlink("/etc/passwd", "l", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if lock_every and level % lock_every == 0:
            os.fchmod(fd, 0)  # no permissions at all
        os.close(fd)
        fd = child
    os.close(fd)


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A folder on tmpfs when there is one: 10,000 rmdirs on a disk mounted with `discard` take 20 s."""
    if not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="cleanup-test-", dir="/dev/shm"))
    yield folder
    remove_tree(folder)


def test_removes_a_tree_ten_thousand_levels_deep(fast_tmp: Path) -> None:
    top = fast_tmp / "work"
    top.mkdir()
    deep_tree(top, 10_000, lock_every=7)
    assert remove_tree(top) is True
    assert not top.exists()


def test_never_follows_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    top = tmp_path / "work"
    top.mkdir()
    (top / "to_folder").symlink_to(victim)
    (top / "to_file").symlink_to(victim / "keep.txt")
    assert remove_tree(top)
    assert (victim / "keep.txt").read_text() == "keep"
    assert remove_tree(tmp_path / "no-such-folder")
    link = tmp_path / "link"
    link.symlink_to(victim)
    assert remove_tree(link) and not link.exists() and victim.is_dir()


def test_removes_a_single_file_and_special_files(tmp_path: Path) -> None:
    single = tmp_path / "file"
    single.write_text("x")
    assert remove_tree(single) and not single.exists()
    top = tmp_path / "work"
    top.mkdir()
    os.mkfifo(top / "zed.py")
    (top / "l\udcffatin.py").write_bytes(b"x")  # a name that is not UTF-8
    assert remove_tree(top) and not top.exists()


def test_two_concurrent_removals_of_one_tree_both_succeed(tmp_path: Path) -> None:
    top = tmp_path / "work"
    top.mkdir()
    for branch in range(8):
        (top / f"b{branch}").mkdir()
        deep_tree(top / f"b{branch}", 100)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(remove_tree(top))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not top.exists()
    assert True in results


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make files owned by another user")
def test_files_it_cannot_chmod_are_removed_and_what_it_cannot_remove_is_reported() -> None:
    """As an unprivileged user: a root-owned file (mode 0) in its own locked folder is removed; a folder of
    root's that it cannot empty is left, reported with False, and nothing is raised."""
    outer = Path(tempfile.mkdtemp(prefix="cleanup-test-", dir="/tmp"))  # pytest's tmp_path is closed to nobody
    outer.chmod(0o755)
    top = outer / "work"
    (top / "locked").mkdir(parents=True)
    (top / "locked" / "roots_file").write_text("x")
    (top / "locked" / "roots_file").chmod(0)
    (top / "roots_folder").mkdir()
    (top / "roots_folder" / "inner").write_text("x")
    os.chown(top, NOBODY, NOBODY)
    os.chown(top / "locked", NOBODY, NOBODY)
    (top / "locked").chmod(0)

    def run_as_nobody(path: Path) -> str:
        """remove_tree(path) in a process of user nobody (cleanup.py is standard library only)."""
        code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('cleanup', sys.argv[1]); "
                "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
                "print(module.remove_tree(sys.argv[2]))")
        for python in (sys.executable, "/usr/bin/python3"):
            try:
                result = subprocess.run([python, "-I", "-c", code, cleanup.__file__, str(path)], user=NOBODY,
                                        group=NOBODY, extra_groups=[], capture_output=True, text=True, cwd="/")
            except OSError:  # this Python is where nobody cannot run it
                continue
            if result.returncode == 0:
                return result.stdout.strip()
        pytest.skip("no Python that user nobody can run here")
        raise AssertionError("unreachable")

    assert run_as_nobody(top) == "False"
    assert not (top / "locked").exists()
    assert (top / "roots_folder" / "inner").exists()
    assert remove_tree(outer)  # as root now
