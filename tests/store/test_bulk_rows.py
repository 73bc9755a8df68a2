"""Ingest's bulk writes (agent/store/bulk.py, list_findings' ordering) write and read what the per-row path did:
the stored JSON of a first report, the events of a scan, rows that insert_rows writes (SQLite's executemany,
PostgreSQL's COPY) against the rows a Core INSERT writes, and the order of findings by id — on SQLite and
PostgreSQL (tests/store_backends.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from agent.models import Finding, Location
from agent.store import Store
from agent.store.base import writing
from agent.store.bulk import first_report_json, insert_rows, time_json, update_rows
from agent.store.schema import JsonText, _json_text, events_t, finding_events_t, findings_t

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


def _rows(store: Store, table: sa.Table) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]


LOGGED = ("finding_id", "from_status", "to_status", "actor", "at", "comment", "repo")


def test_insert_rows_writes_what_a_core_insert_writes(store, store_url, tmp_path):
    """Odd values each column type binds its own way: NUL in a _Text column (PostgreSQL writes U+FFFD), one
    instant in two time zones (equal datetimes that SQLite's DateTime binding writes differently), None, text
    COPY escapes (tab, newline, backslash), and rows kept in order (their serial ids)."""
    from tests.store_backends import another_store

    other = Store(another_store(store_url, tmp_path))
    here = AT.astimezone(timezone(timedelta(hours=2)))
    odd = "tab\there\nnewline \\N back\\slash \x00 nul é"
    rows = [("f1", None, "open", "scanner", AT, "first", None),
            ("f2", "open", "fixed", odd, here, odd, "github.com/o/r"),
            ("f1", "fixed", "open", "scanner", AT, None, "github.com/o/r")]
    events = [(here, None, odd, "finding", "f1", JsonText(json.dumps({"comment": odd}))),
              (AT, "r", "scanner", "scan", "1", JsonText('{"a": [1, 2.5, null]}'))]
    try:
        with writing(store.engine) as conn:
            insert_rows(conn, finding_events_t, LOGGED, rows)
            insert_rows(conn, events_t, ("at", "repo", "actor", "kind", "subject", "detail"), events)
        with writing(other.engine) as conn:
            conn.execute(finding_events_t.insert(), [dict(zip(LOGGED, r, strict=True)) for r in rows])
            conn.execute(events_t.insert(), [{"at": e[0], "repo": e[1], "actor": e[2], "kind": e[3],
                                              "subject": e[4], "detail": json.loads(e[5])} for e in events])
        assert _rows(store, finding_events_t) == _rows(other, finding_events_t)
        assert _rows(store, events_t) == _rows(other, events_t)
        assert [r[0] for r in _rows(store, finding_events_t)] == [1, 2, 3]
    finally:
        other.close()


def test_insert_rows_refuses_json_that_is_not_text_and_raises_the_drivers_error_as_sqlalchemys(store):
    row = ("f1", "bandit", "s", "B602", "a.py", "open", JsonText("{}"), None)
    columns = ("id", "tool", "scope", "rule_id", "path", "status", "data", "repo")
    with pytest.raises(TypeError, match="JsonText"), writing(store.engine) as conn:
        insert_rows(conn, findings_t, columns, [row, (*row[:6], {}, None)])
    with pytest.raises(sa.exc.IntegrityError), writing(store.engine) as conn:  # the same id twice: one key
        insert_rows(conn, findings_t, columns, [row, row])
    with store.engine.connect() as conn:  # both transactions rolled back
        assert conn.execute(sa.select(sa.func.count()).select_from(findings_t)).scalar_one() == 0


def _findings(store: Store) -> list[tuple]:
    with store.engine.connect() as conn:
        text = sa.cast(findings_t.c.data, sa.Text) if conn.dialect.name == "postgresql" else findings_t.c.data
        return [tuple(r) for r in conn.execute(sa.select(
            *[c for c in findings_t.c if c.name != "data"], sa.type_coerce(text, sa.Text)).order_by(findings_t.c.id))]


def test_update_rows_writes_what_a_core_update_writes(store, store_url, tmp_path):
    """Two batches in one transaction (PostgreSQL stages each in a temporary table of its own), text with NUL
    and COPY's escapes, JSON text as the column serializer writes a dict; rows not named are left alone."""
    from tests.store_backends import another_store

    other = Store(another_store(store_url, tmp_path))
    ids = ["a", "b", "c", "é"]
    odd = "tab\there\nnewline \\N back\\slash \x00 nul é"
    columns = ("tool", "scope", "rule_id", "path", "status", "data")
    try:
        for s in (store, other):
            s.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", full=True, taken_at=AT,
                          findings=[finding(i) for i in ids])
        first = [("bandit", "other", odd, odd, "fixed", {"id": "a", "m": odd, "n": [1, 2.5, None]}, "a")]
        then = [("t", "s", "r", "p", "open", {"x": "\u2028"}, "é"), ("t", "s", "r", "p", "open", {}, "c")]
        with writing(store.engine) as conn:
            update_rows(conn, findings_t, "id", columns, [(*r[:5], JsonText(_json_text(r[5])), r[6]) for r in first])
            update_rows(conn, findings_t, "id", columns, [(*r[:5], JsonText(_json_text(r[5])), r[6]) for r in then])
        with writing(other.engine) as conn:
            for row in [*first, *then]:
                conn.execute(findings_t.update().where(findings_t.c.id == row[6]).values(
                    dict(zip(columns, row[:6], strict=True))))
        assert _findings(store) == _findings(other)
        assert [r[5] for r in _findings(store)] == ["fixed", "open", "open", "open"]  # b: left alone
    finally:
        other.close()


def test_update_rows_refuses_a_key_twice(store):
    row = ("t", "s", "r", "p", "open", JsonText("{}"), "a")
    with pytest.raises(ValueError, match="repeat"), writing(store.engine) as conn:
        update_rows(conn, findings_t, "id", ("tool", "scope", "rule_id", "path", "status", "data"), [row, row])
