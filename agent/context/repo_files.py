"""A bounded, cached view of a project's source files for context gathering (callers, related tests).

Walks the tree in sorted order, skipping VCS, suture's own store, virtualenvs, installed packages, build output
and caches,
and stops after `max_files` matching files so a huge monorepo cannot stall a run. Files are read as UTF-8 with
replacement characters, and files over `max_bytes` are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from agent.code.path_kind import path_kind

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".suture",
        "venv",
        ".venv",
        "site-packages",
        "dist-packages",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "build",
        "dist",
    }
)
DEFAULT_MAX_FILES = 2000
DEFAULT_MAX_BYTES = 1_000_000


def _skipped_dir(path: Path) -> bool:
    """Tool and cache folders, and any virtualenv (recognised by its pyvenv.cfg, whatever its name)."""
    name = path.name
    return name in SKIP_DIRS or name.endswith(".egg-info") or (path / "pyvenv.cfg").is_file()


_NEWLINE_RE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (\\n, \\r\\n, \\r), unlike str.splitlines (which also
    splits on form feeds and Unicode separators and would shift line numbers)."""
    lines = _NEWLINE_RE.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_text(path: Path) -> str:
    """A file's text as UTF-8; undecodable bytes become U+FFFD instead of failing."""
    return path.read_text(encoding="utf-8", errors="replace")


class RepoFiles:
    """Source files under `root` with given suffixes, listed once (bounded) and read on demand (cached)."""

    def __init__(
        self,
        root: Path,
        suffixes: tuple[str, ...] = (".py",),
        *,
        max_files: int = DEFAULT_MAX_FILES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.root = root
        self.suffixes = suffixes
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._paths: list[str] | None = None
        self._texts: dict[str, str] = {}
        self.truncated = False  # True when the walk stopped at max_files

    def paths(self) -> list[str]:
        """POSIX paths relative to root, sorted, at most `max_files`."""
        if self._paths is None:
            self._paths = list(self._walk())
        return self._paths

    def _walk(self) -> Iterator[str]:
        found = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(Path(dirpath) / d))
            for name in sorted(filenames):
                if not name.endswith(self.suffixes):
                    continue
                full = Path(dirpath) / name
                try:
                    if full.stat().st_size > self.max_bytes:
                        continue
                except OSError:
                    continue
                if found >= self.max_files:
                    self.truncated = True
                    return
                found += 1
                yield full.relative_to(self.root).as_posix()

    def text(self, rel_path: str) -> str | None:
        """The file's text, or None if it cannot be read."""
        if rel_path not in self._texts:
            try:
                self._texts[rel_path] = read_text(self.root / rel_path)
            except OSError:
                return None
        return self._texts[rel_path]


def is_test_path(rel_path: str) -> bool:
    """A file of tests, for "related tests": test code by agent.code.path_kind (the rule every part of suture uses:
    test modules, files under test folders), except conftest.py and __init__.py, which hold fixtures and package
    markers rather than tests."""
    return path_kind(rel_path) == "test" and rel_path.replace("\\", "/").rsplit("/", 1)[-1] not in _NOT_TESTS


_NOT_TESTS = frozenset({"__init__.py", "conftest.py"})
