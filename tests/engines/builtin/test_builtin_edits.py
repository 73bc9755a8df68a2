"""edits_between: minimal, unique, in-order search/replace blocks that reproduce the new text."""

from __future__ import annotations

import random

import pytest

from agent.engines.builtin.edits import EditBuildError, edits_between
from agent.models import Edit


def apply_in_order(text: str, edits: list[Edit]) -> str:
    for edit in edits:
        assert text.count(edit.search) == 1, edit.search
        text = text.replace(edit.search, edit.replace, 1)
    return text


def test_one_edit_per_separate_hunk_with_only_the_changed_lines() -> None:
    old = "".join(f"line {i}\n" for i in range(30))
    new = old.replace("line 3\n", "LINE 3\n").replace("line 25\n", "LINE 25\n")
    edits = edits_between("a.py", old, new)
    assert [(e.search, e.replace) for e in edits] == [("line 3\n", "LINE 3\n"), ("line 25\n", "LINE 25\n")]
    assert all(e.path == "a.py" for e in edits)


def test_repeated_lines_grow_context_until_unique() -> None:
    old = "def a():\n    return 1\n\n\ndef b():\n    return 1\n"
    new = old.replace("def b():\n    return 1\n", "def b():\n    return 2\n")
    edits = edits_between("m.py", old, new)
    assert len(edits) == 1
    assert edits[0].search == "def b():\n    return 1\n"
    assert apply_in_order(old, edits) == new


def test_lines_equal_after_whitespace_normalisation_count_as_duplicates() -> None:
    old = "x = 1\nif y:\n    x = 1\n"
    new = "x = 1\nif y:\n    x = 2\n"
    (edit,) = edits_between("m.py", old, new)
    assert edit.search == "if y:\n    x = 1\n"


def test_pure_insertion_is_anchored_on_a_neighbour() -> None:
    old = "import os\n\nx = os.sep\n"
    new = "import os\nimport subprocess\n\nx = os.sep\n"
    (edit,) = edits_between("m.py", old, new)
    assert edit.search.strip() and apply_in_order(old, [edit]) == new


def test_close_hunks_merge_when_context_meets() -> None:
    old = "a\nb\na\nb\na\n"
    new = "A\nb\na\nb\nA\n"
    edits = edits_between("m.py", old, new)
    assert apply_in_order(old, edits) == new


def test_no_change_gives_no_edits_and_empty_file_is_refused() -> None:
    assert edits_between("m.py", "x\n", "x\n") == []
    with pytest.raises(EditBuildError, match="empty file"):
        edits_between("m.py", "", "x\n")


@pytest.mark.parametrize("seed", range(20))
def test_random_line_changes_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = ["pass\n", "x = 1\n", "    y = 2\n", "return x\n", "\n"]
    old_lines = [rng.choice(vocabulary) for _ in range(40)]
    new_lines = list(old_lines)
    for _ in range(rng.randint(1, 5)):
        index = rng.randrange(len(new_lines))
        operation = rng.choice(["replace", "insert", "delete"])
        if operation == "replace":
            new_lines[index] = f"changed_{rng.randint(0, 99)} = 0\n"
        elif operation == "insert":
            new_lines.insert(index, f"inserted_{rng.randint(0, 99)} = 0\n")
        elif len(new_lines) > 1:
            del new_lines[index]
    old, new = "".join(old_lines), "".join(new_lines)
    assert apply_in_order(old, edits_between("m.py", old, new)) == new
