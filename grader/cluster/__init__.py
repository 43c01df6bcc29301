"""Batch grading on a Dask cluster: `nngrader batch CLASS --out OUT --cluster tcp://scheduler:8786`.

The batch (grader.batch.runner) drives an Executor; DaskExecutor (executor.py) is the cluster's. It ships
each student's collected files, as bytes, in a task to a worker, where grader.cluster.worker grades them
with the worker's own sandbox and MNIST through the same grading function as the local pool
(runner.grade_files), and returns the Report. The client writes records and the gradebook as the local batch
does. Workers are plain `dask worker` processes with nngrader installed; the preload (preload.py, which
`nngrader worker` adds) checks sandbox and data at start-up and removes containers a killed worker left.

Needs the optional extra: pip install 'nngrader[cluster]'.
"""

from grader.cluster.executor import DaskExecutor, cluster_doctor

__all__ = ["DaskExecutor", "cluster_doctor"]
