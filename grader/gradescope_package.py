"""Build the Gradescope autograder zip: setup.sh + run_autograder at the root, plus the rubric.

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/) runs `setup.sh` once, as root
and with internet access, to build the autograder image from this zip (extracted to /autograder/source),
then `run_autograder` once per submission in a fresh container, which must leave
/autograder/results/results.json behind.

Zip layout:
  setup.sh          installs Python + nngrader into a venv, downloads MNIST, warms the decoded cache
  run_autograder    finds the submitted file, runs `nngrader check --sandbox local --format gradescope`
  nngrader.env      settings both scripts source (pip spec, class name, paths), shell-quoted
  rubric.yaml       the rubric to grade with
  grader_source/    (optional) an nngrader source tree, or one wheel/sdist file, installed instead of PyPI

The zip is reproducible: entries sorted, fixed dates, fixed permissions.
"""

from __future__ import annotations

import shlex
import zipfile
from collections.abc import Iterator
from pathlib import Path

from grader.errors import GraderError
from grader.rubric import load_rubric

SOURCE_DIR = "/autograder/source"
VENV = "/opt/nngrader"
GRADER_SOURCE = "grader_source"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: same inputs, same bytes
_EXECUTABLE = 0o100755 << 16  # regular file, rwxr-xr-x, in the high bits of external_attr
_REGULAR = 0o100644 << 16
_PACKAGING_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README", "LICENSE")

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root and with internet access, while building the autograder image.
# Use an Ubuntu 22.04 (or newer) base image: nngrader needs Python >= 3.10.
set -euo pipefail
cd "$(dirname "$0")"
source ./nngrader.env

apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
# A venv: newer Ubuntu images refuse system-wide pip installs (PEP 668).
python3 -m venv "$NNGRADER_VENV"
"$NNGRADER_VENV/bin/pip" install --upgrade pip
"$NNGRADER_VENV/bin/pip" install "$NNGRADER_PIP_SPEC" numpy

"$NNGRADER_VENV/bin/nngrader" data fetch --dest "$NNGRADER_DATA_DIR"
"$NNGRADER_VENV/bin/nngrader" rubric validate rubric.yaml
# Decode MNIST into the .npy cache now, so that each submission's fresh container does not repeat it.
"$NNGRADER_VENV/bin/python" -c "from grader.data.mnist import prepare; prepare()"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, in a fresh container of its own: that container is the
# isolation, so nngrader's `--sandbox local` is the right sandbox here (no Docker inside Gradescope).
# Whatever happens, this script leaves a results.json behind (score 0 and the reason on a grader error).
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"  # overridable so the script can be tested outside Gradescope
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"

# A results.json that gives 0 points and says why; plain printf so it works even without Python.
fail() {
  local reason
  # JSON string escapes: backslash, quote, newline; other control characters are dropped.
  reason=$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\000-\011\013-\037' |
           awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')
  printf '{"score": 0, "output": "%s", "output_format": "text", "stdout_visibility": "hidden", "tests": []}\n' \
    "$reason" > "$RESULTS"
  echo "nngrader autograder: $1"
  exit 0
}

source "$ROOT/source/nngrader.env" || fail "The autograder is misconfigured (no nngrader.env): tell the staff."
NNGRADER="${NNGRADER_BIN:-$NNGRADER_VENV/bin/nngrader}"

# The submission: the .py file defining the rubric's class, else the only .py file.
mapfile -t files < <(grep -rlE --include='*.py' "^class[[:space:]]+${NNGRADER_CLASS_NAME}\b" \
                       "$ROOT/submission" 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then
  mapfile -t files < <(find "$ROOT/submission" -type f -name '*.py' 2>/dev/null | sort)
  [ "${#files[@]}" -eq 1 ] ||
    fail "No .py file in your submission defines class ${NNGRADER_CLASS_NAME}: upload the file that defines it."
fi
[ "${#files[@]}" -eq 1 ] || echo "several files define ${NNGRADER_CLASS_NAME}; grading ${files[0]}"

# Grade a copy, in a folder of its own, so nothing is written next to the original submission.
work=$(mktemp -d)
cp "${files[0]}" "$work/" || fail "Could not copy ${files[0]}."
submission="$work/$(basename "${files[0]}")"

"$NNGRADER" check "$submission" --sandbox local --rubric "$ROOT/source/rubric.yaml" --format gradescope \
  -o "$RESULTS" 2> "$work/nngrader.err"
status=$?
cat "$work/nngrader.err"  # stdout of this script is shown to instructors only
# Exit 0 (passed) and 1 (not passed) both wrote a report; anything else is a grader error or crash.
if [ "$status" -gt 1 ] || [ ! -s "$RESULTS" ]; then
  fail "The autograder could not grade this submission (exit $status): $(tail -c 1500 "$work/nngrader.err")"
fi
exit 0
"""


def _env_file(pip_spec: str, class_name: str) -> str:
    settings = {
        "NNGRADER_PIP_SPEC": pip_spec,
        "NNGRADER_CLASS_NAME": class_name,
        "NNGRADER_VENV": VENV,
        "NNGRADER_DATA_DIR": f"{VENV}/mnist",
        "NNGRADER_CACHE_DIR": f"{VENV}/cache",
    }
    lines = ["# Settings for setup.sh and run_autograder (written by `nngrader gradescope package`)."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def _source_files(root: Path) -> Iterator[Path]:
    """The files pip needs from an nngrader source tree: packaging metadata and the `grader` package.

    Nothing else (reference solutions, tests, CI files): the zip lands in /autograder/source, readable
    by the submission under `--sandbox local`.
    """
    for path in sorted(root.iterdir()):
        if path.is_file() and path.name.startswith(_PACKAGING_FILES):
            yield path
    for path in sorted((root / "grader").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def _grader_entries(grader_source: Path) -> tuple[dict[str, bytes], str]:
    """Zip entries for a local nngrader (a source tree or one wheel/sdist) and the pip spec installing it."""
    if grader_source.is_dir():
        if not (grader_source / "pyproject.toml").is_file() or not (grader_source / "grader").is_dir():
            raise GraderError(f"{grader_source}: not an nngrader source tree (needs pyproject.toml and grader/)")
        entries = {f"{GRADER_SOURCE}/{path.relative_to(grader_source).as_posix()}": path.read_bytes()
                   for path in _source_files(grader_source)}
        return entries, f"{SOURCE_DIR}/{GRADER_SOURCE}"
    if grader_source.is_file():
        name = f"{GRADER_SOURCE}/{grader_source.name}"
        return {name: grader_source.read_bytes()}, f"{SOURCE_DIR}/{name}"
    raise GraderError(f"{grader_source}: no such file or folder (give an nngrader source tree, wheel or sdist)")


def _write_zip(dest: Path, entries: dict[str, bytes], executables: set[str]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = _EXECUTABLE if name in executables else _REGULAR
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])


def build_autograder_zip(dest: Path, *, rubric_path: str | Path | None = None, grader_source: Path | None = None,
                         pip_spec: str = "nngrader") -> Path:
    """Write the Gradescope autograder zip to `dest` and return `dest`.

    rubric_path: rubric YAML file or built-in name (default mini_challenge); it is validated and shipped.
    grader_source: an nngrader source tree or wheel/sdist to ship and install instead of `pip_spec`
    (for a course's fork). pip_spec: what setup.sh gives to pip otherwise (e.g. 'nngrader==0.1.0').
    Raises RubricError for an invalid rubric, GraderError for a missing grader_source.
    """
    loaded = load_rubric(rubric_path)
    entries = {"setup.sh": SETUP_SH.encode(), "run_autograder": RUN_AUTOGRADER.encode(),
               "rubric.yaml": Path(loaded.path).read_bytes()}
    if grader_source is not None:
        source_entries, pip_spec = _grader_entries(grader_source)
        entries.update(source_entries)
    entries["nngrader.env"] = _env_file(pip_spec, loaded.rubric.architecture.class_name).encode()
    _write_zip(dest, entries, executables={"setup.sh", "run_autograder"})
    return dest
