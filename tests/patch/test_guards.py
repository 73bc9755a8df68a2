"""Every guard refuses before anything is written, with the rule in the message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.models import Edit
from agent.patch import GuardConfig, GuardError, apply_edits


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"<dir/link>")
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src/app.py").write_text("x = 1\n")
    (root / ".git").mkdir()
    (root / ".git/config").write_text("[core]\n")
    (root / "tests").mkdir()
    (root / "tests/test_app.py").write_text("def test_x():\n    assert True\n")
    return root


def refused(root: Path, edits: list[Edit], pattern: str, config: GuardConfig | None = None) -> None:
    before = snapshot(root)
    with pytest.raises(GuardError, match=pattern):
        apply_edits(root, edits, config)
    assert snapshot(root) == before


def create(path: str, text: str = "pwned\n") -> Edit:
    return Edit(path=path, search="", replace=text, create=True)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("../outside.py", r"contains '\.\.'; paths must stay inside the repository"),
        ("src/../../outside.py", r"contains '\.\.'"),
        ("/etc/passwd", r"is absolute"),
        ("C:/Windows/x.py", r"is absolute"),
        ("~/.bashrc", r"starts with '~'"),
        ("src\\app.py", r"uses backslashes"),
        ("src/a\x00.py", r"contains a NUL byte"),
        ("src//app.py", r"is not normalized"),
        ("src/a\nb.py", r"contains control characters"),
        ("src/" + "x" * 300 + ".py", r"cannot be checked: File name too long"),
        (".git/config", r"is inside \.git/, which edits may never touch"),
        ("sub/.GIT/hooks/pre-commit", r"is inside \.GIT/"),
        (".suture/suture.db", r"is inside \.suture/"),
        ("deep/er/.Suture/x", r"is inside \.Suture/"),
        ("src", r"is a directory"),
    ],
)
def test_bad_paths_are_refused(repo: Path, path: str, pattern: str) -> None:
    refused(repo, [create(path)], pattern)


def test_symlink_to_outside_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("s = 1\n")
    os.symlink(outside, repo / "linked")
    refused(
        repo, [Edit(path="linked/secret.py", search="s = 1\n", replace="s = 2\n")], r"outside the repository"
    )
    assert (outside / "secret.py").read_text() == "s = 1\n"


def test_symlinked_file_inside_root_is_refused_with_real_path_hint(repo: Path) -> None:
    os.symlink("app.py", repo / "src/alias.py")
    refused(
        repo,
        [Edit(path="src/alias.py", search="x = 1\n", replace="x = 2\n")],
        r"goes through the symlink src/alias\.py -> app\.py; edit the file at its real path",
    )


def test_binary_target_and_binary_replacement(repo: Path) -> None:
    (repo / "src/blob.py").write_bytes(b"x = 1\n\x00\x01")
    refused(
        repo, [Edit(path="src/blob.py", search="x = 1\n", replace="y\n")], r"src/blob\.py is a binary file"
    )
    refused(repo, [Edit(path="src/app.py", search="x = 1\n", replace="x = '\x00'\n")], r"contains NUL bytes")


def test_file_and_hunk_caps(repo: Path) -> None:
    config = GuardConfig(max_files=2, max_hunks=3)
    refused(repo, [create(f"src/n{i}.py") for i in range(3)], r"^the edits touch 3 files; at most 2", config)
    edits = [Edit(path="src/app.py", search="x = 1\n", replace="x = 2\n")] * 4
    refused(repo, edits, r"^the reply has 4 edit blocks; at most 3 are allowed", config)


def test_new_files_can_be_forbidden(repo: Path) -> None:
    refused(
        repo, [create("src/new.py")], r"creating new files is not allowed", GuardConfig(allow_new_files=False)
    )


@pytest.mark.parametrize("path", ["tests/test_app.py", "src/test_util.py", "src/util_test.py", "conftest.py"])
def test_test_files_refused_unless_allowed_then_flagged(repo: Path, path: str) -> None:
    refused(repo, [create(path) if path != "tests/test_app.py" else _edit_test()], r"is a test file")
    edit = create(path) if path != "tests/test_app.py" else _edit_test()
    result = apply_edits(repo, [edit], GuardConfig(allow_test_edits=True))
    assert f"edits test file {path}" in result.flags
    assert path in result.changed


def _edit_test() -> Edit:
    return Edit(path="tests/test_app.py", search="    assert True\n", replace="    assert 1\n")


def test_ordinary_file_passes_every_guard(repo: Path) -> None:
    result = apply_edits(repo, [Edit(path="src/app.py", search="x = 1\n", replace="x = 2\n")])
    assert result.flags == []
    assert (repo / "src/app.py").read_text() == "x = 2\n"
