"""The installed nngrader version, in one place (reports, image tags, cache keys and `--version` read it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nngrader")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+dev"
