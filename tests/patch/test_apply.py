"""Applying edits to real files: matching tiers, failures written for the model, all-or-nothing writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.models import Edit
from agent.patch import ApplyError, GuardError, apply_edits

SOURCE = (
    "import os\n"
    "\n"
    "\n"
    "class Store:\n"
    "    def load(self, name):\n"
    "        path = os.path.join(self.root, name)\n"
    "        with open(path) as handle:\n"
    "            return handle.read()\n"
    "\n"
    "    def save(self, name, data):\n"
    "        path = os.path.join(self.root, name)\n"
    "        with open(path, 'w') as handle:\n"
    "            handle.write(data)\n"
)


def write(root: Path, rel: str, text: str | bytes) -> Path:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_bytes(text.encode("utf-8"))
    return target


def test_exact_match_changes_only_that_place(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    edit = Edit(
        path="store.py",
        search="            return handle.read()\n",
        replace="            return handle.read(4096)\n",
    )
    result = apply_edits(tmp_path, [edit])
    new = target.read_text()
    assert new == SOURCE.replace("handle.read()", "handle.read(4096)")
    assert result.changed == {"store.py": (SOURCE, new)}
    assert result.flags == []
    assert "-            return handle.read()\n+            return handle.read(4096)\n" in result.diff


def test_trailing_whitespace_tier(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE.replace("import os\n", "import os   \n"))
    result = apply_edits(tmp_path, [Edit(path="store.py", search="import os\n", replace="import os.path\n")])
    assert target.read_text().startswith("import os.path\n\n")
    assert result.flags == ["edit 1 (store.py) matched after allowing for trailing whitespace"]


def test_reindented_block_is_placed_with_the_files_indentation(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    search = "with open(path) as handle:\n    return handle.read()\n"
    replace = "with open(path, encoding='utf-8') as handle:\n    return handle.read()\n"
    result = apply_edits(tmp_path, [Edit(path="store.py", search=search, replace=replace)])
    assert "        with open(path, encoding='utf-8') as handle:\n            return handle.read()\n" in (
        target.read_text()
    )
    assert result.flags == ["edit 1 (store.py) matched after allowing for indentation"]


def test_whitespace_normalized_tier_keeps_file_indentation(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    search = "    path  =  os.path.join(self.root, name)\n    with open(path)\tas handle:\n"
    replace = "    path = safe_join(self.root, name)\n    with open(path) as handle:\n"
    result = apply_edits(tmp_path, [Edit(path="store.py", search=search, replace=replace)])
    text = target.read_text()
    assert "        path = safe_join(self.root, name)\n        with open(path) as handle:\n" in text
    assert text.count("safe_join") == 1
    assert result.flags == ["edit 1 (store.py) matched after allowing for whitespace"]


def test_stray_blank_lines_at_block_edges(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    search = "\n    def save(self, name, data):\n\n"
    replace = "\n    def save(self, name: str, data: str):\n\n"
    result = apply_edits(tmp_path, [Edit(path="store.py", search=search, replace=replace)])
    assert "\n\n    def save(self, name: str, data: str):\n        path" in target.read_text()
    assert "stray blank lines" in result.flags[0]


def test_ambiguous_search_lists_every_place(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    edit = Edit(
        path="store.py", search="        path = os.path.join(self.root, name)\n", replace="        path = x\n"
    )
    with pytest.raises(ApplyError) as info:
        apply_edits(tmp_path, [edit])
    assert str(info.value) == (
        "edit 1 (store.py): the SEARCH text matches 2 places in store.py (starting at lines 6, 11); "
        "add unchanged lines around it so it matches exactly one place"
    )
    assert target.read_text() == SOURCE


def test_no_match_quotes_the_closest_lines_with_numbers(tmp_path: Path) -> None:
    write(tmp_path, "store.py", SOURCE)
    search = "    def save(self, name, payload):\n        path = os.path.join(self.root, name)\n"
    with pytest.raises(ApplyError) as info:
        apply_edits(tmp_path, [Edit(path="store.py", search=search, replace="pass\n")])
    error = info.value
    assert error.summary == "edit 1 (store.py): the SEARCH text does not match any lines in store.py"
    assert "The closest lines in store.py are 10-11:\n" in str(error)
    assert "10 |     def save(self, name, data):\n11 |         path = os.path.join(self.root, name)" in str(
        error
    )
    assert str(error).endswith("into SEARCH and send the block again.")


def test_no_match_says_when_the_edit_is_already_applied(tmp_path: Path) -> None:
    write(tmp_path, "store.py", SOURCE)
    edit = Edit(path="store.py", search="import sys\n", replace="import os\n")
    with pytest.raises(ApplyError, match="The REPLACE text is already in the file"):
        apply_edits(tmp_path, [edit])


def test_sequential_edits_see_earlier_ones(tmp_path: Path) -> None:
    target = write(tmp_path, "store.py", SOURCE)
    edits = [
        Edit(path="store.py", search="import os\n", replace="import os\nimport shutil\n"),
        Edit(path="store.py", search="import shutil\n", replace="import shutil  # copies\n"),
    ]
    apply_edits(tmp_path, edits)
    assert target.read_text().startswith("import os\nimport shutil  # copies\n\n")


def test_no_partial_write_when_the_second_edit_fails(tmp_path: Path) -> None:
    first = write(tmp_path, "a.py", "x = 1\n")
    second = write(tmp_path, "b.py", "y = 2\n")
    edits = [
        Edit(path="a.py", search="x = 1\n", replace="x = 10\n"),
        Edit(path="b.py", search="z = 3\n", replace="z = 30\n"),
    ]
    with pytest.raises(ApplyError, match=r"^edit 2 \(b\.py\): the SEARCH text does not match"):
        apply_edits(tmp_path, edits)
    assert first.read_text() == "x = 1\n"
    assert second.read_text() == "y = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


def test_write_false_computes_without_touching_disk(tmp_path: Path) -> None:
    target = write(tmp_path, "a.py", "x = 1\n")
    result = apply_edits(
        tmp_path,
        [
            Edit(path="a.py", search="x = 1\n", replace="x = 2\n"),
            Edit(path="n.py", search="", replace="n\n", create=True),
        ],
        write=False,
    )
    assert result.changed == {"a.py": ("x = 1\n", "x = 2\n"), "n.py": ("", "n\n")}
    assert result.created == ["n.py"]
    assert target.read_text() == "x = 1\n" and not (tmp_path / "n.py").exists()


def test_crlf_file_keeps_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    target = write(tmp_path, "win.py", b"a = 1\r\nb = 2\r\nc = 3")
    apply_edits(tmp_path, [Edit(path="win.py", search="b = 2\nc = 3\n", replace="b = 20\nc = 30\nd = 40\n")])
    assert target.read_bytes() == b"a = 1\r\nb = 20\r\nc = 30\r\nd = 40"


def test_mixed_line_endings_outside_the_edit_are_untouched(tmp_path: Path) -> None:
    target = write(tmp_path, "mixed.txt", b"one\r\ntwo\nthree\r\nfour\r\n")
    apply_edits(tmp_path, [Edit(path="mixed.txt", search="two\n", replace="TWO\n")])
    assert target.read_bytes() == b"one\r\nTWO\r\nthree\r\nfour\r\n"


def test_bom_and_final_newline_are_kept(tmp_path: Path) -> None:
    target = write(tmp_path, "bom.py", "\ufeffa = 1\nb = 2\n")
    apply_edits(tmp_path, [Edit(path="bom.py", search="a = 1\n", replace="a = 'é'\n")])
    assert target.read_bytes() == "\ufeffa = 'é'\nb = 2\n".encode()


def test_non_utf8_file_is_refused_untouched(tmp_path: Path) -> None:
    target = write(tmp_path, "latin.py", "name = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ApplyError) as info:
        apply_edits(tmp_path, [Edit(path="latin.py", search="name = 'caf\xe9'\n", replace="name = 'x'\n")])
    assert str(info.value) == (
        "latin.py is not UTF-8 text (invalid byte 0xe9 at offset 11); suture only edits UTF-8 text files, "
        "so it was left untouched"
    )
    assert target.read_bytes() == "name = 'caf\xe9'\n".encode("latin-1")


def test_create_and_refusals_around_it(tmp_path: Path) -> None:
    write(tmp_path, "exists.py", "x\n")
    result = apply_edits(tmp_path, [Edit(path="pkg/new.py", search="", replace="VALUE = 1\n", create=True)])
    assert (tmp_path / "pkg/new.py").read_text() == "VALUE = 1\n"
    assert result.flags == ["creates new file pkg/new.py"]
    assert result.diff.startswith(
        "diff --git a/pkg/new.py b/pkg/new.py\nnew file mode 100644\n--- /dev/null\n"
    )
    with pytest.raises(ApplyError, match=r"^edit 1 \(exists\.py\): SEARCH is empty, .* already exists"):
        apply_edits(tmp_path, [Edit(path="exists.py", search="", replace="y\n", create=True)])
    with pytest.raises(
        ApplyError, match=r"^edit 1: missing\.py does not exist; to create a new file leave SEARCH"
    ):
        apply_edits(tmp_path, [Edit(path="missing.py", search="x\n", replace="y\n")])
    assert (tmp_path / "exists.py").read_text() == "x\n" and not (tmp_path / "missing.py").exists()


def test_identical_repeats_are_resolved_by_count(tmp_path: Path) -> None:
    target = write(tmp_path, "calls.py", "f()\ng()\nf()\n")
    edit = Edit(path="calls.py", search="f()\n", replace="h()\n")
    result = apply_edits(tmp_path, [edit, edit])
    assert target.read_text() == "h()\ng()\nh()\n"
    assert result.flags == ["edit 1 and its 1 identical repeats changed 2 places"]
    with pytest.raises(ApplyError, match="matches 2 places"):
        apply_edits(tmp_path, [Edit(path="calls.py", search="h()\n", replace="k()\n")] * 3)


def test_changed_lines_cap_is_checked_before_writing(tmp_path: Path) -> None:
    from agent.patch import GuardConfig

    target = write(tmp_path, "big.py", "".join(f"v{n} = {n}\n" for n in range(50)))
    search = "".join(f"v{n} = {n}\n" for n in range(50))
    replace = "".join(f"v{n} = {n + 1}\n" for n in range(50))
    with pytest.raises(
        GuardError, match=re.escape("the edits change 100 lines (+50 -50); at most 60 are allowed")
    ):
        apply_edits(
            tmp_path, [Edit(path="big.py", search=search, replace=replace)], GuardConfig(max_changed_lines=60)
        )
    assert target.read_text() == search
