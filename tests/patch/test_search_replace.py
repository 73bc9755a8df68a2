"""SEARCH/REPLACE block parsing: presentation is forgiven, structure is not."""

from __future__ import annotations

import pytest

from agent.patch import EditParseError, parse_model_edits, parse_search_replace


def block(path_line: str, search: str, replace: str, start: str = "SEARCH", end: str = "REPLACE") -> str:
    return f"{path_line}\n<<<<<<< {start}\n{search}=======\n{replace}>>>>>>> {end}\n"


def test_plain_block_gives_exact_search_and_replace() -> None:
    edits = parse_search_replace(block("app/views.py", "x = 1\ny = 2\n", "x = 3\n"))
    assert len(edits) == 1
    assert edits[0].path == "app/views.py"
    assert edits[0].search == "x = 1\ny = 2\n"
    assert edits[0].replace == "x = 3\n"
    assert edits[0].create is False


@pytest.mark.parametrize(
    "text",
    [
        "```python\napp/views.py\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n",
        "```app/views.py\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n",
        "# app/views.py\n```python\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n",
        "**app/views.py**\n\n```\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n",
        "`app/views.py`:\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n",
        "### File: app/views.py\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n",
        "./app/views.py\n<<<<<<< SEARCH  \nold\n=======   \nnew\n>>>>>>> REPLACE\t\n",
    ],
    ids=["fence-then-path", "fence-info", "hash-path", "bold-path", "backticks", "file-label", "trailing-ws"],
)
def test_path_is_found_in_the_ways_models_write_it(text: str) -> None:
    edits = parse_search_replace(text)
    assert [(e.path, e.search, e.replace) for e in edits] == [("app/views.py", "old\n", "new\n")]


def test_crlf_reply_is_read_as_lf() -> None:
    text = block("a.py", "one\n", "two\n").replace("\n", "\r\n")
    assert parse_search_replace(text)[0].search == "one\n"


def test_prose_between_blocks_and_old_marker_names() -> None:
    text = (
        "First change the import:\n\n"
        + block("a.py", "import os\n", "import sys\n", "ORIGINAL", "UPDATED")
        + "\nThen the call, in another file.\n\n"
        + block("pkg/b.py", "os.exit()\n", "sys.exit()\n")
    )
    edits = parse_search_replace(text)
    assert [(e.path, e.search) for e in edits] == [("a.py", "import os\n"), ("pkg/b.py", "os.exit()\n")]


def test_empty_search_means_create() -> None:
    edits = parse_search_replace(block("new_module.py", "", "print('hi')\n"))
    assert edits[0].create is True and edits[0].search == ""


def test_missing_path_uses_the_only_known_path() -> None:
    text = "<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n"
    assert parse_search_replace(text, known_paths=["src/only.py"])[0].path == "src/only.py"


def test_missing_path_with_several_known_files_names_them() -> None:
    text = "Here you go:\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n"
    with pytest.raises(EditParseError) as info:
        parse_search_replace(text, known_paths=["a.py", "b.py"])
    assert str(info.value).startswith(
        "no file path before block 1 and several files are in context: a.py, b.py"
    )


def test_missing_path_without_known_paths() -> None:
    with pytest.raises(EditParseError, match=r"^no file path before block 1; put the file path"):
        parse_search_replace("<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n")


def test_block_right_after_another_continues_its_file() -> None:
    text = block("a.py", "one\n", "1\n") + "<<<<<<< SEARCH\ntwo\n=======\n2\n>>>>>>> REPLACE\n"
    assert [e.path for e in parse_search_replace(text, known_paths=["a.py", "b.py"])] == ["a.py", "a.py"]


def test_block_after_prose_does_not_inherit_a_path() -> None:
    text = (
        block("a.py", "one\n", "1\n")
        + "Now the other one:\n<<<<<<< SEARCH\ntwo\n=======\n2\n>>>>>>> REPLACE\n"
    )
    with pytest.raises(EditParseError, match="^no file path before block 2 and several files"):
        parse_search_replace(text, known_paths=["a.py", "b.py"])


def test_bare_file_name_resolves_to_the_unique_known_path() -> None:
    edits = parse_search_replace(
        block("views.py", "a\n", "b\n"), known_paths=["app/views.py", "app/models.py"]
    )
    assert edits[0].path == "app/views.py"


def test_missing_divider() -> None:
    text = block("a.py", "x\n", "y\n") + "b.py\n<<<<<<< SEARCH\nold\nnew\n>>>>>>> REPLACE\n"
    with pytest.raises(EditParseError) as info:
        parse_search_replace(text)
    assert (
        str(info.value) == "block 2 has no `=======` divider between `<<<<<<< SEARCH` and `>>>>>>> REPLACE`"
    )


def test_cut_off_in_replace_part() -> None:
    with pytest.raises(EditParseError) as info:
        parse_search_replace("a.py\n<<<<<<< SEARCH\nold\n=======\nnew line that never en")
    assert str(info.value).startswith("block 1 was cut off before `>>>>>>> REPLACE` (truncated reply?)")


def test_cut_off_in_search_part_then_next_block_starts() -> None:
    text = "a.py\n<<<<<<< ORIGINAL\nhalf\n```\n\nb.py\n<<<<<<< ORIGINAL\nx\n=======\ny\n>>>>>>> UPDATED\n"
    with pytest.raises(EditParseError) as info:
        parse_search_replace(text)
    assert str(info.value).startswith("block 1 was cut off before `=======` (truncated reply?)")


def test_two_dividers_are_refused() -> None:
    with pytest.raises(
        EditParseError, match=r"^block 1 has more than one `=======` divider \(lines 4 and 6\)"
    ):
        parse_search_replace("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n=======\nz\n>>>>>>> REPLACE\n")


def test_parse_model_edits_prefers_blocks_and_reports_no_edits() -> None:
    assert parse_model_edits(block("a.py", "x\n", "y\n"))[0].path == "a.py"
    with pytest.raises(EditParseError, match=r"^no edit blocks found in the reply"):
        parse_model_edits("I think the code is fine as it is.")
    with pytest.raises(EditParseError, match=r"^no edit blocks found"):
        parse_model_edits("```diff\n```\n")


def test_underscores_in_file_names_survive_cleaning() -> None:
    assert parse_search_replace(block("__init__.py", "a\n", "b\n"))[0].path == "__init__.py"
