"""The canonical diff is something real git accepts and reproduces the new text from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.models import Edit
from agent.patch import apply_edits, diff_stats, unified_diff


def git(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False, timeout=30
    )


def git_repo(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "config", "core.autocrlf", "false")
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    git(root, "add", "-A")
    commit = git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "base")
    assert commit.returncode == 0, commit.stderr
    return root


def test_diff_from_apply_passes_git_apply_and_reproduces_files(tmp_path: Path) -> None:
    files = {
        "src/app.py": b"import os\n\ndef run():\n    os.system('ls')\n    return 0\n",
        "win.txt": b"one\r\ntwo\r\nthree",
        "tail.txt": b"a\nb",
    }
    work = git_repo(tmp_path / "work", files)
    edits = [
        Edit(
            path="src/app.py",
            search="    os.system('ls')\n",
            replace="    subprocess.run(['ls'], check=True)\n",
        ),
        Edit(path="src/app.py", search="import os\n", replace="import os\nimport subprocess\n"),
        Edit(path="win.txt", search="two\n", replace="TWO\n"),
        Edit(path="tail.txt", search="b\n", replace="b\nc\n"),
        Edit(path="docs/new.md", search="", replace="# New\n", create=True),
    ]
    result = apply_edits(work, edits, write=False)
    clean = git_repo(tmp_path / "clean", files)
    check = git(clean, "apply", "--check", "-", stdin=result.diff)
    assert check.returncode == 0, check.stderr + result.diff
    assert git(clean, "apply", "-", stdin=result.diff).returncode == 0
    for path, (_, new) in result.changed.items():
        assert (clean / path).read_bytes() == new.encode("utf-8")
    assert (clean / "win.txt").read_bytes() == b"one\r\nTWO\r\nthree"
    assert "\\ No newline at end of file" in result.diff
    assert diff_stats(result.diff) == (4, 6, 3)


def test_no_newline_marker_only_where_it_belongs() -> None:
    diff = unified_diff({"a.txt": ("x\ny", "x\ny\n")})
    assert diff == (
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n x\n-y\n"
        "\\ No newline at end of file\n+y\n"
    )


def test_unchanged_files_and_empty_input() -> None:
    assert unified_diff({"same.py": ("a\n", "a\n")}) == ""
    assert diff_stats("") == (0, 0, 0)


def test_files_are_in_path_order() -> None:
    diff = unified_diff({"b.py": ("1\n", "2\n"), "a.py": ("1\n", "2\n")})
    assert diff.index("a/a.py") < diff.index("a/b.py")


lines = st.lists(st.text(alphabet="ab \t#=", min_size=0, max_size=6), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=lines, after=lines, replacement=lines, trailing_newline=st.booleans())
def test_round_trip_diff_then_git_apply_reproduces_new_text(
    tmp_path_factory: pytest.TempPathFactory,
    before: list[str],
    after: list[str],
    replacement: list[str],
    trailing_newline: bool,
) -> None:
    unique = "UNIQUE_MARKER_LINE"
    old = "\n".join([*before, unique, *after]) + ("\n" if trailing_newline else "")
    root = git_repo(tmp_path_factory.mktemp("rt"), {"f.txt": old.encode()})
    edit = Edit(path="f.txt", search=unique + "\n", replace="".join(line + "\n" for line in replacement))
    result = apply_edits(root, [edit], write=False)
    new = result.changed["f.txt"][1] if result.changed else old
    assert unique not in new
    if result.diff:
        applied = git(root, "apply", "-", stdin=result.diff)
        assert applied.returncode == 0, applied.stderr + result.diff
    assert (root / "f.txt").read_bytes() == new.encode()
