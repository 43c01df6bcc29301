"""MNIST for nngrader: find, verify, download and cache the four IDX files.

Typical use::

    from grader.data import prepare, load_arrays
    arrays = load_arrays(prepare())   # memory-mapped uint8 arrays, keyed like FILES
"""

from grader.data.download import MIRRORS, fetch
from grader.data.mnist import (
    FILES,
    SHA256,
    PreparedMnist,
    default_cache_dir,
    file_sha256,
    find_file,
    load_arrays,
    prepare,
    read_idx,
    resolve_data_dir,
    verify,
)

__all__ = [
    "FILES",
    "MIRRORS",
    "SHA256",
    "PreparedMnist",
    "default_cache_dir",
    "fetch",
    "file_sha256",
    "find_file",
    "load_arrays",
    "prepare",
    "read_idx",
    "resolve_data_dir",
    "verify",
]
