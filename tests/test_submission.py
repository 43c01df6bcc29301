"""What a submission is: `collect` finds the entry and its files; hostile trees are bounded, never followed.

Every test builds its submission in tmp_path. Nothing here runs student code or needs MNIST.
"""

from __future__ import annotations

import ast
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from grader import submission as submission_module
from grader.errors import SubmissionError
from grader.submission import (
    MAX_AST_DEPTH,
    SourceError,
    SubmissionFiles,
    collect,
    notebook_source,
    parse_bounded,
    read_regular,
)
from tests.conftest import REFERENCE

REFERENCE_CODE = REFERENCE.read_text()
NETWORK_CLASS = REFERENCE_CODE[REFERENCE_CODE.index("class SimpleNN"):REFERENCE_CODE.index("if __name__")]
PARTIAL = "import numpy as np\n\nclass Net:\n    def forward(self, X):\n        return X\n"
HELPER = "def relu(x):\n    return x\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def make_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My digits")] +
                                        [nbformat.v4.new_code_cell(cell) for cell in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def make_zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def returns_promptly(func: Callable[[], object]) -> object:
    """Run func in a thread; fail (instead of hanging the suite) when it blocks, e.g. on a FIFO."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_capture(func)), daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "blocked (a FIFO was opened?)"
    return outcome[0]


def _capture(func: Callable[[], object]) -> object:
    try:
        return func()
    except Exception as exc:  # noqa: BLE001 - returned for the test to inspect
        return exc


# ------------------------------------------------------------------------------------------- a .py file
def test_a_file_brings_the_local_modules_it_imports_transitively(tmp_path: Path) -> None:
    write(tmp_path / "model.py", "import numpy as np\nimport os\nimport utils\nfrom layers import Dense\n"
                                 + NETWORK_CLASS)
    write(tmp_path / "utils.py", "from helpers.maths import softmax\n")
    write(tmp_path / "helpers" / "__init__.py", "")
    write(tmp_path / "helpers" / "maths.py", "from .base import EPS\n")
    write(tmp_path / "helpers" / "base.py", "EPS = 1e-9\n")
    write(tmp_path / "layers.py", "class Dense: pass\n")
    write(tmp_path / "unrelated.py", "print('not imported by anyone')\n")
    found = collect(tmp_path / "model.py")
    assert found.entry == "model.py"
    assert sorted(found.files) == ["helpers/__init__.py", "helpers/base.py", "helpers/maths.py", "layers.py",
                                   "model.py", "utils.py"]
    assert found.files["layers.py"] == b"class Dense: pass\n"
    assert found.notes[0].startswith("graded model.py with the local modules it imports: helpers/__init__.py")


def test_a_file_inside_a_package_keeps_its_package_and_relative_imports(tmp_path: Path) -> None:
    write(tmp_path / "hw" / "pkg" / "__init__.py", "")
    write(tmp_path / "hw" / "pkg" / "model.py", "from .utils import relu\nfrom . import layers\n" + NETWORK_CLASS)
    write(tmp_path / "hw" / "pkg" / "utils.py", HELPER)
    write(tmp_path / "hw" / "pkg" / "layers.py", "")
    found = collect(tmp_path / "hw" / "pkg" / "model.py")
    assert found.entry == "pkg/model.py"
    assert sorted(found.files) == ["pkg/__init__.py", "pkg/layers.py", "pkg/model.py", "pkg/utils.py"]


def test_a_file_with_a_syntax_error_is_still_the_submission(tmp_path: Path) -> None:
    found = collect(write(tmp_path / "broken.py", "this is not python (\nimport utils\n"))
    assert (found.entry, list(found.files)) == ("broken.py", ["broken.py"])
    assert any("imports of broken.py not followed: syntax error" in note for note in found.notes)


def test_a_notebook_is_converted_without_magics(tmp_path: Path) -> None:
    make_notebook(tmp_path / "work.ipynb", ["%matplotlib inline\n!pip install numpy\nimport numpy as np",
                                            NETWORK_CLASS, "%%time\nfor i in range(3):\n    print(i)",
                                            "if True:\n    !ls\nx = 1"])
    found = collect(tmp_path / "work.ipynb")
    assert found.entry == "work.py" and list(found.files) == ["work.py"]
    code = found.files["work.py"].decode()
    ast.parse(code)  # an indented `!ls` becomes `pass`: still valid Python
    assert "%matplotlib" not in code and "!pip" not in code and "print(i)" not in code and "class SimpleNN" in code
    assert found.notes == ["converted notebook work.ipynb to work.py", "dropped 6 magic/shell lines"]


@pytest.mark.parametrize("content", [b"{ not json", b"[" * 200_000 + b"]" * 200_000, b"\xff\xfe"])
def test_a_broken_notebook_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(SubmissionError, match="not a readable Jupyter notebook"):
        collect(write(tmp_path / "nb.ipynb", content))


def test_what_cannot_be_a_submission_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="No such file or directory"):
        collect(tmp_path / "missing.py")
    with pytest.raises(SubmissionError, match="not a .py, .ipynb or .zip file"):
        collect(write(tmp_path / "notes.txt", "hello"))
    with pytest.raises(SubmissionError, match="no .py or .ipynb file found"):
        collect(write(tmp_path / "empty" / "README.md", "").parent)
    with pytest.raises(SubmissionError, match="huge.py: larger than 1000000 bytes"):
        collect(write(tmp_path / "huge.py", "#" * (submission_module.MAX_SOURCE_BYTES + 1)))


# ------------------------------------------------------------------------------------------- a folder
def test_a_folder_holds_every_py_file_and_the_network_file_is_the_entry(tmp_path: Path) -> None:
    write(tmp_path / "src" / "network.py", REFERENCE_CODE)
    write(tmp_path / "utils.py", HELPER)
    write(tmp_path / "train_script.py", "import numpy as np\nprint('training')\n")
    write(tmp_path / "__pycache__" / "x.py", REFERENCE_CODE)  # caches, hidden and virtualenv folders never count
    write(tmp_path / ".venv" / "lib" / "numpy.py", "")
    write(tmp_path / "README.md", "# my network")
    found = collect(tmp_path)
    assert found.entry == "src/network.py"
    assert sorted(found.files) == ["src/network.py", "train_script.py", "utils.py"]
    assert found.notes[0] == "graded src/network.py (2 other .py files available to import)"
    assert found.display == str(tmp_path)


@pytest.mark.parametrize(("files", "entry"), [
    ({"a.py": REFERENCE_CODE, "b.py": NETWORK_CLASS.replace("SimpleNN", "MyNet")}, "a.py"),  # narrowed by name
    ({"a.py": "class SimpleNN:\n    pass\n", "b.py": HELPER}, "a.py"),  # names the class only
    ({"model.py": PARTIAL, "utils.py": HELPER}, "model.py"),  # a partial contract is graded as far as it goes
    ({"solution.py": "this is not python (\n"}, "solution.py"),  # the only file: the report will say why
])
def test_the_entry_rule(tmp_path: Path, files: dict[str, str], entry: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    assert collect(tmp_path).entry == entry


@pytest.mark.parametrize(("files", "message"), [
    ({"v1.py": REFERENCE_CODE, "v2.py": REFERENCE_CODE}, "a class with forward, backward and train): v1.py, v2.py"),
    ({"a.py": "class SimpleNN: pass\n", "b.py": "class SimpleNN: pass\n"}, "(class SimpleNN): a.py, b.py"),
    ({"a.py": HELPER, "b.py": HELPER}, "no file defines class SimpleNN; .py files found: a.py, b.py"),
])
def test_an_ambiguous_folder_is_an_error_naming_the_candidates(tmp_path: Path, files: dict[str, str],
                                                               message: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        collect(tmp_path)


def test_the_given_entry_overrides_the_rule(tmp_path: Path) -> None:
    write(tmp_path / "hw" / "v1.py", REFERENCE_CODE)
    write(tmp_path / "hw" / "v2.py", REFERENCE_CODE)
    assert collect(tmp_path, entry="hw/v2.py").entry == "hw/v2.py"
    assert collect(tmp_path, entry="v2.py").entry == "hw/v2.py"  # the unique file whose path ends with it
    with pytest.raises(SubmissionError, match="no single file simple_nn.py .*found: hw/v1.py, hw/v2.py"):
        collect(tmp_path, entry="simple_nn.py")


def test_a_folder_with_only_a_notebook_grades_the_notebook(tmp_path: Path) -> None:
    make_notebook(tmp_path / "carol" / "digits.ipynb", ["import numpy as np", NETWORK_CLASS])
    make_notebook(tmp_path / "carol" / "scratch.ipynb", ["print(1)"])
    found = collect(tmp_path / "carol")
    assert found.entry == "digits.py" and "class SimpleNN" in found.files["digits.py"].decode()
    assert "converted notebook digits.ipynb to digits.py" in found.notes


def test_py_files_come_before_notebooks(tmp_path: Path) -> None:
    write(tmp_path / "simple_nn.py", REFERENCE_CODE)
    make_notebook(tmp_path / "exploration.ipynb", [NETWORK_CLASS])
    assert collect(tmp_path).entry == "simple_nn.py"
    helper_only = write(tmp_path / "other" / "utils.py", HELPER).parent
    make_notebook(helper_only / "model.ipynb", [NETWORK_CLASS])
    found = collect(helper_only)  # the helper defines nothing: the notebook that does is the entry
    assert found.entry == "model.py" and sorted(found.files) == ["model.py", "utils.py"]


# ------------------------------------------------------------------------------------------- hostile trees
def test_special_files_and_links_are_skipped_with_a_note_and_never_opened(tmp_path: Path) -> None:
    student = tmp_path / "student"
    write(student / "simple_nn.py", REFERENCE_CODE)
    os.mkfifo(student / "zed.py")  # opening it for reading would block forever
    (student / "deeper").mkdir()
    os.mkfifo(student / "deeper" / "fifo.ipynb")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(student / "sock.py"))
        (student / "passwd.py").symlink_to("/etc/passwd")
        (student / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
        found = returns_promptly(lambda: collect(student))
    assert isinstance(found, SubmissionFiles), found
    assert list(found.files) == ["simple_nn.py"]
    assert "skipped FIFOs: deeper/fifo.ipynb, zed.py" in found.notes
    assert "skipped sockets: sock.py" in found.notes
    assert "skipped symbolic links: elsewhere, passwd.py" in found.notes


def test_a_fifo_given_as_the_submission_is_an_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "zed.py")
    error = returns_promptly(lambda: collect(tmp_path / "zed.py"))
    assert isinstance(error, SubmissionError) and "zed.py: a FIFO, not a file or folder" in str(error)
    error = returns_promptly(lambda: read_regular(tmp_path / "zed.py", 100))
    assert isinstance(error, SubmissionError) and "a FIFO, not a regular file" in str(error)


def test_read_regular_refuses_links_and_oversized_files(tmp_path: Path) -> None:
    write(tmp_path / "real.py", "x = 1\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    with pytest.raises(SubmissionError, match="link.py: cannot read it \\(a symbolic link\\)"):
        read_regular(tmp_path / "link.py", 100)
    with pytest.raises(SubmissionError, match="larger than 3 bytes"):
        read_regular(tmp_path / "real.py", 3)
    assert read_regular(tmp_path / "real.py", 6) == b"x = 1\n"


def deep_tree(root: Path, levels: int) -> Path:
    """root/d/d/.../d, `levels` deep, made one level at a time (os.makedirs recurses)."""
    path = root
    path.mkdir(parents=True, exist_ok=True)
    for _ in range(levels):
        path = path / "d"
        path.mkdir()
    return path


def remove_deep(root: Path) -> None:
    """Remove a tree of any depth without recursion (shutil.rmtree hits the recursion limit on 1,100 levels)."""
    chain = [root]
    while True:
        below = [Path(entry.path) for entry in os.scandir(chain[-1]) if entry.is_dir(follow_symlinks=False)]
        if not below:
            break
        chain.append(below[0])
    for folder in reversed(chain):
        for entry in os.scandir(folder):
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        os.rmdir(folder)


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Callable[[Path, int], Path]]:
    """deep_tree, with the trees removed afterwards."""
    made: list[Path] = []

    def make(root: Path, levels: int) -> Path:
        made.append(root / "d")
        return deep_tree(root, levels)

    yield make
    for top in made:
        remove_deep(top)


def test_a_tree_1100_levels_deep_is_cut_at_the_depth_limit(tmp_path: Path,
                                                           deep: Callable[[Path, int], Path]) -> None:
    student = tmp_path / "student"
    write(student / "simple_nn.py", REFERENCE_CODE)
    write(deep(student, 1100) / "hidden.py", "")
    found = collect(student)
    assert list(found.files) == ["simple_nn.py"]
    assert any(note.startswith(f"skipped folders deeper than {submission_module.MAX_DEPTH} levels: d/d/")
               for note in found.notes)
    write(deep(tmp_path / "only_deep", 1100) / "simple_nn.py", REFERENCE_CODE)
    with pytest.raises(SubmissionError, match="no .py or .ipynb file found; skipped folders deeper than"):
        collect(tmp_path / "only_deep")


def test_undecodable_and_control_character_names_are_skipped_with_a_note(tmp_path: Path) -> None:
    student = tmp_path / "student"
    write(student / "simple_nn.py", REFERENCE_CODE)
    write(Path(os.fsdecode(bytes(student) + b"/jos\xe9.py")), REFERENCE_CODE)  # latin-1 on disk
    write(student / "evil\x1b[2J.py", REFERENCE_CODE)
    write(student / ("x" * 150 + ".py"), REFERENCE_CODE)
    found = collect(student)
    assert list(found.files) == ["simple_nn.py"]
    assert "skipped names that are not valid UTF-8: jos\\xe9.py" in found.notes
    assert "skipped names with control characters: evil.py" in found.notes  # the escape itself is gone
    assert any(note.startswith("skipped names longer than 100 characters") for note in found.notes)
    found.model_dump_json()  # everything stored is valid UTF-8


def test_a_file_with_an_undecodable_name_is_graded_under_an_escaped_name(tmp_path: Path) -> None:
    path = write(Path(os.fsdecode(bytes(tmp_path) + b"/jos\xe9.py")), REFERENCE_CODE)
    found = collect(path)
    assert found.entry == "jos_xe9.py" and found.display.endswith("jos\\xe9.py")
    assert any("not plain UTF-8: graded as jos_xe9.py" in note for note in found.notes)


def test_floods_of_files_and_bytes_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission_module, "MAX_FILES", 5)
    monkeypatch.setattr(submission_module, "MAX_SCANNED", 50)
    monkeypatch.setattr(submission_module, "MAX_TOTAL_BYTES", 2_000)
    for i in range(6):
        write(tmp_path / "many" / f"m{i}.py", "")
    with pytest.raises(SubmissionError, match="more than 5 .py files"):
        collect(tmp_path / "many")
    for i in range(60):
        write(tmp_path / "flood" / f"f{i}.txt", "")
    with pytest.raises(SubmissionError, match="more than 50 files and folders"):
        collect(tmp_path / "flood")
    write(tmp_path / "big" / "a.py", "#" * 1500)
    write(tmp_path / "big" / "b.py", "#" * 1500)
    with pytest.raises(SubmissionError, match="more than 0 MB of source files"):
        collect(tmp_path / "big")


# ------------------------------------------------------------------------------------------- archives
def test_a_zip_is_read_in_memory_and_its_unsafe_members_skipped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bob.zip", {
        "bob/simple_nn.py": REFERENCE_CODE, "bob/helpers.py": HELPER, "__MACOSX/bob/._simple_nn.py": "junk",
        "bob/data.csv": "1,2,3", "../escaped.py": "print('zip slip')", "/abs_path.py": "print('absolute')",
        "/".join(["d"] * 1100) + "/deep.py": ""})
    with zipfile.ZipFile(archive, "a") as zipped:
        link = zipfile.ZipInfo("bob/link.py")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("bob/fifo.py")
        fifo.external_attr = 0o010644 << 16
        zipped.writestr(fifo, "")
    found = collect(archive)
    assert found.entry == "bob/simple_nn.py" and sorted(found.files) == ["bob/helpers.py", "bob/simple_nn.py"]
    notes = " | ".join(found.notes)
    assert "skipped paths leaving the archive: ../escaped.py" in notes
    assert "skipped absolute paths: /abs_path.py" in notes
    assert "skipped symbolic links: bob/link.py" in notes and "skipped special files: bob/fifo.py" in notes
    assert "skipped folders deeper than 12 levels: d/d/d" in notes
    assert list(tmp_path.iterdir()) == [archive]  # nothing was extracted


def test_zip_bombs_floods_and_broken_archives_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = make_zip(tmp_path / "bomb.zip", {f"part{i}.py": b"#" * 900_000 for i in range(30)})  # 27 MB of '#'
    assert bomb.stat().st_size < 200_000
    with pytest.raises(SubmissionError, match="more than 8 MB of source files"):
        collect(bomb)
    with pytest.raises(SubmissionError, match="simple_nn.py: expands to more than 1000000 bytes"):
        collect(make_zip(tmp_path / "one.zip", {"simple_nn.py": b"#" * 1_000_001}))
    monkeypatch.setattr(submission_module, "MAX_SCANNED", 20)
    with pytest.raises(SubmissionError, match="30 members \\(limit 20\\)"):
        collect(make_zip(tmp_path / "many.zip", {f"f{i}.py": "" for i in range(30)}))
    with pytest.raises(SubmissionError, match="not a readable zip archive"):
        collect(write(tmp_path / "broken.zip", "this is not a zip archive"))


def test_a_zip_with_a_notebook_and_a_given_entry(tmp_path: Path) -> None:
    make_notebook(tmp_path / "nb.ipynb", ["import numpy as np", NETWORK_CLASS])
    archive = make_zip(tmp_path / "carol.zip", {"hw/digits.ipynb": (tmp_path / "nb.ipynb").read_bytes(),
                                                "hw/v1.py": REFERENCE_CODE, "hw/v2.py": REFERENCE_CODE})
    found = collect(archive, entry="digits.ipynb")
    assert found.entry == "hw/digits.py" and "converted notebook hw/digits.ipynb to hw/digits.py" in found.notes


# ------------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("source", [
    "x = " + "+".join(["1"] * 150_000),  # RecursionError in the AST constructor
    "x = " + "-" * 150_000 + "1",  # MemoryError from the parser's stack
    "x = " + "lambda: " * 5_000 + "1",
    "x = a" + ".b" * 100_000,
    "x = " + "+".join(["1"] * (MAX_AST_DEPTH + 50)),  # parses, but too deep for a recursive visitor
])
def test_nesting_bombs_are_a_clean_error(source: str) -> None:
    with pytest.raises(SourceError, match="nested too deeply to analyse") as caught:
        parse_bounded(source, "bomb.py")
    assert caught.value.too_complex and str(caught.value).startswith("bomb.py: ")
    assert isinstance(parse_bounded("x = 1 + 2\n"), ast.Module)  # the parser is fine afterwards


def test_syntax_errors_and_oversized_sources() -> None:
    with pytest.raises(SourceError, match="too many nested parentheses") as caught:
        parse_bounded("x = " + "(" * 300 + "1" + ")" * 300)
    assert not caught.value.too_complex and caught.value.lineno == 1
    with pytest.raises(SourceError, match="syntax error") as caught:
        parse_bounded("x = 1\ndef f(:\n", "a.py")
    assert caught.value.lineno == 2 and str(caught.value).endswith("(line 2)")
    with pytest.raises(SourceError, match="syntax error"):
        parse_bounded("x = 1\x00")
    with pytest.raises(SourceError, match="too large to analyse") as caught:
        parse_bounded("#" * (submission_module.MAX_SOURCE_BYTES + 1))
    assert caught.value.too_complex


def test_bytes_are_decoded_as_python_imports_them() -> None:
    tree = parse_bounded("# -*- coding: latin-1 -*-\nname = 'jos\xe9'\n".encode("latin-1"))
    assert ast.literal_eval(tree.body[0].value) == "jos\xe9"  # type: ignore[attr-defined]


def test_parses_in_many_threads_stay_correct() -> None:
    """Bombs and ordinary files parsed concurrently: every result is the right one (one lock for all parses)."""
    bomb, results = "x = " + "+".join(["1"] * 20_000), []

    def work(i: int) -> None:
        try:
            parse_bounded(bomb if i % 2 else REFERENCE_CODE)
            results.append("ok" if i % 2 == 0 else "bomb parsed")
        except SourceError as exc:
            results.append("bomb" if exc.too_complex and i % 2 else f"wrong: {exc}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["bomb"] * 8 + ["ok"] * 8


# ------------------------------------------------------------------------------------------- the model
def test_digest_and_write(tmp_path: Path) -> None:
    files = SubmissionFiles(display="x", entry="pkg/model.py", files={"pkg/model.py": b"a", "utils.py": b"b"})
    same = SubmissionFiles(display="y", entry="pkg/model.py", files={"utils.py": b"b", "pkg/model.py": b"a"})
    assert files.digest() == same.digest()
    assert files.digest() != files.model_copy(update={"entry": "utils.py"}).digest()
    assert files.digest() != files.model_copy(update={"files": {"pkg/model.py": b"a", "utils.py": b"c"}}).digest()
    assert files.write(tmp_path / "out") == tmp_path / "out" / "pkg" / "model.py"
    assert (tmp_path / "out" / "utils.py").read_bytes() == b"b"
    with pytest.raises(SubmissionError, match="not a plain relative path"):
        SubmissionFiles(display="x", entry="a.py", files={"../a.py": b""}).write(tmp_path / "evil")


def test_notebook_source_is_the_shared_converter() -> None:
    raw = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%time x = 1\ny = 2")]))
    code, dropped = notebook_source(raw.encode(), "n.ipynb")
    assert (code, dropped) == ("# In[1]:\ny = 2\n", 1)


def test_every_parse_in_the_process_goes_through_one_bounded_parser() -> None:
    """The static check parses in grading threads while collect() parses for the entry rule: one parser, one lock."""
    from grader.checks import static

    assert static.parse_bounded is submission_module.parse_bounded


def test_a_link_given_by_the_user_is_followed_and_shown_as_given(tmp_path: Path) -> None:
    real = write(tmp_path / "hw" / "simple_nn.py", REFERENCE_CODE)
    (tmp_path / "mine.py").symlink_to(real)
    found = collect(tmp_path / "mine.py")
    assert (found.display, found.entry) == (str(tmp_path / "mine.py"), "simple_nn.py")
