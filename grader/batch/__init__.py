"""Batch grading: a class folder in, reports and a gradebook out.

    from grader.batch import grade_batch
    result = grade_batch("submissions/", out_dir="results/", sandbox="local", jobs=2, roster="canvas.csv")
    print(result.graded_now, result.invalid, result.errors, result.grades_csv, result.unmatched_roster)
"""

from grader.batch.discover import Submission, discover
from grader.batch.records import BatchResult, CacheKey, StudentRecord
from grader.batch.roster import Roster, RosterMatch, match_roster, read_roster
from grader.batch.runner import BatchEvent, ProgressCallback, RunningStudent, grade_batch

__all__ = ["BatchEvent", "BatchResult", "CacheKey", "ProgressCallback", "Roster", "RosterMatch", "RunningStudent",
           "StudentRecord", "Submission", "discover", "grade_batch", "match_roster", "read_roster"]
