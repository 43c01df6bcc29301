"""Gradescope: the autograder zip (`nngrader gradescope package`) and what runs inside it (`gradescope run`).

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/) runs `setup.sh` once, as root and
with internet access, to build the autograder image from this zip (extracted to /autograder/source), then
`run_autograder` once per submission, as root, in a fresh container without Docker, which must leave
/autograder/results/results.json behind. The submission's files are in /autograder/submission.

Zip layout:
  setup.sh          installs Python and nngrader into a venv, downloads MNIST, decodes it once, and makes the
                    raw files and the test labels readable by root only
  run_autograder    `nngrader gradescope run`; if even that cannot start, a results.json with 0 and the reason
  nngrader.env      settings both scripts source (pip spec, class name, paths), shell-quoted
  rubric.yaml       the rubric to grade with
  grader_source/    nngrader itself: by default a wheel built from the installed nngrader (so setup.sh needs
                    the package index only for public dependencies), or a source tree / wheel given with
                    --grader-source; nothing when --pip-spec names what pip installs instead

`gradescope run` collects the submission with `grader.submission.collect` (one .py, a notebook, or several
files with their helper modules), grades it with the local sandbox (Gradescope's container is the
isolation; the sandbox layer runs the student's code under an unprivileged uid when it runs as root), and
writes results.json atomically. Whatever fails, it writes a results.json: a submission that cannot be
graded scores 0 with what to upload instead; a grader failure scores 0 with the reason.

Both zips are reproducible: entries sorted, fixed dates, fixed permissions.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import io
import os
import shlex
import traceback
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from grader.errors import GraderError, SubmissionError
from grader.fileio import atomic_write
from grader.models import Report
from grader.report.grader_error import grader_error_report
from grader.report.gradescope import render_gradescope
from grader.rubric import LoadedRubric, load_rubric

SOURCE_DIR = "/autograder/source"
VENV = "/opt/nngrader"
GRADER_SOURCE = "grader_source"
DISTRIBUTION = "nngrader"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: same inputs, same bytes
_EXECUTABLE = 0o100755 << 16  # regular file, rwxr-xr-x, in the high bits of external_attr
_REGULAR = 0o100644 << 16
_PACKAGING_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README", "LICENSE")
_METADATA_HEADERS = ("Metadata-Version", "Name", "Version", "Summary", "License", "Requires-Python",
                     "Requires-Dist", "Provides-Extra")

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root and with internet access, while building the autograder image.
# Use an Ubuntu 22.04 (or newer) base image: nngrader needs Python >= 3.10.
set -euo pipefail
cd "$(dirname "$0")"
source ./nngrader.env

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
# A venv: newer Ubuntu images refuse system-wide pip installs (PEP 668).
python3 -m venv "$NNGRADER_VENV"
"$NNGRADER_VENV/bin/pip" install --upgrade pip
# nngrader itself comes from this zip (grader_source/) unless the package was built with --pip-spec;
# its dependencies (NumPy, Pydantic, ...) come from the package index.
"$NNGRADER_VENV/bin/pip" install "$NNGRADER_PIP_SPEC"

"$NNGRADER_VENV/bin/nngrader" data fetch --dest "$NNGRADER_DATA_DIR"
"$NNGRADER_VENV/bin/nngrader" rubric validate rubric.yaml
# Decode MNIST into the .npy cache now, so that each submission's fresh container does not repeat it.
"$NNGRADER_VENV/bin/python" -c "from grader.data.mnist import prepare; prepare()"
# The submission runs in this container: the raw files and the decoded test labels are root's only.
chmod -R go-rwx "$NNGRADER_DATA_DIR"
find "$NNGRADER_CACHE_DIR" -type d -name hidden -exec chmod -R go-rwx {} +
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, as root, in a fresh container of its own without Docker:
# `nngrader gradescope run` grades /autograder/submission with the local sandbox and always writes
# /autograder/results/results.json. This script only covers the case where nngrader cannot start at all.
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
log=$(mktemp)
"$NNGRADER" gradescope run --root "$ROOT" --rubric "$ROOT/source/rubric.yaml" 2> "$log"
status=$?
cat "$log"  # the stdout of this script is shown to instructors only
if [ ! -s "$RESULTS" ]; then
  fail "The autograder could not grade this submission (exit $status): $(tail -c 1500 "$log")"
fi
exit 0
"""


# --------------------------------------------------------------------------- the wheel of the installed nngrader


def _package_files() -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file of the installed `grader` package, without caches."""
    import grader

    package = Path(grader.__file__).parent
    found = []
    for folder, dirs, names in os.walk(package, followlinks=True):  # grader/rubrics is a symlink in a checkout
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        found += [Path(folder) / name for name in names if not name.endswith((".pyc", ".pyo"))]
    for path in sorted(found):
        yield f"grader/{path.relative_to(package).as_posix()}", path


def _metadata_text(dist: metadata.Distribution) -> str:
    """The installed METADATA's headers that pip needs (name, version, dependencies), without the long text."""
    source = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    parsed = email.parser.HeaderParser().parsestr(source)
    lines = ["Metadata-Version: 2.1"]
    for header in _METADATA_HEADERS[1:]:
        lines += [f"{header}: {value}" for value in parsed.get_all(header) or []]
    return "\n".join(lines) + "\n"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def installed_wheel() -> tuple[str, bytes]:
    """A wheel (file name, bytes) of the nngrader this Python runs: the `grader` package as installed
    (editable or not), its dependencies from the installed metadata, and the `nngrader` command.

    Built here from the files, without build tools or a network, so the zip ships exactly what graded
    on the instructor's machine. Raises GraderError when nngrader's metadata cannot be found.
    """
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise GraderError("nngrader is not installed as a package (no metadata found): install it with "
                          "`pip install .`, or pass --grader-source") from exc
    version = dist.version
    info = f"{DISTRIBUTION}-{version}.dist-info"
    entries = {name: path.read_bytes() for name, path in _package_files()}
    entries[f"{info}/METADATA"] = _metadata_text(dist).encode()
    entries[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: nngrader\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries[f"{info}/entry_points.txt"] = b"[console_scripts]\nnngrader = grader.cli:main\n"
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in sorted(entries.items())]
    entries[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    return f"{DISTRIBUTION}-{version}-py3-none-any.whl", _zip_bytes(entries, executables=set())


# --------------------------------------------------------------------------- the autograder zip


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

    Nothing else (reference solutions, tests, CI files): the zip lands in /autograder/source, in the
    container the submission runs in.
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


def _zip_bytes(entries: dict[str, bytes], executables: set[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = _EXECUTABLE if name in executables else _REGULAR
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def build_autograder_zip(dest: Path, *, rubric_path: str | Path | None = None, grader_source: Path | None = None,
                         pip_spec: str | None = None) -> Path:
    """Write the Gradescope autograder zip to `dest` and return `dest`.

    rubric_path: rubric YAML file or built-in name (default mini_challenge); it is validated and shipped.
    What setup.sh installs as nngrader: `grader_source` (a source tree, wheel or sdist, shipped in the zip)
    if given; else `pip_spec` if given (e.g. a git URL of the course's fork: nothing shipped); else a wheel
    of the installed nngrader, shipped in the zip.
    Raises RubricError for an invalid rubric, GraderError for a missing grader_source or both options.
    """
    if grader_source is not None and pip_spec is not None:
        raise GraderError("give --grader-source or --pip-spec, not both")
    loaded = load_rubric(rubric_path)
    entries = {"setup.sh": SETUP_SH.encode(), "run_autograder": RUN_AUTOGRADER.encode(),
               "rubric.yaml": Path(loaded.path).read_bytes()}
    if grader_source is not None:
        source_entries, spec = _grader_entries(grader_source)
        entries.update(source_entries)
    elif pip_spec is not None:
        spec = pip_spec
    else:
        name, wheel = installed_wheel()
        entries[f"{GRADER_SOURCE}/{name}"] = wheel
        spec = f"{SOURCE_DIR}/{GRADER_SOURCE}/{name}"
    entries["nngrader.env"] = _env_file(spec, loaded.rubric.architecture.class_name).encode()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(_zip_bytes(entries, executables={"setup.sh", "run_autograder"}))
    return dest


# --------------------------------------------------------------------------- inside Gradescope


UPLOAD_HINT = ("Upload the .py file (or .ipynb notebook) that defines the class, together with any of your own "
               "modules it imports.")


def grade_gradescope_submission(root: Path, *, rubric: LoadedRubric, sandbox: str = "local",
                                data_dir: Path | None = None) -> Report:
    """Grade what Gradescope put in `root`/submission (a file, a notebook or several files, by the rule of
    grader.submission.collect); raises SubmissionError when nothing there is gradable."""
    from grader.api import grade_submission
    from grader.submission import shown_name

    folder = root / "submission"
    report = grade_submission(folder, rubric=rubric, sandbox=sandbox, data_dir=data_dir)
    report.submission = report.submission.removeprefix(f"{shown_name(folder).rstrip('/')}/")
    return report


def run_gradescope(root: Path, *, rubric_path: str | Path | None = None, sandbox: str = "local",
                   data_dir: Path | None = None) -> Path:
    """Grade the submission in `root` (normally /autograder) and write `root`/results/results.json; return it.

    Never raises for a submission or grader problem: the results.json then scores 0 and says why.
    """
    results = root / "results" / "results.json"
    loaded: LoadedRubric | None = None
    try:
        loaded = load_rubric(rubric_path)
        report = grade_gradescope_submission(root, rubric=loaded, sandbox=sandbox, data_dir=data_dir)
    except SubmissionError as exc:
        report = grader_error_report(str(exc), rubric=loaded, hint=UPLOAD_HINT,
                                     prefix="your submission could not be graded: ")
    except Exception as exc:  # noqa: BLE001 - whatever happens, Gradescope gets a results.json
        traceback.print_exc()  # run_autograder's output: shown to instructors only
        reason = str(exc) if isinstance(exc, GraderError) else f"{type(exc).__name__}: {exc}"
        report = grader_error_report(reason, rubric=loaded)
    atomic_write(results, render_gradescope(report))
    return results
