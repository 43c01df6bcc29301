"""Removing a work folder whatever a submission left in it.

A stage may leave a tree thousands of levels deep (deeper than PATH_MAX), files without permissions, or a
folder being removed concurrently. `remove_tree` descends with directory descriptors, one level at a time
(no recursion, no long paths, two descriptors open at most), makes folders writable as it goes, never
follows a link, and never raises: what it cannot remove is logged and left, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _first_subfolder(fd: int, skip: set[tuple[int, int]]) -> str | None:
    """Unlink every non-folder entry of the open folder `fd`; return one subfolder's name (None: empty)."""
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if (info.st_dev, info.st_ino) not in skip:
                        return entry.name
                else:
                    os.unlink(entry.name, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not remove %s: %s", entry.name, exc.strerror)
    return None


def remove_tree(root: Path) -> bool:
    """Delete `root` and everything below it; True when it is gone."""
    try:
        fd = os.open(root, _DIR)
    except FileNotFoundError:
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(root)  # a file or a link, not a folder
        return not os.path.lexists(root)
    names: list[str] = []  # the path from root down to the folder `fd` is open on
    skip: set[tuple[int, int]] = set()  # folders that could not be emptied or removed
    try:
        while True:
            try:
                child = _first_subfolder(fd, skip)
            except OSError:
                child = None
            if child is not None:
                with contextlib.suppress(OSError):
                    os.chmod(child, 0o700, dir_fd=fd, follow_symlinks=False)
                try:
                    below = os.open(child, _DIR, dir_fd=fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        info = os.stat(child, dir_fd=fd, follow_symlinks=False)
                        skip.add((info.st_dev, info.st_ino))
                    continue
                os.close(fd)
                fd = below
                names.append(child)
                continue
            if not names:
                break
            name = names.pop()
            above = os.open("..", _DIR, dir_fd=fd)
            os.close(fd)
            fd = above
            try:
                os.rmdir(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove folder %s: %s", name, exc.strerror)
                with contextlib.suppress(OSError):
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    skip.add((info.st_dev, info.st_ino))
    except OSError as exc:
        log.warning("could not remove %s: %s", root, exc.strerror)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(root)
    return not os.path.lexists(root)
