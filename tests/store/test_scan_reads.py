"""record_scan's reads and its SQLite page cache (agent/store/scans.py _data_and_repo, bulk.bulk_page_cache):
the stored records a merge reads are the ones the Core query reads (parsed as json.loads parses them), and a
scan leaves the connection's cache size as it found it, also when it fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from agent.models import Finding, Location
from agent.store import Store, StoreError
from agent.store.bulk import bulk_page_cache
from agent.store.scans import _data_and_repo, _parsed
from agent.store.schema import findings_t

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
IDS = ["a" * 64, "é-unicode", "quote'd \"id\"", "z", "its message has a lone surrogate"]


def finding(fid: str) -> Finding:
    return Finding(id=fid, tool="bandit", rule_id="B602", message=f"m {fid}",
                   location=Location(path="app.py", start_line=3))


@pytest.fixture
def store(store_url):
    s = Store(store_url, "github.com/o/r")
    yield s
    s.close()


def test_the_records_read_for_a_merge_are_the_core_querys(store):
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", full=True, taken_at=AT,
                      findings=[finding(i) for i in IDS[:-1]] + [finding("x").model_copy(
                          update={"id": IDS[-1], "message": "lone \ud800"})])
    asked = [*IDS, "not stored", IDS[0]]  # a missing id and a repeated one
    with store.engine.connect() as conn:
        core = conn.execute(sa.select(findings_t.c.data, findings_t.c.repo).where(findings_t.c.id.in_(asked))).all()
        got = list(_data_and_repo(conn, asked))
        assert list(_data_and_repo(conn, [])) == []
    assert sorted((d["id"], repr(d), repo) for d, repo in got) == sorted((d["id"], repr(d), repo) for d, repo in core)
    assert len(got) == len(IDS)


@pytest.mark.parametrize("text", [
    '{"b": 1, "a": [1.0, 2.5, -0.0, 5e-324, 1e400, 123456789012345678901234567890, -0, 1E2]}',
    '{"a": 1, "b": 2, "a": 3}',  # a repeated key: the last value, at the first one's place
    '{"m": "lone \\ud800 surrogate", "n": "\\u00e9\\u2028\\ud83d\\ude00 \\" \\\\ \\/"}',
    '{"x": null, "y": true, "z": {"nested": [[], {}]}}',
])
def test_stored_json_is_parsed_as_json_loads_parses_it(text):
    got, want = _parsed(text), json.loads(text)
    assert repr(got) == repr(want) and json.dumps(got) == json.dumps(want)
    assert list(got) == list(want)


def test_a_rescan_merges_what_it_read(store):
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"1", full=True, taken_at=AT,
                      findings=[finding(i) for i in IDS[:3]])
    later = AT.replace(day=5)
    counts = store.record_scan(tool="bandit", scope="bandit", source="s", content=b"2", full=True, taken_at=later,
                               findings=[finding(i).model_copy(update={"message": "new"}) for i in IDS[1:3]], batch=1)
    assert (counts["updated"], counts["fixed"]) == (2, 1)
    by_id = {f.id: f for f in store.list_findings(None)}
    assert by_id[IDS[1]].message == "new" and by_id[IDS[1]].first_seen == AT and by_id[IDS[1]].last_seen == later
    assert by_id[IDS[0]].status == "fixed" and by_id[IDS[0]].fixed_at == later


def _cache_size(conn) -> int:
    return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_a_scan_gives_the_page_cache_back(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}", "github.com/o/r")
    other = Store(f"sqlite:///{tmp_path / 's.db'}", "github.com/o/other")
    try:
        with store.engine.connect() as conn:
            before = _cache_size(conn)
            with bulk_page_cache(conn, kib=4096):
                assert _cache_size(conn) == -4096
            assert _cache_size(conn) == before
            with pytest.raises(ZeroDivisionError), bulk_page_cache(conn):
                1 / 0  # noqa: B018
            assert _cache_size(conn) == before
        store.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", full=True,
                          findings=[finding("f1")])
        with pytest.raises(StoreError, match="already in this store for repo"):  # fails inside the scan
            other.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", full=True,
                              findings=[finding("f1")])
        for s in (store, other):
            with s.engine.connect() as conn:
                assert _cache_size(conn) == before
        assert [f.id for f in store.list_findings()] == ["f1"]
    finally:
        store.close()
        other.close()
