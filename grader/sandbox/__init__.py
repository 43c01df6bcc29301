"""Sandboxes run one stage of a submission in isolation: `docker` (default) or `local` (not isolated).

Both implement the `Sandbox` protocol in `base.py`; the checks know nothing of which one ran.
"""

from grader.sandbox.base import Sandbox, StageOutcome, StageRequest, StageStatus

__all__ = ["Sandbox", "StageOutcome", "StageRequest", "StageStatus"]
