"""Ingest's bulk writes (agent/store/bulk.py, list_findings' ordering) write and read what the per-row path did:
the stored JSON of a first report, the events of a scan, and the order of findings by id — on SQLite and
PostgreSQL (tests/store_backends.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from agent.models import Finding, Location
from agent.store import Store
from agent.store.bulk import first_report_json, time_json
from agent.store.schema import events_t, findings_t

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def finding(fid: str, message: str = "m", **fields) -> Finding:
    return Finding(id=fid, tool="bandit", rule_id="B602", message=message,
                   location=Location(path="app.py", start_line=3, snippet=message), **fields)


@pytest.mark.parametrize("odd", [
    "plain",
    'a message that holds ,"first_seen":"2020-01-01T00:00:00Z","last_seen": and "fixed_at":null, as text',
    "lone \ud800 surrogate",  # pydantic will not write it as JSON: the copy takes over
])
def test_first_report_json_is_the_copied_records_json(odd):
    record = finding("f1", odd, status="fixed", fixed_at=AT - timedelta(days=1),
                     risk_accepted_until=AT + timedelta(days=9), first_seen=AT - timedelta(days=3))
    copied = record.model_copy(update={"first_seen": AT, "last_seen": AT, "status": "open"})
    got = first_report_json(record, time_json(AT), AT)
    if "\ud800" in odd:
        assert json.loads(got) == json.loads(json.dumps(copied.model_dump(mode="json")))
    else:
        assert got == copied.model_dump_json()
    assert Finding.model_validate(json.loads(got)).first_seen == AT


def test_a_subclass_of_finding_is_copied_whole():
    class Wider(Finding):
        note: str = "kept"

    record = Wider(id="w", tool="t", rule_id="r", message="m", location=Location(path="a.py", start_line=1))
    got = json.loads(first_report_json(record, time_json(AT), AT))
    assert got["note"] == "kept" and got["status"] == "open"


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def test_a_scan_writes_each_new_finding_and_its_first_report_event(store):
    ids = ["b" * 64, "a" * 64, "é-unicode", "Z-upper", "z-lower"]
    counts = store.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", full=True, taken_at=AT,
                               findings=[finding(i, f"message {i} \x00 \u2028") for i in ids], batch=2)
    assert counts["new"] == len(ids)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(findings_t.c.id, findings_t.c.status, findings_t.c.path,
                                      findings_t.c.data)).all()
        events = conn.execute(sa.select(events_t.c.subject, events_t.c.at, events_t.c.detail, events_t.c.actor)
                              .where(events_t.c.kind == "finding").order_by(events_t.c.id)).all()
    assert sorted(r.id for r in rows) == sorted(ids)
    for row in rows:
        assert row.status == "open" and row.path == "app.py"
        stored = Finding.model_validate(row.data)
        assert stored.first_seen == stored.last_seen == AT and stored.message.endswith("\x00 \u2028")
    assert [e.subject for e in events] == ids  # in report order
    stamps = {e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC) for e in events}  # SQLite gives naive UTC back
    assert stamps == {AT}
    assert {(e.actor, json.dumps(e.detail)) for e in events} == {
        ("scanner", json.dumps({"from": None, "to": "open", "comment": "first reported by bandit"}))}
    listed = [f.id for f in store.list_findings("open")]
    with store.engine.connect() as conn:  # the database's own order by id
        assert listed == conn.execute(sa.select(findings_t.c.id).order_by(findings_t.c.id)).scalars().all()
