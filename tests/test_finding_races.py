"""Finding status changes are compare-and-set too: of concurrent changes from separate processes on one real
store (a SQLite file, a PostgreSQL database) exactly one lands, and a change that expects a status the finding
has left writes nothing."""

from __future__ import annotations

import multiprocessing

import pytest

from agent.models import Finding, Location
from agent.store import Store, StoreError


def _seed(db: str) -> None:
    store = Store(db)
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B602", message="m",
                                        location=Location(path="app.py", start_line=1))])
    store.close()


def _dismiss(db: str, who: str, barrier, results) -> None:
    store = Store(db)
    barrier.wait()
    try:
        store.set_finding_status("f1", "dismissed", who, "not exploitable", expected="open")
        results.put((who, "ok"))
    except StoreError as exc:
        results.put((who, str(exc)))
    finally:
        store.close()


def test_concurrent_status_changes_expecting_open_exactly_one_lands(store_url):
    db = store_url
    _seed(db)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    workers = [ctx.Process(target=_dismiss, args=(db, who, barrier, results)) for who in ("ann", "bob", "cy")]
    for w in workers:
        w.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(timeout=30)
    winners = [who for who, text in outcomes.items() if text == "ok"]
    assert len(winners) == 1, outcomes
    for who, text in outcomes.items():
        if who not in winners:
            assert "is now dismissed, not open" in text
    store = Store(db)
    events = [e for e in store.finding_events("f1") if e["to_status"] == "dismissed"]
    assert [e["actor"] for e in events] == winners
    store.close()


def test_a_change_expecting_a_status_the_finding_left_writes_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'suture.db'}"
    _seed(db)
    store = Store(db)
    store.set_finding_status("f1", "fixed", "suture", "gone on a full scan", expected="open")
    before = store.finding_events("f1")
    with pytest.raises(StoreError, match="is now fixed, not open"):
        store.set_finding_status("f1", "dismissed", "ann", "fp", expected="open")
    assert store.get_finding("f1").status == "fixed"
    assert store.finding_events("f1") == before
    store.close()
