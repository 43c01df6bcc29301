"""`nngrader doctor`: everything grading needs, checked, each problem with its fix.

Built from each sandbox backend's own contribution (grader/sandbox/select.py lists them: Docker's engine,
image and confinement self-test; the local sandbox's uid and closed files) and the MNIST check.
Never raises for a failed check: a failure is an item with `ok=False`, a detail and a fix.
"""

from __future__ import annotations

from pathlib import Path

from grader.sandbox.base import DoctorItem
from grader.sandbox.select import doctor_contributions

DATA_FIX = "run `nngrader data fetch` (or pass --data-dir / set NNGRADER_DATA_DIR)"


def data_item(data_dir: Path | None) -> DoctorItem:
    """Whether the four MNIST files are there and verify."""
    from grader.data import mnist

    try:
        directory = mnist.resolve_data_dir(data_dir)
        mnist.verify(directory)
    except Exception as exc:  # noqa: BLE001 - DataError carries its own fix; anything else is reported, not raised
        return DoctorItem(name="MNIST data", ok=False, detail=str(exc), fix=DATA_FIX)
    return DoctorItem(name="MNIST data", ok=True, detail=f"four files verified in {directory}")


def doctor(data_dir: Path | None = None) -> list[DoctorItem]:
    """Every backend's items, then the data item."""
    items: list[DoctorItem] = []
    for name, contribution in doctor_contributions():
        try:
            items += contribution()
        except Exception as exc:  # noqa: BLE001 - a backend's broken check is one failed line, not a crash
            items.append(DoctorItem(name=f"{name} sandbox", ok=False, detail=f"the check itself failed: {exc}",
                                    fix="run with --debug and report it"))
    items.append(data_item(data_dir))
    return items
