"""Isolated git worktrees for validating patches without touching the user's checkout.

Handles any non-bare git repository, including a project that is a subfolder of a larger repository
(monorepos) and a repository that is itself a linked worktree. Work always starts from a commit: a detached
worktree is checked out into a fresh directory under the system temp dir, never inside the user's repository,
so the user's working tree and index are never read or written (only git's worktree registry in the shared
.git directory changes, and suture removes its own entries again).

Ownership: every suture worktree directory is named `suture-wt-<pid>-<random>`; `prune_stale` removes the
ones whose creating process is gone (a crashed run) and leaves everything else alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from git import Git
from git.exc import GitCommandError

from agent.errors import SutureError

WORKTREE_PREFIX = "suture-wt-"
_OWNED_NAME = re.compile(rf"^{re.escape(WORKTREE_PREFIX)}(\d+)-")
_ADMIN_LOCK = threading.Lock()  # serialize worktree add/remove within this process


class WorktreeError(SutureError):
    """A git repository or worktree problem, explained in one line."""


@dataclass(frozen=True)
class Project:
    """Where the code under repair lives: the repository root, the project folder in it, and the commit."""

    git_root: Path
    subdir: str  # "" for the repository root, else a POSIX path like "examples/app"
    head: str  # full commit sha of HEAD when the project was found

    @property
    def path(self) -> Path:
        return self.git_root / self.subdir if self.subdir else self.git_root


def find_project(path: Path) -> Project:
    """Locate the git repository containing `path` (a folder) and the commit suture will work from.

    The path is taken literally: `$VAR`, `${VAR}` and `~` in it are never expanded (GitPython would expand
    them in a str path; every Git()/Repo() here gets a Path or expand_vars=False)."""
    path = Path(path)
    if not path.exists():
        raise WorktreeError(f"path does not exist: {path}")
    if not path.is_dir():
        raise WorktreeError(f"not a directory: {path}")
    path = path.resolve()
    git = Git(path)  # a Path: GitPython expands $VAR and ~ only in str paths (git.Repo always does, internally)
    try:
        inside = git.rev_parse("--is-inside-work-tree").strip()
    except GitCommandError:
        raise WorktreeError(f"not a git repository (or inside one): {path}") from None
    if inside != "true":
        if git.rev_parse("--is-bare-repository").strip() == "true":
            raise WorktreeError(f"{path} is a bare git repository; point suture at a checkout with files")
        raise WorktreeError(f"{path} is inside the .git directory; point suture at the project folder")
    git_root = Path(git.rev_parse("--show-toplevel").strip()).resolve()
    try:
        head = git.rev_parse("--verify", "--quiet", "HEAD^{commit}").strip()
    except GitCommandError:
        raise WorktreeError(
            f"repository {git_root} has no commits: commit your code first: suture works from HEAD"
        ) from None
    subdir = path.relative_to(git_root).as_posix()
    subdir = "" if subdir == "." else subdir
    if subdir.split("/")[0] == ".git":
        raise WorktreeError(f"{path} is inside the .git directory; point suture at the project folder")
    if subdir:
        try:
            Git(git_root).cat_file("-e", f"{head}:{subdir}")
        except GitCommandError:
            raise WorktreeError(
                f"'{subdir}' is not in the last commit (HEAD): commit it first: suture works from HEAD"
            ) from None
    return Project(git_root=git_root, subdir=subdir, head=head)


def is_dirty(project: Project) -> bool:
    """True when tracked files of the project folder differ from HEAD (staged or not); untracked files ignored."""
    git = Git(project.git_root)
    git.update_environment(GIT_OPTIONAL_LOCKS="0")  # a read-only status: do not refresh the user's index
    args = ["--porcelain", "--untracked-files=no"]
    if project.subdir:
        args += ["--", project.subdir]
    return bool(_git(git, "status", *args).strip())


def git_common_dir(git_root: Path) -> Path:
    """The repository's shared .git directory (differs from `<root>/.git` for linked worktrees)."""
    out = _git(Git(git_root), "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    return Path(out)


def ensure_excluded(git_root: Path, pattern: str = ".suture/") -> bool:
    """Add `pattern` to the repository's .git/info/exclude unless present; True if the file changed."""
    exclude = git_common_dir(git_root) / "info" / "exclude"
    text = exclude.read_text(encoding="utf-8") if exclude.is_file() else ""
    if any(line.strip() == pattern for line in text.splitlines()):
        return False
    exclude.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not text or text.endswith("\n") else "\n"
    exclude.write_text(f"{text}{prefix}{pattern}\n", encoding="utf-8")
    return True


class Worktree:
    """A detached checkout of one commit in a temp directory; a context manager that removes it on exit."""

    def __init__(self, project: Project, commit: str | None = None, *, temp_root: Path | None = None) -> None:
        self.project = project
        self.commit = commit or project.head
        self._temp_root = Path(temp_root) if temp_root else Path(tempfile.gettempdir())
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            raise WorktreeError("worktree is not open")
        return self._path

    @property
    def project_path(self) -> Path:
        """The project folder inside the worktree (the worktree root unless the project is a subfolder)."""
        return self.path / self.project.subdir if self.project.subdir else self.path

    @property
    def is_open(self) -> bool:
        return self._path is not None

    def open(self) -> Self:
        if self._path is not None:
            return self
        repo_git = Git(self.project.git_root)
        sha = _resolve_commit(repo_git, self.commit)
        path = Path(tempfile.mkdtemp(prefix=f"{WORKTREE_PREFIX}{os.getpid()}-", dir=self._temp_root)).resolve()
        try:
            with _ADMIN_LOCK:
                _git(repo_git, "worktree", "add", "--detach", str(path), sha)
        except BaseException:
            _remove_worktree(self.project.git_root, path)
            raise
        self.commit = sha
        self._path = path
        return self

    def reset(self, commit: str | None = None) -> None:
        """Discard every change in the worktree (tracked, untracked, ignored) and check out `commit`."""
        git = Git(self.path)
        sha = _resolve_commit(git, commit or self.commit)
        _git(git, "reset", "--hard", "--quiet", sha)
        _git(git, "clean", "-ffdxq")
        self.commit = sha

    def close(self) -> None:
        if self._path is None:
            return
        path, self._path = self._path, None
        _remove_worktree(self.project.git_root, path)

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class WorktreePool:
    """Up to `size` worktrees of one project, handed out one user at a time and reset between uses.

    Thread-safe: `acquire` blocks while all `size` worktrees are in use.
    """

    def __init__(self, project: Project, size: int = 2, *, temp_root: Path | None = None) -> None:
        if size < 1:
            raise WorktreeError(f"worktree pool size must be at least 1, got {size}")
        self.project = project
        self.size = size
        self._temp_root = temp_root
        self._idle: list[Worktree] = []
        self._count = 0  # worktrees created or being created
        self._cond = threading.Condition()
        self._closed = False

    @contextmanager
    def acquire(self, commit: str | None = None) -> Iterator[Worktree]:
        """A clean worktree checked out at `commit` (default: the project's HEAD) for the `with` block."""
        worktree = self._take(commit)
        try:
            yield worktree
        finally:
            self._give_back(worktree)

    def close(self) -> None:
        """Remove every idle worktree; worktrees still in use are removed when they are given back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worktree in idle:
            worktree.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take(self, commit: str | None) -> Worktree:
        with self._cond:
            while True:
                if self._closed:
                    raise WorktreeError("worktree pool is closed")
                if self._idle:
                    reused: Worktree | None = self._idle.pop()
                    break
                if self._count < self.size:
                    self._count += 1
                    reused = None
                    break
                self._cond.wait()
        if reused is None:
            try:
                return Worktree(self.project, commit, temp_root=self._temp_root).open()
            except BaseException:
                self._forget()
                raise
        try:
            reused.reset(commit or self.project.head)
        except BaseException:
            reused.close()
            self._forget()
            raise
        return reused

    def _give_back(self, worktree: Worktree) -> None:
        with self._cond:
            keep = not self._closed and worktree.is_open
            if keep:
                self._idle.append(worktree)
                self._cond.notify()
        if not keep:
            worktree.close()
            self._forget()

    def _forget(self) -> None:
        with self._cond:
            self._count -= 1
            self._cond.notify()


def list_suture_worktrees(project: Project) -> list[Path]:
    """Registered worktrees of this repository that suture created (by directory-name prefix)."""
    out = _git(Git(project.git_root), "worktree", "list", "--porcelain")
    paths = [Path(line[len("worktree ") :]) for line in out.splitlines() if line.startswith("worktree ")]
    return [path for path in paths if path.name.startswith(WORKTREE_PREFIX)]


def prune_stale(project: Project, *, temp_root: Path | None = None) -> list[Path]:
    """Remove suture worktrees left by processes that no longer run (crashed runs); returns their paths.

    Worktrees of live suture processes (including this one) are kept. Also removes unregistered leftover
    directories in the temp dir that belonged to this repository, or are empty.
    """
    removed = []
    for path in list_suture_worktrees(project):
        if not _owner_alive(path.name):
            _remove_worktree(project.git_root, path)
            removed.append(path)
    common = git_common_dir(project.git_root)
    root = Path(temp_root) if temp_root else Path(tempfile.gettempdir())
    for path in sorted(root.glob(f"{WORKTREE_PREFIX}*")):
        if path in removed or not path.is_dir() or _owner_alive(path.name):
            continue
        if not any(path.iterdir()) or _gitdir_of(path, common) is not None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


# --- helpers ---------------------------------------------------------------------------------------------


def _git(git: Git, command: str, *args: str) -> str:
    try:
        return getattr(git, command.replace("-", "_"))(*args)
    except GitCommandError as exc:
        detail = " ".join(str(exc.stderr or "").split()) or f"exit {exc.status}"
        raise WorktreeError(f"git {command} failed: {detail.removeprefix('stderr: ').strip(chr(39))}") from None


def _resolve_commit(git: Git, commit: str) -> str:
    try:
        return git.rev_parse("--verify", "--quiet", f"{commit}^{{commit}}").strip()
    except GitCommandError:
        raise WorktreeError(f"not a commit in this repository: {commit}") from None


def _remove_worktree(git_root: Path, path: Path) -> None:
    """Unregister and delete one suture worktree; falls back to deleting its files and its registry entry."""
    common = git_common_dir(git_root)
    with _ADMIN_LOCK:
        try:
            Git(git_root).worktree("remove", "--force", "--force", str(path))
        except GitCommandError:
            pass  # not registered, already gone, or git refused: clean up by hand below
        admin = _gitdir_of(path, common)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        if admin is not None:
            shutil.rmtree(admin, ignore_errors=True)
        for entry in (common / "worktrees").glob(f"{WORKTREE_PREFIX}*"):
            gitdir = entry / "gitdir"
            if gitdir.is_file() and Path(gitdir.read_text().strip()).parent == path:
                shutil.rmtree(entry, ignore_errors=True)


def _gitdir_of(path: Path, common: Path) -> Path | None:
    """The registry entry (`<common>/worktrees/<name>`) a worktree directory points to, if it is ours."""
    dotgit = path / ".git"
    if not dotgit.is_file():
        return None
    try:
        text = dotgit.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    admin = Path(text[len("gitdir:") :].strip())
    try:
        return admin if admin.resolve().parent == (common / "worktrees").resolve() else None
    except OSError:
        return None


def _owner_alive(name: str) -> bool:
    match = _OWNED_NAME.match(name)
    if match is None:
        return False
    pid = int(match.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
