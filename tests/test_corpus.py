"""tests/corpus.py builds a case from its base and its edits, and refuses an edit that does not apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus import Corpus, CorpusError


def corpus_of(tmp_path: Path, **cases: dict[str, Any]) -> Corpus:
    path = tmp_path / "corpus.yaml"
    full = {name: {"description": f"The case {name}.", "expect": {}, **case} for name, case in cases.items()}
    path.write_text(yaml.safe_dump(full))
    return Corpus(path)


def test_edits_build_a_complete_file_with_the_description_as_docstring(tmp_path: Path) -> None:
    corpus = corpus_of(tmp_path, lr={
        "prelude": "import time\n",
        "insert": {"train": "time.sleep(0)"},
        "replace": [{"old": "self.learning_rate = 0.02", "new": "self.learning_rate = 0.5"}],
        "append": "print('imported')",
    })
    source = corpus.write("lr", tmp_path).read_text()
    assert source.startswith('"""The case lr."""\n')
    assert "self.learning_rate = 0.5\n" in source and "self.learning_rate = 0.02" not in source
    assert source.index("import time") < source.index("class SimpleNN")
    assert '"""Train in place' in source.split("time.sleep(0)")[0].split("def train")[1]
    assert source.index("print('imported')") < source.index('if __name__ == "__main__":')
    compile(source, "lr.py", "exec")


def test_multi_line_snippets_take_the_indentation_of_their_anchor(tmp_path: Path) -> None:
    corpus = corpus_of(tmp_path, flat={"replace": [{"old": "a1 = np.maximum(z1, 0)  # ReLU\nz2 = a1",
                                                    "new": "a1 = z1\nz2 = a1"}]})
    assert "        a1 = z1\n        z2 = a1 @ self.W2" in corpus.source("flat")


def test_a_case_can_build_on_another_case_and_a_method_can_be_replaced_or_deleted(tmp_path: Path) -> None:
    corpus = corpus_of(tmp_path, quiet={"method": {"predict": ""}},
                       loud={"base": "quiet", "method": {"forward": "def forward(self, X):\n    return X"}})
    source = corpus.source("loud")
    assert "def predict" not in source and "def forward(self, X):\n        return X\n" in source


@pytest.mark.parametrize(("case", "error"), [
    ({"replace": [{"old": "no such line", "new": "x"}]}, "occurs 0 times"),
    ({"replace": [{"old": "self.b1", "new": "self.c1"}]}, "expected 1"),
    ({"replace": [{"old": "x = 1", "new": "x = 1"}]}, "the same"),
    ({"insert": {"fly": "pass"}}, "method fly: found 0"),
    ({"method": {"train": "def train(self):\n    pass"}, "base": "nobody"}, "unknown base 'nobody'"),
    ({"patch": "x"}, "unknown keys ['patch']"),
    ({"base": "loop"}, "base cycle"),
    ({"prelude": "print(${where})"}, "no value for the placeholders ['where']"),
])
def test_an_edit_that_does_not_apply_fails_loudly(tmp_path: Path, case: dict[str, Any], error: str) -> None:
    with pytest.raises(CorpusError, match=error.replace("[", r"\[").replace("(", r"\(")):
        corpus_of(tmp_path, loop=case).source("loop")


def test_placeholders_are_filled_from_the_values_given(tmp_path: Path) -> None:
    corpus = corpus_of(tmp_path, hunt={"prelude": "WHERE = '${data}/labels'"})
    assert "WHERE = '/srv/mnist/labels'" in corpus.source("hunt", {"data": "/srv/mnist"})
