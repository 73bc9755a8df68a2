"""Where the store is (a URL) and which repository rows belong to (the repo key).

Store location, first given wins: `--db PATH` on a command, the global `--store URL`, the `SUTURE_STORE`
environment variable, else `.suture/suture.db` in the project (as always). Accepted: a SQLite file path or
`sqlite:///PATH`, and `postgresql://…` (also `postgres://…`, `postgresql+psycopg://…`), driven by psycopg 3.
Anything else is one clear error.

The repo key names the project a row belongs to, so several repositories can share one store: the `origin`
remote's URL without credentials, scheme or `.git` (`github.com/org/app`, so every clone of a repository, on any
machine, is the same repo), else `local:` and the git root's absolute path; a project in a subfolder of its
repository appends `#` and the subfolder (`github.com/org/mono#services/api`).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from agent.errors import SutureError

ENV = "SUTURE_STORE"
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def store_url(given: str | None, default_db: Path) -> str:
    """The SQLAlchemy URL for a store given as a URL or SQLite path (None: the env var, then `default_db`).

    Handles any text: a path without a scheme is a SQLite file; a known scheme is normalised; an unknown
    scheme, an empty value or a malformed PostgreSQL URL raises SutureError (message without the password)."""
    value = given if given is not None else os.environ.get(ENV) or None
    if value is None:
        return f"sqlite:///{default_db}"
    value = value.strip()
    if not value:
        raise SutureError("the store URL is empty (--store or SUTURE_STORE)")
    if "://" not in value:
        return f"sqlite:///{Path(value).absolute()}"
    scheme = value.split("://", 1)[0].lower()
    if scheme == "sqlite":
        if not value.lower().startswith("sqlite:///") or value[len("sqlite:///"):] in ("", ":memory:"):
            raise SutureError(f"{value}: a SQLite store URL names a file: sqlite:///PATH")
        return value
    if scheme in _PG_SCHEMES:
        try:
            url = sa.engine.make_url("postgresql+psycopg://" + value.split("://", 1)[1])
        except (sa.exc.ArgumentError, ValueError):
            raise SutureError(f"{redact(value)}: not a valid PostgreSQL URL") from None
        return url.render_as_string(hide_password=False)
    raise SutureError(f"{redact(value)}: unsupported store URL; use a SQLite path, sqlite:///PATH or "
                      "postgresql://USER@HOST/DB")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store URL; None for any other store."""
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def redact(url: str) -> str:
    """The URL as it may be printed: any password replaced by ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"//[^/@]*@", "//***@", url)


def repo_key(git_root: Path, subdir: str | None = None) -> str:
    """The stable key of a project (see the module docstring). Reads only the repository's config: no hook or
    helper runs. Credentials, query and fragment of the remote URL are never part of the key."""
    try:
        remote = subprocess.run(["git", "-C", str(git_root), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, check=False, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        remote = ""
    base = _remote_key(remote) or f"local:{git_root.resolve().as_posix()}"
    sub = (subdir or "").strip("/")
    return f"{base}#{sub}" if sub else base


def _remote_key(remote: str) -> str | None:
    if not remote or any(ord(c) < 32 for c in remote):
        return None
    if "://" in remote:
        parts = urlsplit(remote)
        if parts.scheme == "file":
            return None  # a local path remote: the local clone is what identifies the work
        host = (parts.hostname or "").lower()
        path = parts.path
    elif re.match(r"^[^/]+@[^/:]+:", remote) or re.match(r"^[A-Za-z0-9.-]+:[^/]", remote):
        host_part, path = remote.split(":", 1)
        host = host_part.rsplit("@", 1)[-1].lower()
    else:
        return None  # a plain path
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{host}/{path}" if host and path else None
