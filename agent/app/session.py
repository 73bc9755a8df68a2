"""Opening a project: its store, settings and workspace (every use case starts from a Session)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import Settings, load_settings
from agent.errors import SutureError
from agent.ingest.commit_files import CommitFiles
from agent.remediate import Workspace
from agent.store import Store
from agent.store.url import repo_key, sqlite_path, store_url
from agent.validate.env import ValidationEnv
from agent.validate.worktree import Worktree, ensure_excluded, find_project, is_dirty


@dataclass
class Session:
    ws: Workspace
    store: Store
    settings: Settings
    warnings: list[str] = field(default_factory=list)
    # one ValidationEnv per commit, shared by every fix in this session (and by copies made with
    # dataclasses.replace, which pass these objects on): a campaign runs the project's baseline tests once per
    # commit, not once per finding
    _envs: dict[str, ValidationEnv] = field(default_factory=dict, repr=False, compare=False)
    _envs_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def validation_env(self) -> ValidationEnv:
        """The validation environment for the project's HEAD (its baseline test run and re-scans cached)."""
        head = self.ws.project.head
        with self._envs_lock:
            if head not in self._envs:
                self._envs[head] = ValidationEnv(settings=self.settings, logs_dir=self.ws.state_dir / "logs",
                                                 commit=head, user_repo=self.ws.project.git_root)
            return self._envs[head]

    def close(self) -> None:
        self.store.close()


def open_session(repo: Path, db: Path | None = None, overrides: dict[str, Any] | None = None,
                 create: bool = True, store: str | None = None) -> Session:
    """Find the project at `repo` (a git repo or a folder inside one) and open its store and settings.

    The store: `db` (a SQLite file), else `store` (a URL or SQLite path), else $SUTURE_STORE, else
    `.suture/suture.db` in the project (agent.store_url). It is opened for the project's repo key, so a store
    shared by several projects shows each only its own records. With `create=False` (commands that only read or
    decide on existing records: review, export, audit) a missing SQLite store is an error naming where one is,
    instead of a new empty `.suture/` in the wrong folder."""
    repo = repo.resolve()  # literal: never expand ~ or $VAR (a folder may be named so)
    if not repo.exists():
        raise SutureError(f"{repo}: no such directory")
    if not repo.is_dir():
        raise SutureError(f"{repo}: not a directory")
    project = find_project(repo)
    project_dir = project.git_root / project.subdir if project.subdir else project.git_root
    state_dir = project_dir / ".suture"
    warnings: list[str] = []
    if db is not None and store is not None:
        raise SutureError("give either --db or --store, not both")
    url = store_url(str(db) if db is not None else store, state_dir / "suture.db")
    if not create and sqlite_path(url) is not None:  # a database server's store is there or fails to open
        _require_store(project.git_root, project_dir, sqlite_path(url))
    if db is None:
        state_dir.mkdir(exist_ok=True)
        ensure_excluded(project.git_root, ".suture/")
        db = state_dir / "suture.db"
    else:
        state_dir.mkdir(exist_ok=True)
        ensure_excluded(project.git_root, ".suture/")
    if is_dirty(project):
        warnings.append("working tree has uncommitted changes; suture works from HEAD "
                        f"({project.head[:10]}) and ignores them")
    settings = load_settings(project_dir, overrides)
    key = repo_key(project.git_root, project.subdir)
    path = sqlite_path(url)
    opened = Store.open(path, key) if path is not None else Store(url, key)
    opened.note_repo_path(key, str(project_dir))  # registered on first use, with where its checkout is
    return Session(Workspace(project, state_dir), opened, settings, warnings)


def _require_store(git_root: Path, project_dir: Path, db: Path | None) -> None:
    if db is not None and db != project_dir / ".suture" / "suture.db":
        if not db.expanduser().is_file():
            raise SutureError(f"{db}: no such store file")
        return
    if (project_dir / ".suture" / "suture.db").is_file():
        return
    elsewhere = [d for d in (project_dir, *project_dir.parents) if (d / ".suture" / "suture.db").is_file()
                 and (d == git_root or git_root in d.parents)]
    hint = f"; there is one for {elsewhere[0]}: pass --repo {elsewhere[0]}" if elsewhere else \
        "; run `suture scan` or `suture fix` there first, or pass --repo"
    raise SutureError(f"no suture store for {project_dir}{hint}")


@contextmanager
def head_tree(session: Session) -> Iterator[Path]:
    """The project folder as committed at HEAD, in a temporary worktree removed on exit. scan and ingest read
    this tree, the one `fix` changes: uncommitted edits are never scanned, placed or fingerprinted."""
    with Worktree(session.ws.project, session.ws.project.head) as worktree:
        yield worktree.project_path


@contextmanager
def head_files(session: Session) -> Iterator[CommitFiles]:
    """The project folder's files as committed at HEAD, read from git's objects (agent.ingest.commit_files): what
    ingest places results in and reads flagged lines from, without writing a checkout (uncommitted edits are
    never placed or fingerprinted, as with head_tree). Its root is the project folder, which is never read."""
    project = session.ws.project
    files = CommitFiles.at(session.ws.project_dir, project.git_root, project.head, project.subdir)
    try:
        yield files
    finally:
        files.close()


def reviewer_identity(git_root: Path, explicit: str | None) -> str:
    """The named person behind a review: --reviewer, else git's user.name <user.email>. Either must be a
    printable one-line name with something visible in it (agent.review.identity)."""
    from agent.review.identity import check_reviewer

    if explicit is not None:
        return check_reviewer(explicit)

    def cfg(key: str) -> str:
        proc = subprocess.run(["git", "config", key], check=False, cwd=git_root, capture_output=True, text=True)
        return proc.stdout.strip()

    name, email = cfg("user.name"), cfg("user.email")
    if not name:
        raise SutureError("no reviewer name: pass --reviewer 'Name <email>' or set git config user.name")
    return check_reviewer(f"{name} <{email}>" if email else name)
