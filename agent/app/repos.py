"""The repos of a store: register one (`add`), list them (`list_repos`), open the whole store (`open_store`) and
turn what a person typed after `--repo` into a repo key (`resolve_repo`).

A repo is known by its key (agent.store.url.repo_key: `github.com/org/app`, or `local:/path`), optionally by a
short name given at `repo add --name`, and by the checkout it was last used from (its detail's `path`). Commands
that work on one project register its repo on first use; `repo add` does it ahead of time (e.g. for a campaign).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.errors import SutureError
from agent.store import Store
from agent.store.url import ENV, repo_key, sqlite_path, store_url


class RepoView(BaseModel):
    """One registered repo: its key, short name, checkout path (and whether that folder exists here)."""

    key: str
    name: str | None = None
    path: str | None = None
    path_exists: bool = False
    added_at: datetime

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _view(row: dict[str, Any]) -> RepoView:
    detail = row.get("detail") or {}
    path = detail.get("path")
    return RepoView(key=row["repo"], name=detail.get("name"), path=path,
                    path_exists=path is not None and bool(path) and Path(path).is_dir(), added_at=row["added_at"])


def open_store(store: str | None, at: Path = Path(".")) -> Store:
    """The whole store (every repo's rows): `store` (a URL or SQLite path), else $SUTURE_STORE, else the
    `.suture/suture.db` of the project at `at`. A SQLite store that does not exist is an error, not a new file."""
    from agent.validate.worktree import WorktreeError, find_project

    default: Path | None = None
    try:
        project = find_project(at)
        default = project.path / ".suture" / "suture.db"
    except WorktreeError:
        default = None
    if default is None and store is None and not os.environ.get(ENV):
        raise SutureError(f"{at.resolve()} is not inside a git repository and no store was given: pass "
                          "--store URL or set SUTURE_STORE")
    url = store_url(store, default or Path("/nonexistent"))
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise SutureError(f"{path}: no such store file; run a suture command in a project first, or pass --store")
    return Store(url, None)


def list_repos(store: Store) -> list[RepoView]:
    """Every registered repo, oldest first."""
    return [_view(row) for row in store.list_repos()]


def add(path: Path, name: str | None = None, store: str | None = None) -> RepoView:
    """Register the project at `path` (a git checkout or a project folder in one) in the store, with its checkout
    path and, given `name`, a short name `--repo` accepts (unique in the store). Adding it again updates both."""
    from agent.app.session import open_session

    if name is not None and (not name.strip() or any(ord(c) < 32 for c in name) or len(name) > 200):
        raise SutureError("--name must be a printable one-line name of at most 200 characters")
    session = open_session(path, store=store)
    try:
        key = session.store.repo or ""
        project_dir = str(session.ws.project_dir)
        rows = session.store.list_repos()
        if name is not None:
            taken = [r["repo"] for r in rows if (r["detail"] or {}).get("name") == name and r["repo"] != key]
            if taken:
                raise SutureError(f"the name {name!r} is already used by {taken[0]}")
        row = next(r for r in rows if r["repo"] == key)
        detail = {**(row["detail"] or {}), "path": project_dir, **({"name": name} if name is not None else {})}
        session.store.set_repo_detail(key, detail)
        return _view({**row, "detail": detail})
    finally:
        session.close()


def store_wide(store: str | None, at: Path = Path(".")) -> tuple[list[tuple[str, Path]], list[str]] | None:
    """Where a listing runs when it is not given a repo: None (its project, as always) when `at` is inside a git
    repository or no store was given; else, run outside any project against a shared store (--store or
    $SUTURE_STORE), every registered repo: (key, checkout) of those with a checkout on this machine, and the keys
    of those without one (which the listing cannot reach: it says so)."""
    from agent.validate.worktree import WorktreeError, find_project

    if store is None and not os.environ.get(ENV):
        return None
    try:
        find_project(at)
        return None
    except WorktreeError:
        pass
    opened = open_store(store, at)
    try:
        views = list_repos(opened)
    finally:
        opened.close()
    return ([(v.key, Path(v.path)) for v in views if v.path_exists and v.path],
            [v.key for v in views if not v.path_exists])


def checkout_path(store: str | None, given: str) -> Path:
    """The checkout of the repo `given` names (a key or a `repo add --name` name) in the store (`store`, else
    $SUTURE_STORE): how `--repo github.com/org/app` reaches a project. An error when it has none here."""
    opened = open_store(store, Path("."))
    try:
        key = resolve_repo(opened, given)
        view = next(v for v in list_repos(opened) if v.key == key)
    finally:
        opened.close()
    if not view.path_exists or not view.path:
        raise SutureError(f"--repo {given}: repo {key} has no checkout on this machine"
                          + (f" (recorded: {view.path})" if view.path else "") + "; run `suture repo add PATH`")
    return Path(view.path)


def resolve_repo(store: Store, given: str) -> str:
    """The repo key meant by `given`: a registered key, a name from `repo add --name`, or the path of a checkout
    (its project's key). Anything else is an error naming the known repos."""
    rows = store.list_repos()
    keys = {r["repo"] for r in rows}
    if given in keys:
        return given
    named = [r["repo"] for r in rows if (r["detail"] or {}).get("name") == given]
    if named:
        return named[0]
    candidate = Path(given)
    if candidate.is_dir():
        from agent.validate.worktree import WorktreeError, find_project

        try:
            project = find_project(candidate)
        except WorktreeError as error:
            raise SutureError(f"--repo {given}: {error}") from None
        key = repo_key(project.git_root, project.subdir)
        if key in keys:
            return key
        raise SutureError(f"--repo {given}: its repo {key} is not in this store (run `suture repo add {given}`)")
    known = ", ".join(sorted(keys)[:10]) or "none yet"
    raise SutureError(f"--repo {given!r}: not a repo of this store (a key, a name or a checkout path); known: {known}")


__all__ = ["RepoView", "add", "checkout_path", "list_repos", "open_store", "resolve_repo", "store_wide"]
