"""Store backends for tests: a real SQLite file always, a real PostgreSQL server when one can be started.

`pg_server` starts one throw-away PostgreSQL cluster per test session (per xdist worker): initdb into a temporary
folder, listening on a unix socket only (no TCP port), fsync off. As root the server runs as the `postgres`
user (PostgreSQL refuses to run as root). Without PostgreSQL's binaries the PostgreSQL cases are skipped with the
reason, unless SUTURE_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail, so CI cannot pass without them.

`store_url` gives each test its own empty store: a SQLite file in tmp_path, or a fresh schema in the server's database (a
store of its own: suture's tables, nothing else; much faster than CREATE DATABASE).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and (Path(found).resolve().parent / "initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("SUTURE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (SUTURE_REQUIRE_POSTGRES=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason} (install Debian's postgresql to run them)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The base URL (no database name) of a PostgreSQL server started for this session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed")
    bindir = _binaries()
    if bindir is None:
        _unavailable("no pg_ctl/initdb found (PATH, /usr/lib/postgresql/*/bin)")
    root = Path(tempfile.mkdtemp(prefix="suture-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            _unavailable("running as root and runuser is missing")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, sock = root / "data", root
    init = _run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "suture", "-A", "trust",
                           "-E", "UTF8", "--no-sync"])
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-c listen_addresses='' -c unix_socket_directories={sock} -c fsync=off " \
              "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
    start = _run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                            "-l", str(root / "log"), "start"])
    if start.returncode != 0:
        log = (root / "log").read_text(errors="replace")[-300:] if (root / "log").exists() else start.stderr
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"the server did not start: {log.strip()}")
    try:
        yield f"postgresql://suture@/?host={sock}"
    finally:
        _run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def new_database(server: str) -> str:
    """A new empty store on `server` (a schema of its own, first on the search path); returns its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    host = server.split("host=", 1)[1]
    with psycopg.connect(dbname="postgres", user="suture", host=host, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"postgresql://suture@/postgres?host={host}&options=-csearch_path%3D{name}"


def another_store(url: str, tmp_path: Path) -> str:
    """A second empty store on the same backend as `url`."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / ('s' + uuid.uuid4().hex[:8] + '.db')}"
    return new_database("postgresql://suture@/?host=" + url.split("host=", 1)[1].split("&", 1)[0])


def sql(url: str, statement: str, **params) -> list:
    """Run one SQL statement on a store behind suture's back (as an attacker or an old suture would); returns the
    rows of a query. `CAST(:x AS json)` in the text stays plain `:x` on SQLite, which has no json type."""
    import sqlalchemy as sa

    from agent.store import Store

    store = Store(url)
    try:
        if store.engine.dialect.name == "sqlite":
            statement = statement.replace(" AS json)", ")").replace("CAST(", "(")
        with store.engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path: Path) -> str:
    """An empty store's URL, once per backend: `sqlite:///…/.suture/suture.db` or `postgresql://…/t_…`."""
    if request.param == "sqlite":
        path = tmp_path / ".suture" / "suture.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return new_database(request.getfixturevalue("pg_server"))
