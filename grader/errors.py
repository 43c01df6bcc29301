"""Every error nngrader raises on purpose derives from GraderError.

GraderError
 +-- RubricError       a rubric file is missing, malformed or inconsistent
 +-- DataError         MNIST is missing, corrupt or cannot be downloaded
 +-- SandboxError      the sandbox (Docker engine, image, local process) cannot run
 +-- SubmissionError   the submission file cannot be read at all
 +-- ClusterError      the Dask scheduler cannot be reached or is lost, or its workers cannot grade
"""


class GraderError(Exception):
    """Base of every error nngrader raises for a person to read."""


class RubricError(GraderError):
    """A rubric file is missing, malformed or inconsistent."""


class DataError(GraderError):
    """MNIST is missing, corrupt or cannot be downloaded."""


class SandboxError(GraderError):
    """The sandbox (Docker engine, image, local process) cannot run."""


class SubmissionError(GraderError):
    """The submission file cannot be read at all."""


class ClusterError(GraderError):
    """The Dask scheduler cannot be reached or is lost, or its workers cannot grade."""
