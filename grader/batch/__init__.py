"""Batch grading: a class folder in, reports and a gradebook out.

    from grader.batch import grade_batch
    result = grade_batch("submissions/", out_dir="results/", sandbox="local", jobs=2)
    print(result.graded_now, result.errors, result.grades_csv)
"""

from grader.batch.discover import Submission, discover
from grader.batch.records import BatchResult, CacheKey, StudentRecord
from grader.batch.runner import BatchEvent, ProgressCallback, grade_batch

__all__ = ["BatchEvent", "BatchResult", "CacheKey", "ProgressCallback", "StudentRecord", "Submission",
           "discover", "grade_batch"]
