"""Unified diffs as models write them, turned into content-located edits."""

from __future__ import annotations

import pytest

from agent.patch import EditParseError, parse_model_edits, parse_unified_diff


def test_well_formed_git_diff_strips_prefixes() -> None:
    diff = (
        "diff --git a/pkg/mod.py b/pkg/mod.py\nindex 1111111..2222222 100644\n"
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,3 +1,3 @@\n a = 1\n-b = 2\n+b = 3\n c = 4\n"
    )
    patches = parse_unified_diff(diff)
    assert [p.path for p in patches] == ["pkg/mod.py"]
    edit = patches[0].edits[0]
    assert (edit.search, edit.replace) == ("a = 1\nb = 2\nc = 4\n", "a = 1\nb = 3\nc = 4\n")


def test_wrong_counts_do_not_drop_lines() -> None:
    """unidiff stops at the header's counts; the tolerant reader keeps every body line."""
    diff = "--- m.py\n+++ m.py\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n w\n v\n"
    edit = parse_unified_diff(diff)[0].edits[0]
    assert edit.search == "x\ny\nw\nv\n"
    assert edit.replace == "x\nz\nw\nv\n"


def test_added_lines_before_the_removed_line_they_replace() -> None:
    diff = "```diff\n--- m.py\n+++ m.py\n@@ -8,7 +8,25 @@\n+    return 42\n-    pass\n```\n"
    edit = parse_model_edits(diff)[0]
    assert (edit.search, edit.replace) == ("    pass\n", "    return 42\n")


def test_dev_null_is_a_new_file() -> None:
    diff = "--- /dev/null\n+++ b/new/tool.py\n@@ -0,0 +1,2 @@\n+import os\n+print(os.sep)\n"
    patch = parse_unified_diff(diff)[0]
    assert patch.is_new and patch.path == "new/tool.py"
    assert patch.edits[0].create and patch.edits[0].search == ""
    assert patch.edits[0].replace == "import os\nprint(os.sep)\n"


def test_blank_context_without_space_and_prose_around_fences() -> None:
    text = (
        "Planning: change the greeting.\n\n```diff\n--- hello.py\n+++ hello.py\n@@ -1,4 +1,4 @@\n"
        " def hi():\n-    print('hi')\n+    print('hello')\n\n def bye():\n```\n\nThat is all.\n"
    )
    edit = parse_model_edits(text)[0]
    assert edit.search == "def hi():\n    print('hi')\n\ndef bye():\n"


def test_only_fenced_diffs_are_read_when_there_are_any() -> None:
    text = "```diff\n--- a.py\n+++ a.py\n@@ -1 +1 @@\n-x\n+y\n```\nInvalid hunk: @@ -1 +1 @@\n-q\n+r\n"
    assert [(e.search, e.replace) for e in parse_model_edits(text)] == [("x\n", "y\n")]


def test_context_only_hunk_is_dropped() -> None:
    diff = "--- a.py\n+++ a.py\n@@ -1,2 +1,3 @@\n a\n+b\n c\n@@ -9,2 +10,2 @@\n x\n y\n"
    assert len(parse_unified_diff(diff)[0].edits) == 1


def test_hunk_with_nothing_to_locate_it_by() -> None:
    with pytest.raises(EditParseError, match=r"^hunk 1 \(in a\.py\) only adds lines"):
        parse_unified_diff("--- a.py\n+++ a.py\n@@ -3,0 +4,1 @@\n+added\n")


def test_deleting_a_file_is_refused() -> None:
    with pytest.raises(EditParseError, match=r"^the diff deletes old\.py"):
        parse_unified_diff("--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")


def test_hunk_without_file_header() -> None:
    with pytest.raises(EditParseError, match="before any `--- a/path` / `\\+\\+\\+ b/path` header"):
        parse_model_edits("@@ -1 +1 @@\n-x\n+y\n", known_paths=["a.py", "b.py"])
    assert parse_model_edits("@@ -1 +1 @@\n-x\n+y\n", known_paths=["a.py"])[0].path == "a.py"


def test_two_files_in_one_diff_keep_order() -> None:
    diff = "--- a/one.py\n+++ b/one.py\n@@ -1 +1 @@\n-1\n+one\n--- a/two.py\n+++ b/two.py\n@@ -1 +1 @@\n-2\n+two\n"
    assert [e.path for e in parse_model_edits(diff)] == ["one.py", "two.py"]
