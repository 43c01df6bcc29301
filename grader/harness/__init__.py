"""The in-sandbox harness. `harness.py` runs inside the sandbox next to untrusted code.

It is a standalone script (standard library + NumPy only, Python >= 3.9, NumPy >= 1.21) so that it runs
on the grading image's Debian Python. It only *collects raw outputs*; every verdict is computed on the host.
"""

from pathlib import Path

HARNESS_PATH = Path(__file__).resolve().parent / "harness.py"
