"""What one ingest finds out about the files of a project tree: which relative paths are regular files inside it
(symlinks resolved; with the reason a person can act on for those that are not) and the lines of those it reads.

For any SARIF log placed in a tree (sarif_paths.PathResolver): results name a few thousand files in a few hundred
folders, usually the same ones across the runs and logs of one ingest. A ProjectFiles checks and reads each file
once: parse_sarif shares one by all runs of a log, and a PathMap (one per ingest) hands the same one to every log
of its ingest (PathMap.files). The tree must not change during an ingest: the app ingests a checkout of HEAD.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path


class PathRejected(Exception):
    """An artifact location that does not name a file of this project; the message says why."""


_UNREAD: list[str] = []  # ProjectFiles._lines: a file not read yet


def _file_lines(path: str) -> list[str] | None:
    """The lines (ends kept) of what Path.read_text gives for `path` (UTF-8, bad bytes replaced, universal newlines),
    or None when it cannot be read. Read with os.read: a file object costs more than the read of a small file."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        try:
            chunks = []
            while chunk := os.read(handle, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(handle)
    except OSError:
        return None
    return decode_lines(b"".join(chunks))


def decode_lines(data: bytes) -> list[str]:
    """The lines (ends kept) of a file's bytes as Path.read_text gives them (UTF-8, bad bytes replaced, universal
    newlines)."""
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.splitlines(keepends=True)


@dataclass
class ProjectFiles:
    """The files of the project tree at `root` (resolved), as far as they have been checked and read."""

    root: Path
    _checked: dict[str, str | None] = field(default_factory=dict)  # relative path: why it is refused, or None
    _lines: dict[str, list[str] | None] = field(default_factory=dict)  # None: unreadable
    _real_folders: dict[str, tuple[str, bool]] = field(default_factory=dict)  # folder: (resolved, inside the root)

    @classmethod
    def of(cls, project_root: Path) -> ProjectFiles:
        return cls(project_root.resolve())

    def check(self, relative: str) -> None:
        """Raise PathRejected (the same reason each time) unless `relative` is a regular file inside the root."""
        if relative not in self._checked:
            try:
                self._check_file(relative)
            except PathRejected as rejected:
                self._checked[relative] = str(rejected)
            else:
                self._checked[relative] = None
        problem = self._checked[relative]
        if problem is not None:
            raise PathRejected(problem)

    def _check_file(self, relative: str) -> None:
        """Raise PathRejected unless `relative` is a regular file inside the root (symlinks resolved).

        Results name a few thousand files in a few hundred folders: each folder is resolved once, and a file
        that is a plain regular file (one lstat) in a folder inside the root is accepted without resolving its
        whole path again. Anything else (a symlink, a missing file, an error) takes the full check."""
        folder, _, name = relative.rpartition("/")
        real_folder = self._real_folder(folder)
        if real_folder[1]:
            try:
                mode = os.lstat(os.path.join(real_folder[0], name)).st_mode
            except OSError:
                mode = 0
            if stat.S_ISREG(mode):
                return
        self._check_file_fully(relative)

    def _real_folder(self, folder: str) -> tuple[str, bool]:
        """(the folder resolved, whether that is inside the root), once per folder."""
        known = self._real_folders.get(folder)
        if known is None:
            known = self._real_folders[folder] = self._plain_folder(folder) or self._resolve_folder(folder)
        return known

    def _plain_folder(self, folder: str) -> tuple[str, bool] | None:
        """A folder reached from its nearest resolved ancestor inside the root through plain directories only (no
        symlinks, no "." or ".."): that ancestor's resolved path plus the names, which is what resolving it in full
        gives, found with one lstat per new folder (kept for the folder's siblings). None: resolve it in full."""
        if not folder:
            return None
        chain: list[tuple[str, str]] = []  # (folder, its name) from `folder` up to below the resolved ancestor
        ancestor = folder
        while True:
            parent, _, name = ancestor.rpartition("/")
            chain.append((ancestor, name))
            if not parent or parent in self._real_folders:
                break
            ancestor = parent
        base, inside = self._real_folder(parent)
        if not inside:
            return None
        for path, name in reversed(chain):
            if name in ("", ".", ".."):
                return None
            candidate = base + name if base.endswith("/") else f"{base}/{name}"
            try:
                mode = os.lstat(candidate).st_mode
            except OSError:
                return None
            if not stat.S_ISDIR(mode):
                return None
            base = candidate
            if path != folder:
                self._real_folders[path] = (base, True)
        return base, True

    def _resolve_folder(self, folder: str) -> tuple[str, bool]:
        try:
            resolved = (self.root / folder).resolve() if folder else self.root
            return os.fspath(resolved), resolved.is_relative_to(self.root)
        except (OSError, RuntimeError):
            return "", False

    def _check_file_fully(self, relative: str) -> None:
        candidate = self.root / relative
        try:
            inside = candidate.resolve().is_relative_to(self.root)
        except OSError as error:
            raise PathRejected(f"cannot resolve {relative}: {error.strerror}") from error
        except RuntimeError as error:  # Python 3.11's resolve() on a symlink loop
            raise PathRejected(f"cannot resolve {relative}: {error}") from error
        if not inside:
            raise PathRejected(f"path resolves outside the project root (symlink?): {relative}")
        try:
            is_file = candidate.is_file()
        except OSError as error:  # e.g. a name longer than the system allows
            raise PathRejected(f"cannot check {relative[:200]}: {error.strerror}") from error
        if not is_file:
            raise PathRejected(f"file does not exist in the project: {relative}")

    def lines(self, relative: str) -> list[str] | None:
        """The lines (ends kept) of a project file as Path.read_text gives them, or None when it cannot be read."""
        lines = self._lines.get(relative, _UNREAD)
        if lines is _UNREAD:
            lines = self._lines[relative] = _file_lines(os.path.join(self.root, relative))
        return lines

    def listing(self, skip: frozenset[str], limit: int) -> dict[str, list[str]]:
        """Project-relative paths of the tree's files by file name (os.walk's: symlinks to folders are not
        followed), none below a folder named in `skip`; the walk stops once it has listed more than `limit`."""
        found: dict[str, list[str]] = {}
        count = 0
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in skip]
            base = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                found.setdefault(name, []).append(name if base == "." else f"{base}/{name}")
                count += 1
            if count > limit:
                break
        return found
