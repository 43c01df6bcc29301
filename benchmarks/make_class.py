"""Generate a class folder of mixed submissions for batch-grading runs and benchmarks.

    python benchmarks/make_class.py /tmp/class            # 30 submissions
    python benchmarks/make_class.py /tmp/class10 -n 10    # a smaller class
    nngrader batch /tmp/class --out /tmp/results --sandbox docker

Layouts, so every discovery path is exercised: reference copies with harmless variations (one .py per
student), the starter, buggy variants (mutants built from tests/mutants/corpus.yaml), 2 notebooks (the
reference split into cells plus `%matplotlib inline` and `!pip install numpy`), 2 zip archives, 3 GitHub
Classroom clones `digits-<user>/simple_nn.py`, and 2 hostile submissions built from tests/hostile/corpus.yaml.
Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: tests.corpus lives in the checkout

from tests.corpus import Corpus  # noqa: E402

REFERENCE = ROOT / "reference_solution" / "simple_nn.py"
STARTER = ROOT / "starter" / "simple_nn.py"
MUTANTS = Corpus(ROOT / "tests" / "mutants" / "corpus.yaml")
HOSTILE = Corpus(ROOT / "tests" / "hostile" / "corpus.yaml")
# Hostile cases that are bounded and do no harm outside a container either (no kill(-1), no fork bomb).
SAFE_HOSTILE = ["stdout_flood", "segfault_ctypes", "sys_exit_import", "nan_output"]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "uma", "victor", "walter", "xena", "yusuf", "zoe",
         "amara", "bruno", "chen", "dmitri", "elif", "farah", "goran", "hana", "ines", "jonas", "kenji", "lena",
         "mateo", "nadia", "omar", "priya", "quinn", "rosa", "sven", "tariq", "ulla", "vera", "wen", "yara"]


def reference_variant(rng: random.Random, student: str) -> str:
    """The reference with harmless edits: a header, another (still good) learning rate and batch size."""
    source = REFERENCE.read_text()
    lr = rng.choice(["0.02", "0.015", "0.025"])
    batch = rng.choice(["64", "64", "128"])
    source = source.replace("self.learning_rate = 0.02", f"self.learning_rate = {lr}")
    source = source.replace("self.batch_size = 64", f"self.batch_size = {batch}")
    return f"# Submission of {student}\n" + source


def notebook_from_reference(student: str) -> nbformat.NotebookNode:
    """The reference as a student's notebook: magics, a shell line, the class in its own cell."""
    source = REFERENCE.read_text()
    class_start = source.index("class SimpleNN")
    main_start = source.index('if __name__ == "__main__":')
    cells = [
        nbformat.v4.new_markdown_cell(f"# Digit recognizer — {student}"),
        nbformat.v4.new_code_cell("%matplotlib inline\n!pip install numpy\nimport numpy as np"),
        nbformat.v4.new_code_cell(source[class_start:main_start].rstrip()),
        nbformat.v4.new_code_cell("%%time\nmodel = SimpleNN()\nprint(model.W1.shape)"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def write_zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)


class ClassBuilder:
    """Hands out student names and writes each kind of submission."""

    def __init__(self, dest: Path, rng: random.Random) -> None:
        self.dest, self.rng = dest, rng
        self.names = iter(NAMES + [f"student{i:03d}" for i in range(1000)])
        self.made: list[str] = []

    def name(self) -> str:
        return next(self.names)

    def file(self, text: str, what: str) -> None:
        student = self.name()
        (self.dest / f"{student}.py").write_text(text)
        self.made.append(f"{student}.py ({what})")

    def notebook(self) -> None:
        student = self.name()
        nbformat.write(notebook_from_reference(student), str(self.dest / f"{student}.ipynb"))
        self.made.append(f"{student}.ipynb (notebook)")

    def zip(self, nested: bool) -> None:
        student = self.name()
        code = reference_variant(self.rng, student)
        files = ({"submission/simple_nn.py": code, "submission/README.md": "My digit recognizer\n",
                  "submission/plot_utils.py": "def plot(losses):\n    return None\n"} if nested
                 else {"simple_nn.py": code, "__MACOSX/._simple_nn.py": "junk"})
        write_zip(self.dest / f"{student}.zip", files)
        self.made.append(f"{student}.zip (zip)")

    def classroom(self) -> None:
        student = self.name()
        folder = self.dest / f"digits-{student}"
        folder.mkdir()
        (folder / "simple_nn.py").write_text(reference_variant(self.rng, student))
        (folder / "README.md").write_text("# Build your own digit recognizer\n")
        self.made.append(f"digits-{student}/ (GitHub Classroom)")


def build(dest: Path, count: int, seed: int) -> list[str]:
    """Write `count` submissions into `dest` (emptied first); return what was made."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    rng = random.Random(seed)
    builder = ClassBuilder(dest, rng)
    builder.file(STARTER.read_text(), "starter")
    for _ in range(2):
        builder.notebook()
    builder.zip(nested=True)
    builder.zip(nested=False)
    for _ in range(3):
        builder.classroom()
    for name in SAFE_HOSTILE[:2]:
        builder.file(HOSTILE.source(name), f"hostile: {name}")
    mutants = sorted(name for name in MUTANTS.names if name != "reference")
    remaining = count - len(builder.made)
    for name in rng.sample(mutants, k=min(len(mutants), max(0, remaining // 2))):
        builder.file(MUTANTS.source(name), f"mutant: {name}")
    while len(builder.made) < count:
        student = builder.name()
        (dest / f"{student}.py").write_text(reference_variant(rng, student))
        builder.made.append(f"{student}.py (reference variant)")
    return _trim(dest, builder.made, count)


def _trim(dest: Path, made: list[str], count: int) -> list[str]:
    """For a class smaller than the fixed layouts: remove the entries beyond `count` again."""
    for entry in made[count:]:
        name = re.split(r"[ /]", entry, maxsplit=1)[0]
        target = dest / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return made[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path, help="Folder to create (replaced if it exists).")
    parser.add_argument("-n", "--count", type=int, default=30, help="Number of submissions (default 30).")
    parser.add_argument("--seed", type=int, default=0, help="Seed for the variations (default 0).")
    args = parser.parse_args(argv)
    made = build(args.dest, args.count, args.seed)
    for entry in made:
        print(f"  {entry}")
    print(f"{len(made)} submissions in {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
