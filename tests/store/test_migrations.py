"""The store's schema is made and changed by its Alembic revisions (agent/store/migrate.py): a new store, a store
written before Alembic (a real `.suture/suture.db` made by the store code of the last commit before it), and
several processes opening one store at once. On SQLite and on a real PostgreSQL server (tests/store_backends.py).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from agent import outcomes
from agent.store import Store, StoreError
from agent.store.legacy import BASELINE
from agent.store.migrate import current_revision, head_revision
from agent.store.schema import _meta
from tests.store_backends import sql

OLD_DUMP = Path(__file__).parent / "data" / "store_before_alembic.sql"
REPO = "github.com/org/app"
F1, F2, F3 = "f1" + "0" * 10, "f2" + "0" * 10, "f3" + "0" * 10
PROPOSAL = "p" + "1" * 15


def _old_store(url: str, tmp_path: Path) -> None:
    """The rows of the pre-Alembic dump, in a store with the pre-Alembic tables, on `url`'s backend."""
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.executescript(OLD_DUMP.read_text())
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).write_bytes(old.read_bytes())
        return
    source = sa.create_engine(f"sqlite:///{old}")
    target = sa.create_engine(_driver(url))
    with source.connect() as src, target.begin() as dst:
        BASELINE.create_all(dst)  # the tables as that code created them on PostgreSQL (create_all of these)
        for table in BASELINE.sorted_tables:
            rows = [dict(r) for r in src.execute(sa.select(table)).mappings()]
            if rows:
                dst.execute(table.insert(), rows)
    source.dispose()
    target.dispose()


def test_a_new_store_is_made_by_the_revisions_and_matches_the_tables_the_code_uses(store_url: str):
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            differences = compare_metadata(MigrationContext.configure(conn), _meta)
        assert differences == []
    finally:
        store.close()


def test_a_store_from_before_alembic_is_upgraded_in_place_without_losing_a_row(store_url: str, tmp_path: Path):
    _old_store(store_url, tmp_path)
    store = Store(store_url, REPO)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            assert compare_metadata(MigrationContext.configure(conn), _meta) == []
        assert {f.id: f.status for f in store.list_findings(None)} == {F1: "fixed", F2: "open", F3: "dismissed"}
        assert [t.to_state for t in store.transitions(PROPOSAL)] == ["drafted", "validated", "approved", "exported"]
        assert store.audit() == []  # the hash chain written by the old code still verifies
        assert store.get_proposal(PROPOSAL).state == "exported"
        assert list(store.latest_verdicts()) == [F2]
        assert store.cache_get("k" * 64) == {"reply": "x"}
        assert outcomes.final_outcome(store, F2, "fix", "K" * 64).kind == "validated"
        assert store.list_repos()[0]["repo"] == REPO
        # every table has its repo now, filled from the rows that had one
        for table in ("finding_events", "transitions", "outcomes"):
            assert sql(store_url, f"SELECT DISTINCT repo FROM {table}") == [(REPO,)]
        # the history became events, in order, with the scans' times
        kinds = [(e.kind, e.subject, e.detail.get("to")) for e in store.events()]
        assert ("scan", "1", None) in kinds and ("scan", "2", None) in kinds
        assert ("finding", F1, "fixed") in kinds and ("finding", F3, "dismissed") in kinds
        assert [k for k, s, _ in kinds if s == PROPOSAL] == ["proposal", "proposal", "review", "export"]
        times = {t.finding_id: t for t in store.finding_times()}
        assert times[F1].fixed_at is not None and (times[F1].fixed_at - times[F1].first_seen).days == 3
        # and it goes on working: a new transition extends the old chain
        store.add_proposal(store.get_proposal(PROPOSAL).model_copy(update={"id": "p" + "2" * 15,
                                                                          "state": "drafted"}))
        assert store.audit() == []
    finally:
        store.close()
    reopened = Store(store_url, REPO)  # a second open finds nothing to do
    try:
        with reopened.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert len(reopened.list_findings(None)) == 3
    finally:
        reopened.close()


def test_a_store_from_before_the_hash_chain_and_the_repo_column_is_upgraded(store_url: str):
    """The oldest stores: a few tables, no repo, no chain. Every later table and column is added."""
    _raw(store_url, "CREATE TABLE proposals (id VARCHAR(64) PRIMARY KEY, finding_id VARCHAR(64) NOT NULL, "
                    "state VARCHAR(20) NOT NULL, engine VARCHAR(200) NOT NULL, created_at TIMESTAMP NOT NULL, "
                    "data TEXT NOT NULL)")
    store = Store(store_url, REPO)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            have = {name: {c["name"] for c in columns}
                    for (_schema, name), columns in sa.inspect(conn).get_multi_columns().items()}
        assert all(set(t.columns.keys()) <= have.get(t.name, set()) for t in _meta.sorted_tables)
        assert store.list_proposals() == [] and store.audit() == []
    finally:
        store.close()


def _open(url: str) -> str:
    Store(url, REPO).close()
    return "ok"


def test_processes_opening_a_new_store_at_once_migrate_it_once(store_url: str):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.map(_open, [store_url] * 4) == ["ok"] * 4
    assert sql(store_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert sql(store_url, "SELECT repo FROM repos") == [(REPO,)]


def test_a_failed_migration_leaves_the_store_as_it_was(store_url: str):
    _open(store_url)
    _raw(store_url, "UPDATE alembic_version SET version_num = '0001'",
         "ALTER TABLE scans DROP COLUMN taken_at",  # 0002 adds it back first...
         "DROP TABLE repos", "CREATE VIEW repos AS SELECT 1 AS one")  # ...then cannot create repos: name taken
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(store_url, REPO)
    assert _raw(store_url, "SELECT version_num FROM alembic_version") == [("0001",)]
    columns = {c["name"] for c in sa.inspect(sa.create_engine(_driver(store_url))).get_columns("scans")}
    assert "taken_at" not in columns  # the column added before the failure was rolled back with it


def test_a_store_from_a_newer_suture_is_one_clear_error(store_url: str):
    _open(store_url)
    _raw(store_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer version of suture"):
        Store(store_url, REPO)


def _raw(url: str, *statements: str) -> list:
    """Run statements on the store's database without opening it as a Store (which would migrate it)."""
    engine = sa.create_engine(_driver(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                result = conn.execute(sa.text(statement))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)
