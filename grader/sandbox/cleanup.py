"""remove_tree: remove a folder a stage may have filled, without recursion and without raising.

A stage controls what is under its writable folders: trees 10,000 levels deep (deeper than PATH_MAX, deeper
than Python's recursion limit, more levels than open file descriptors), folders without permissions, files
it cannot chmod, names that are not UTF-8. shutil.rmtree fails on several of these. Here every operation
is relative to a directory descriptor, never a long path, and at most two descriptors are open: each
sub-folder met is first *moved up* to the top folder (a rename), so the tree never gets deeper than two
levels while it is emptied. Entries that disappear meanwhile (another cleanup, a concurrent sweep) are
fine. What cannot be removed is logged and left; the call returns False instead of raising.

Symbolic links are removed, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

MAX_OPERATIONS = 10_000_000  # a bound, so that a tree that keeps growing cannot hold a cleanup forever
MAX_ROUNDS = 3  # a folder that something keeps filling is emptied this many times, then reported
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK


class _Removal:
    """State of one remove_tree call: the top folder's descriptor and the folders moved up into it."""

    def __init__(self, top_fd: int) -> None:
        self.top = top_fd
        self.todo: list[str] = []
        self.failures = 0
        self.operations = 0
        self.rounds: dict[str, int] = {}
        self._prefix = f".rm-{secrets.token_hex(4)}-"

    def fresh_name(self) -> str:
        self.operations += 1
        return f"{self._prefix}{self.operations}"

    def open_dir(self, name: str, parent: int) -> int | None:
        """A descriptor of folder `name` in `parent`, made writable when ours; None when gone or not a folder."""
        for attempt in (1, 2):
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):  # replaced by a file or a link meanwhile
                    self.unlink(name, parent)
                    return None
                if exc.errno == errno.EACCES and attempt == 1:
                    with contextlib.suppress(OSError):  # a folder without permissions: ours to open up
                        os.chmod(name, 0o700, dir_fd=parent)
                    continue
                self.fail(name, exc)
                return None
            with contextlib.suppress(OSError):  # u+rwx so that its entries can be removed
                os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) | 0o700)
            return fd
        return None

    def unlink(self, name: str, parent: int) -> None:
        try:
            os.unlink(name, dir_fd=parent)
        except FileNotFoundError:
            pass
        except IsADirectoryError:  # a file was replaced by a folder meanwhile
            self.move_up(name, parent)
        except OSError as exc:
            self.fail(name, exc)

    def move_up(self, name: str, parent: int) -> None:
        """Move folder `name` (in `parent`) to the top folder under a fresh name, to be emptied later."""
        if parent == self.top:
            self.todo.append(name)
            return
        for attempt in (1, 2):
            new = self.fresh_name()
            try:
                os.rename(name, new, src_dir_fd=parent, dst_dir_fd=self.top)
            except FileNotFoundError:
                return
            except OSError as exc:
                # Moving a folder to another parent needs write permission on it (its '..' changes).
                if exc.errno == errno.EACCES and attempt == 1:
                    with contextlib.suppress(OSError):
                        os.chmod(name, 0o700, dir_fd=parent)
                    continue
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and attempt == 1:
                    continue
                self.fail(name, exc)
                return
            self.todo.append(new)
            return

    def empty(self, fd: int) -> None:
        """Remove the files of the folder `fd` and move its sub-folders up."""
        with os.scandir(fd) as entries:
            names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
        for name, is_dir in names:
            self.operations += 1
            if is_dir:
                self.move_up(name, fd)
            else:
                self.unlink(name, fd)

    def fail(self, name: str, exc: OSError) -> None:
        self.failures += 1
        if self.failures <= 5:
            log.warning("could not remove %r: %s", name, exc.strerror)

    def run(self) -> None:
        self.empty(self.top)
        while self.todo and self.operations < MAX_OPERATIONS:
            name = self.todo.pop()
            failures = self.failures
            fd = self.open_dir(name, self.top)
            if fd is None:
                continue
            try:
                self.empty(fd)
            except OSError as exc:
                self.fail(name, exc)
            finally:
                os.close(fd)
            try:
                os.rmdir(name, dir_fd=self.top)
            except FileNotFoundError:
                pass
            except OSError as exc:
                rounds = self.rounds.get(name, 0) + 1
                if exc.errno == errno.ENOTEMPTY and failures == self.failures and rounds < MAX_ROUNDS:
                    self.rounds[name] = rounds  # something was added meanwhile: another round
                    self.todo.append(name)
                elif failures == self.failures:  # otherwise the entry that could not go was reported
                    self.fail(name, exc)


def remove_tree(path: Path | str) -> bool:
    """Remove `path` (a folder, a file or a link) and everything under it; True when it is gone.

    Never raises and never follows a symbolic link. Handles any depth with two open descriptors.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc.strerror)
        return False
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(FileNotFoundError):
            try:
                os.unlink(path)
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc.strerror)
                return False
        return True
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IMODE(info.st_mode) | 0o700)
    try:
        top = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc.strerror)
        return False
    removal = _Removal(top)
    try:
        removal.run()
    except OSError as exc:  # the top folder itself became unreadable: report, never raise
        removal.fail(str(path), exc)
    finally:
        os.close(top)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if removal.failures == 0:
            log.warning("could not remove %s: %s", path, exc.strerror)
        return False
    return True
