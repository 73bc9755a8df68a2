"""A project's files as committed: the ProjectFiles of a commit, read from git's objects instead of a checkout.

For ingest into any git project: placing a log's results needs to know which paths are regular files of the
commit and the lines of the files results name (a few thousand of maybe hundreds of thousands), so they are read
from git (one `git ls-tree` for the listing, GitPython's persistent `git cat-file --batch` for the contents of the
files asked about) rather than from a checkout of the whole tree, whose writing and removal cost seconds on a
large repository. The answers are a checkout's: symlinks are followed inside the commit as `Path.resolve` follows
them on disk (a target outside the project folder, an absolute target or a loop is refused, for the same reasons
ProjectFiles gives), a submodule is an empty folder, and a file's lines are its committed bytes decoded as
ProjectFiles decodes a file. Checkout filters (.gitattributes smudge, ident, eol) are not run: the bytes as
committed, never a program the repository's configuration names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from git import Git
from git.exc import GitCommandError

from agent.errors import SutureError
from agent.ingest.project_files import PathRejected, ProjectFiles, decode_lines

_SYMLINK, _GITLINK = "120000", "160000"
_MAX_HOPS = 40  # symlinks followed for one path (Linux's limit): more is a loop


@dataclass
class CommitFiles(ProjectFiles):
    """The files of the project folder `subdir` of the repository at `git_root`, as committed in `commit`.
    `root` is the project folder on disk (for paths a log gives absolute); nothing under it is read."""

    git_root: Path = Path()
    commit: str = ""
    subdir: str = ""
    _git: Git | None = None
    _entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # repository path -> (mode, object id)
    _folders: set[str] = field(default_factory=set)  # repository paths of the commit's folders ("" the root)
    _located: dict[str, str | PathRejected] = field(default_factory=dict)  # project path -> repository path

    @classmethod
    def at(cls, project_dir: Path, git_root: Path, commit: str, subdir: str = "") -> CommitFiles:
        """The files of `commit` (listed now; read when asked). Raises SutureError when git cannot list them."""
        files = cls(project_dir.resolve(), git_root=git_root, commit=commit, subdir=subdir.strip("/"))
        files._git = Git(git_root)
        try:
            listing = files._git.execute(["git", "ls-tree", "-r", "-z", "--full-tree", commit],
                                         stdout_as_string=False)
        except GitCommandError as error:
            raise SutureError(f"cannot list the files of commit {commit[:12]}: "
                              f"{' '.join(str(error.stderr or error).split())}") from None
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, _kind, oid = meta.decode("ascii").split(" ")
            path = os.fsdecode(raw_path)
            files._entries[path] = (mode, oid)
            folder = path
            while folder:
                folder = folder.rpartition("/")[0]
                if folder in files._folders:
                    break
                files._folders.add(folder)
            if mode == _GITLINK:
                files._folders.add(path)  # a submodule checks out as an empty folder
        files._folders.add("")
        return files

    def close(self) -> None:
        """Stop the `git cat-file` process (GitPython keeps it for the Git object's life)."""
        if self._git is not None:
            self._git.clear_cache()

    # --- ProjectFiles ---------------------------------------------------------------------------------------------

    def _check_file(self, relative: str) -> None:
        self._locate(relative)

    def lines(self, relative: str) -> list[str] | None:
        if relative not in self._lines:
            try:
                path = self._locate(relative)
            except PathRejected:
                self._lines[relative] = None
            else:
                self._lines[relative] = decode_lines(self._blob(self._entries[path][1]))
        return self._lines[relative]

    def listing(self, skip: frozenset[str], limit: int) -> dict[str, list[str]]:
        """Project-relative paths of the commit's files by file name, as ProjectFiles.listing walks a checkout:
        regular files and symlinks that are not to folders, none below a folder named in `skip`."""
        found: dict[str, list[str]] = {}
        prefix = self.subdir + "/" if self.subdir else ""
        count = 0
        for path, (mode, _oid) in self._entries.items():
            if not path.startswith(prefix) or mode == _GITLINK:
                continue
            relative = path[len(prefix):]
            if skip.intersection(relative.split("/")[:-1]):
                continue
            if mode == _SYMLINK and self._is_folder_link(relative):
                continue
            name = relative.rpartition("/")[2]
            found.setdefault(name, []).append(relative)
            count += 1
            if count > limit:
                break
        return found

    # --- the commit's tree ----------------------------------------------------------------------------------------

    def _locate(self, relative: str) -> str:
        """The repository path of the regular file `relative` names in the project folder, symlinks followed as
        `Path.resolve` follows them (folder by folder, `..` after the link it follows); PathRejected otherwise,
        with ProjectFiles' reasons (the same reason each time)."""
        known = self._located.get(relative)
        if known is None:
            try:
                known = self._walk(relative)
            except PathRejected as rejected:
                known = rejected
            self._located[relative] = known
        if isinstance(known, PathRejected):
            raise PathRejected(str(known))
        return known

    def _walk(self, relative: str) -> str:
        final = self._resolve(relative)
        if self.subdir and final != self.subdir and not final.startswith(self.subdir + "/"):
            raise PathRejected(f"path resolves outside the project root (symlink?): {relative}")
        entry = self._entries.get(final)
        if entry is None or entry[0] in (_SYMLINK, _GITLINK):
            raise PathRejected(f"file does not exist in the project: {relative}")
        return final

    def _resolve(self, relative: str) -> str:
        """The repository path project path `relative` resolves to, as `os.path.realpath` resolves a path: name by
        name, a symlink replaced by its target, `..` taking the last name off (a name that does not exist is kept
        as written). PathRejected for a symlink loop, and as outside the project for an absolute link (a
        checkout's folder is elsewhere) or a climb above the repository (never back inside the project)."""
        pending = [*reversed(relative.split("/")), *reversed(self.subdir.split("/") if self.subdir else [])]
        current: list[str] = []
        hops = 0
        while pending:
            name = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if not current:
                    raise PathRejected(f"path resolves outside the project root (symlink?): {relative}")
                current.pop()
                continue
            current.append(name)
            entry = self._entries.get("/".join(current))  # nothing below a missing folder or a file is listed
            if entry is not None and entry[0] == _SYMLINK:
                hops += 1
                if hops > _MAX_HOPS:
                    raise PathRejected(f"cannot resolve {relative}: symlink loop")
                current.pop()
                target = os.fsdecode(self._blob(entry[1]))
                if target.startswith("/"):
                    raise PathRejected(f"path resolves outside the project root (symlink?): {relative}")
                pending.extend(reversed(target.split("/")))
        return "/".join(current)

    def _is_folder_link(self, relative: str) -> bool:
        try:
            return self._resolve(relative) in self._folders
        except PathRejected:
            return False

    def _blob(self, oid: str) -> bytes:
        assert self._git is not None  # made by `at`
        try:
            return self._git.get_object_data(oid)[3]
        except (GitCommandError, ValueError, OSError) as error:
            raise SutureError(f"cannot read object {oid} of commit {self.commit[:12]}: {error}") from None
