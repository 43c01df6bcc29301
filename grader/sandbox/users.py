"""Unprivileged uids for the local sandbox when the grader runs as root (Gradescope, containers without Docker).

Every running stage leases its own uid from a range (default 61000-61063, `NNGRADER_SANDBOX_UID=FIRST` or
`FIRST-LAST`), with gid = uid and no supplementary groups. One uid per stage, not one for all: the grader
runs stages side by side (speculative training, parallel batches) and "kill every process of the uid"
after a stage must not hit a neighbour, which could otherwise also signal, trace or write into it.

A lease is an exclusive flock on /run/nngrader/uids/<uid>.lock (root-only), so separate grader processes
on one machine never share a uid; the kernel drops the lock when a grader dies. A uid that has an account
or a group (NSS) is never used: its owner's processes would be killed.

After a stage `kill_all` sends SIGKILL to every process of the uid (found in /proc by real, effective or
saved uid, so setsid and double-forked children are included, and those that unshare()d into namespaces of
their own) until none is left, and `remove_files` removes what the uid left in the world-writable folders
(/tmp, /var/tmp, /dev/shm). Processes of other containers on the machine that use the same uid number are
left alone (another PID namespace in the same user namespace: a grader on the host sees them in /proc).

The uid range is per machine, not per container: graders in separate containers on one host (Gradescope
runs several) count their stages against the same RLIMIT_NPROC per uid. Give each its own range with
NNGRADER_SANDBOX_UID when they share a host.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxError
from grader.sandbox.cleanup import remove_tree

UID_ENV = "NNGRADER_SANDBOX_UID"
LOCK_DIR_ENV = "NNGRADER_SANDBOX_LOCK_DIR"
DEFAULT_FIRST_UID = 61000  # below systemd's dynamic users (61184-65519), above regular accounts
DEFAULT_COUNT = 64
DEFAULT_LOCK_DIR = Path("/run/nngrader/uids")
SHARED_TMP_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
KILL_TIMEOUT_S = 10.0
LEASE_WAIT_S = 0.1


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Proc:
    pid: int
    uids: tuple[int, ...]
    live: bool  # False for a zombie whose threads are all gone: nothing left to kill


def processes() -> Iterator[Proc]:
    """Every process in /proc with its real, effective, saved and fs uids."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                status = f.read()
            state = status[status.index(b"\nState:") + 7:].lstrip()[:1]
            uid_line = status[status.index(b"\nUid:") + 5:]
            uids = tuple(int(value) for value in uid_line[:uid_line.index(b"\n")].split())
            threads = 1
            if state in (b"Z", b"X"):
                threads_line = status[status.index(b"\nThreads:") + 9:]
                threads = int(threads_line[:threads_line.index(b"\n")])
        except (OSError, ValueError):  # ended while we looked
            continue
        yield Proc(int(name), uids, live=not (state in (b"Z", b"X") and threads <= 1))


def _namespace(pid: int | str, kind: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:  # gone, or not ours to inspect
        return ""


_OWN_NAMESPACES = (_namespace("self", "pid"), _namespace("self", "user"))


def _in_reach(pid: int) -> bool:
    """Whether a process belongs to this grader's world: in its PID namespace, or in a user namespace of its
    own making (a stage that unshare()d). A process of another container that happens to use the same uid
    (same user namespace, another PID namespace) is not ours to kill."""
    pid_ns, user_ns = _namespace(pid, "pid"), _namespace(pid, "user")
    if not pid_ns or not user_ns:
        return True
    return pid_ns == _OWN_NAMESPACES[0] or user_ns != _OWN_NAMESPACES[1]


def pids_of(uid: int) -> list[int]:
    """Live processes of this grader's world running with `uid` as their real, effective or saved uid."""
    return [proc.pid for proc in processes() if proc.live and uid in proc.uids[:3] and _in_reach(proc.pid)]


def kill_all(uid: int, timeout_s: float = KILL_TIMEOUT_S) -> int:
    """SIGKILL every process of `uid` until none is left; the number of kills sent.

    Raises SandboxError if some survive `timeout_s` (a process stuck in the kernel), because the host must
    not read a stage's results while its processes can still write them.
    """
    deadline = time.monotonic() + timeout_s
    sent = 0
    while True:
        pids = pids_of(uid)
        if not pids:
            return sent
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                sent += 1
        if time.monotonic() > deadline:
            raise SandboxError(f"processes of the sandbox uid {uid} survive SIGKILL: {pids[:10]}")
        time.sleep(0.002)


def remove_files(uids: set[int], folders: tuple[Path, ...] = SHARED_TMP_DIRS) -> int:
    """Remove what `uids` own at the top of the world-writable folders; the number of entries removed."""
    removed = 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                owner = entry.stat(follow_symlinks=False).st_uid
            except OSError:
                continue
            if owner in uids:
                removed += remove_tree(entry.path)
    return removed


# --------------------------------------------------------------------------- who can reach what


def reachable(path: Path, uid: int, gid: int, *, need: int) -> bool:
    """Whether `uid`:`gid` (no other groups) could open `path` for `need` (os.R_OK | os.W_OK | os.X_OK).

    Checks every folder on the way (search permission) from the mode bits; ACLs are not consulted.
    """
    path = Path(os.path.abspath(path))

    def allows(info: os.stat_result, bits: int) -> bool:
        if info.st_uid == uid:
            mode = (info.st_mode >> 6) & 7
        elif info.st_gid == gid:
            mode = (info.st_mode >> 3) & 7
        else:
            mode = info.st_mode & 7
        return mode & bits == bits

    try:
        for parent in reversed(path.parents):
            if not allows(os.stat(parent), os.X_OK):
                return False
        return allows(os.stat(path), need)
    except OSError:
        return False


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        pass
    try:
        grp.getgrgid(uid)
        return True
    except KeyError:
        return False


def _private_dir(path: Path) -> Path:
    """Create `path` (and parents) owned by root, not writable by others; refuse anything else."""
    for folder in reversed([path, *path.parents]):
        if folder.exists():
            continue
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o755)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise SandboxError(f"the sandbox lock folder {path} must be a folder owned by root and writable only "
                           f"by it: remove it, or set {LOCK_DIR_ENV} to another folder")
    return path


# --------------------------------------------------------------------------- leases


class Lease:
    """One uid held by one running stage (release it with `release`)."""

    def __init__(self, uid: int, lock_fd: int) -> None:
        self.uid = self.gid = uid
        self._lock_fd = lock_fd

    def clean(self) -> None:
        """Kill every process of the uid, then remove its files in the world-writable folders."""
        kill_all(self.uid)
        remove_files({self.uid})

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # drops the flock
            self._lock_fd = -1

    def __repr__(self) -> str:
        return f"Lease(uid={self.uid})"


class SandboxUsers:
    """The pool of uids stages run as; see the module docstring."""

    def __init__(self, first: int = DEFAULT_FIRST_UID, count: int = DEFAULT_COUNT,
                 lock_dir: Path = DEFAULT_LOCK_DIR) -> None:
        if first <= 0 or count < 1 or first + count > 2**31:
            raise SandboxError(f"invalid sandbox uid range {first}-{first + count - 1}")
        self.first, self.count, self.lock_dir = first, count, lock_dir
        self._usable: list[int] | None = None  # the uids without an account, found once

    @classmethod
    def from_env(cls) -> SandboxUsers:
        """The range from NNGRADER_SANDBOX_UID ('61000' or '61000-61063') and the lock folder."""
        text = os.environ.get(UID_ENV, "").strip()
        first, count = DEFAULT_FIRST_UID, DEFAULT_COUNT
        if text:
            low, _, high = text.partition("-")
            try:
                first = int(low)
                count = int(high) - first + 1 if high else DEFAULT_COUNT
            except ValueError as exc:
                raise SandboxError(f"{UID_ENV}={text!r}: expected a uid like 61000 or a range like "
                                   "61000-61063") from exc
        lock_dir = Path(os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR)
        return cls(first, count, lock_dir)

    @property
    def uids(self) -> range:
        return range(self.first, self.first + self.count)

    def describe(self) -> str:
        return f"uid {self.first}" if self.count == 1 else f"uids {self.first}-{self.first + self.count - 1}"

    def _try_lock(self, folder: Path, uid: int) -> int | None:
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def lease(self, timeout_s: float = 600.0) -> Lease:
        """A free uid, cleaned of anything a dead grader left; waits while all are in use."""
        deadline = time.monotonic() + timeout_s
        if self._usable is None:
            self._usable = [uid for uid in self.uids if not _has_account(uid)]
        usable = self._usable
        if not usable:
            raise SandboxError(f"every sandbox uid ({self.describe()}) belongs to an account: set {UID_ENV} to "
                               "a free range")
        folder = _private_dir(self.lock_dir)
        while True:
            for uid in usable:
                fd = self._try_lock(folder, uid)
                if fd is not None:
                    lease = Lease(uid, fd)
                    try:
                        lease.clean()  # leftovers of a grader that died holding it
                    except BaseException:
                        lease.release()
                        raise
                    return lease
            if time.monotonic() > deadline:
                raise SandboxError(f"no free sandbox uid among {self.describe()} for {timeout_s:g} s")
            time.sleep(LEASE_WAIT_S)

    def sweep(self) -> int:
        """Kill the processes and remove the files of every uid of the range that no grader holds now."""
        folder = _private_dir(self.lock_dir)
        held: dict[int, int] = {}
        try:
            for uid in self.uids:
                fd = self._try_lock(folder, uid)
                if fd is not None:
                    held[uid] = fd
            found = {uid for proc in processes() if proc.live for uid in proc.uids[:3] if uid in held
                     and _in_reach(proc.pid)}
            killed = sum(kill_all(uid) > 0 for uid in sorted(found))
            return killed + remove_files(set(held))
        finally:
            for fd in held.values():
                os.close(fd)
