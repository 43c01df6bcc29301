"""nngrader: a sandboxed grader for the SimpleNN (784 -> 64 -> 10) MNIST challenge.

The library is the product; the `nngrader` command only parses, calls and renders:

    from grader import grade_submission
    report = grade_submission("my_nn.py", sandbox="local")
    print(report.score, report.max_score)
"""

import os
import sys

if "numpy" not in sys.modules:
    # The grader's own NumPy work is tiny; OpenBLAS's default worker threads would only spin and take CPU
    # from the sandboxed training beside it (measured in benchmarks/host_threads.py). Stages set their own.
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

from grader.api import grade_submission  # noqa: E402
from grader.errors import DataError, GraderError, RubricError, SandboxError, SubmissionError  # noqa: E402
from grader.models import CheckResult, Report, Status  # noqa: E402
from grader.rubric import Rubric, load_rubric  # noqa: E402
from grader.version import __version__  # noqa: E402

__all__ = [
    "CheckResult", "DataError", "GraderError", "Report", "Rubric", "RubricError", "SandboxError", "Status",
    "SubmissionError", "__version__", "grade_submission", "load_rubric",
]
