"""Stores opened from several threads at once (the eval runner's workers, campaign workers, the web server) are
each created and migrated on their own connection: Alembic's process-wide state is entered one thread at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from agent.store import Store
from agent.store.migrate import head_revision


def test_eight_threads_open_eight_new_stores_at_once(tmp_path: Path):
    errors: list[str] = []
    start = threading.Barrier(8)

    def open_one(i: int) -> None:
        start.wait()
        try:
            Store.open(tmp_path / f"s{i}" / "suture.db")
        except Exception as exc:  # noqa: BLE001 - the assertion below lists them
            errors.append(repr(exc))

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        engine = sa.create_engine(f"sqlite:///{tmp_path / f's{i}' / 'suture.db'}")
        with engine.connect() as conn:
            assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == head_revision()
        engine.dispose()
