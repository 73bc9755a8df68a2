"""Checks that stand between an untrusted edit and the file system (DESIGN.md rule 1).

Applies to every edit whatever produced it: paths must be plain relative POSIX paths that stay inside the
project root (no `..`, no absolute or `~` paths, no NUL, no backslashes, no symlink anywhere on the way), never
inside `.git/` or `.suture/` (in any letter case, at any depth), never binary, and a proposal stays within caps
on files, hunks and changed lines. Test files are refused unless the configuration allows them, because a fix
that edits the tests can make any test suite pass. For the same reason test-harness, build and CI machinery
(runner configuration, conftest.py, site hooks, setup.py, CI workflows; see agent.patch.harness for the list
and for the rule on pyproject.toml, setup.cfg and package.json) is refused unless `allow_harness_edits` is set;
allowed test and harness edits come back as flags for the reviewer.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from agent.code.path_kind import TEST_DIRS, path_kind
from agent.errors import SutureError
from agent.models import Edit
from agent.patch.harness import harness_rule, is_manifest, manifest_change_rule


class GuardError(SutureError):
    """An edit was refused before anything was written; the message says which rule and why."""


@dataclass(frozen=True)
class GuardConfig:
    max_files: int = 10
    max_hunks: int = 20  # edit blocks (each SEARCH/REPLACE block or diff hunk is one)
    max_changed_lines: int = 200  # added + removed lines in the resulting diff
    allow_test_edits: bool = False
    allow_harness_edits: bool = False  # test-runner config, conftest, site hooks, build scripts, CI
    allow_new_files: bool = True
    max_file_bytes: int = 2_000_000
    forbidden_dirs: tuple[str, ...] = (".git", ".suture")
    # test code is what agent.code.path_kind says it is; these add to that rule (they cannot narrow it: a file
    # the rest of suture treats as test code is a test file to the guard too)
    test_dirs: tuple[str, ...] = tuple(sorted(TEST_DIRS))
    test_files: tuple[str, ...] = (
        "test_*.py",
        "*_test.py",
        "conftest.py",
        "*_test.go",
        "*.test.*",
        "*.spec.*",
    )


_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def check_path(root: Path, path: str, config: GuardConfig) -> Path:
    """The absolute file path for a relative edit path, or `GuardError` saying why it is refused."""
    if not path or not path.strip():
        raise GuardError("an edit has an empty file path")
    if "\x00" in path:
        raise GuardError(f"path {path!r} contains a NUL byte")
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        raise GuardError(f"path {path!r} contains control characters")
    if "\\" in path:
        raise GuardError(f"path {path!r} uses backslashes; write paths relative to the repository with '/'")
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        raise GuardError(f"path {path!r} is absolute; paths must be relative to the repository root")
    if path.startswith("~"):
        raise GuardError(f"path {path!r} starts with '~'; paths must be relative to the repository root")
    parts = path.split("/")
    if ".." in parts:
        raise GuardError(f"path {path!r} contains '..'; paths must stay inside the repository")
    if any(part in ("", ".") for part in parts):
        raise GuardError(f"path {path!r} is not normalized (empty or '.' component); write it as a/b/c.py")
    for part in parts:
        folded = part.lower().rstrip(". ")
        if folded in {name.lower() for name in config.forbidden_dirs} or folded == "git~1":
            raise GuardError(f"path {path!r} is inside {part}/, which edits may never touch")
    try:
        return _check_on_disk(root, path, parts)
    except OSError as exc:
        raise GuardError(f"path {path!r} cannot be checked: {exc.strerror or exc}") from exc


def _check_on_disk(root: Path, path: str, parts: list[str]) -> Path:
    root_resolved = root.resolve()
    current = root
    for index, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            target = os.readlink(current)
            where = "/".join(parts[: index + 1])
            resolved = current.resolve()
            outside = not _inside(resolved, root_resolved)
            note = " (outside the repository)" if outside else "; edit the file at its real path instead"
            raise GuardError(f"path {path!r} goes through the symlink {where} -> {target}{note}")
    full = (root / path).resolve()
    if not _inside(full, root_resolved):
        raise GuardError(f"path {path!r} resolves outside the repository")
    if full.is_dir():
        raise GuardError(f"path {path!r} is a directory, not a file")
    return full


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def is_test_path(path: str, config: GuardConfig) -> bool:
    """True for test code by agent.code.path_kind, and for files under a `config.test_dirs` folder or named like
    one of `config.test_files` (any letter case: test_*.py, conftest.py, *.spec.*, ...)."""
    if path_kind(path) == "test":
        return True
    parts = path.split("/")
    if any(part.lower() in config.test_dirs for part in parts[:-1]):
        return True
    name = parts[-1].lower()
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in config.test_files)


def check_edits(root: Path, edits: list[Edit], config: GuardConfig) -> list[str]:
    """Check every path and the file/hunk caps before anything is read; returns flags for allowed test edits."""
    flags: list[str] = []
    paths = list(dict.fromkeys(edit.path for edit in edits))
    for path in paths:
        check_path(root, path, config)
        rule = harness_rule(path)
        if rule:
            if not config.allow_harness_edits:
                raise GuardError(f"{path} is {rule}: the test harness, build and CI machinery are not the "
                                 "patch's to change (allow_harness_edits is off for this run)")
            flags.append(f"edits {rule} {path} (allowed by allow_harness_edits)")
        elif is_test_path(path, config):
            if not config.allow_test_edits:
                raise GuardError(f"{path} is a test file; edits to tests are not allowed for this run")
            flags.append(f"edits test file {path}")
    if len(paths) > config.max_files:
        raise GuardError(f"the edits touch {len(paths)} files; at most {config.max_files} are allowed")
    if len(edits) > config.max_hunks:
        raise GuardError(f"the reply has {len(edits)} edit blocks; at most {config.max_hunks} are allowed")
    for edit in edits:
        if "\x00" in edit.replace:
            raise GuardError(f"the replacement for {edit.path} contains NUL bytes (binary content)")
    return flags


def check_changed_files(changed: dict[str, tuple[str, str]], config: GuardConfig) -> list[str]:
    """Refuse manifest changes (pyproject.toml, setup.cfg, package.json) that reach past dependency and metadata
    keys, comparing parsed old and new text (path -> (old, new); old "" for a new file); returns flags."""
    flags: list[str] = []
    for path, (old, new) in changed.items():
        if not is_manifest(path):
            continue
        rule = manifest_change_rule(path, old, new)
        if rule is None:
            flags.append(f"changes dependencies or metadata in {path}")
        elif config.allow_harness_edits:
            flags.append(f"{rule} (allowed by allow_harness_edits)")
        else:
            raise GuardError(f"{rule}; build and test-runner settings are not the patch's to change "
                             "(allow_harness_edits is off for this run)")
    return flags


def check_file_bytes(path: str, data: bytes, config: GuardConfig) -> None:
    """Refuse binary or oversized files before decoding them."""
    if b"\x00" in data:
        raise GuardError(f"{path} is a binary file (it contains NUL bytes); suture edits text files only")
    if len(data) > config.max_file_bytes:
        raise GuardError(
            f"{path} is {len(data)} bytes, over the {config.max_file_bytes}-byte limit for edits"
        )


def check_changed_lines(added: int, removed: int, config: GuardConfig) -> None:
    if added + removed > config.max_changed_lines:
        raise GuardError(
            f"the edits change {added + removed} lines (+{added} -{removed}); "
            f"at most {config.max_changed_lines} are allowed"
        )
