"""Concurrent reviews and concurrent fix runs on one real store (a SQLite file, a PostgreSQL database), from
separate processes: every state change is one compare-and-set under the store's write lock, so exactly one of
conflicting decisions wins and no step is written twice."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from agent.models import Finding, Location, Proposal, Validation
from agent.store import Store

DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def _seed(db: str, state: str = "validated") -> str:
    store = Store(db)
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B602", message="m",
                                        location=Location(path="app.py", start_line=1))])
    p = store.add_proposal(Proposal(id="p1abcdef", finding_id="f1", kind="patch", engine="builtin", diff=DIFF))
    if state == "validated":
        store.update_proposal(p.model_copy(update={"validation": Validation(applied=True, passed=True)}))
        store.transition(p.id, "validated", "suture", "all checks passed")
    store.close()
    return "p1abcdef"


def _review(db: str, decision: str, who: str, barrier, results) -> None:
    from agent.errors import SutureError
    from agent.review import service

    store = Store(db)
    barrier.wait()
    try:
        if decision == "approve":
            service.approve(store, "p1abcdef", who)
        else:
            service.reject(store, "p1abcdef", who, "not like this")
        results.put((who, "ok"))
    except SutureError as exc:
        results.put((who, str(exc)))
    finally:
        store.close()


def _fix_step(db: str, barrier, results) -> None:
    """What one `suture fix` run does with its validated draft (agent.attempt._patch), many at the same moment."""
    store = Store(db)
    try:
        draft = Proposal(id="p1abcdef", finding_id="f1", kind="patch", engine="builtin", diff=DIFF)
        barrier.wait()
        stored = store.add_proposal(draft)
        if stored.state == "drafted":
            store.update_proposal(stored.model_copy(update={"validation": Validation(applied=True, passed=True)}))
            store.transition(stored.id, "validated", "suture", "all checks passed")
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports whatever a run raised
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        store.close()


def _run_all(target, arg_sets) -> list:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(arg_sets))
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in arg_sets]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_three_concurrent_reviewers_exactly_one_wins(store_url: str):
    db = store_url
    pid = _seed(db)
    outcomes = dict(_run_all(_review, [(db, "approve", "alice"), (db, "reject", "bob"), (db, "approve", "carol")]))
    winners = [who for who, res in outcomes.items() if res == "ok"]
    assert len(winners) == 1, outcomes
    store = Store(db)
    history = store.transitions(pid)
    decided = [t for t in history if t.to_state in ("approved", "rejected")]
    assert [t.actor for t in decided] == winners
    verb = "approved" if decided[0].to_state == "approved" else "rejected"
    for who, res in outcomes.items():
        if who not in winners:
            assert f"is no longer validated: {winners[0]} {verb} it at" in res, res
    assert store.audit() == []
    store.close()


def test_concurrent_fix_runs_write_each_step_once(store_url: str):
    db = store_url
    Store(db).close()
    store = Store(db)
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B602", message="m",
                                        location=Location(path="app.py", start_line=1))])
    store.close()
    outcomes = _run_all(_fix_step, [(db,)] * 3)
    assert outcomes == ["ok"] * 3
    store = Store(db)
    history = store.transitions("p1abcdef")
    assert [(t.from_state, t.to_state) for t in history] == [(None, "drafted"), ("drafted", "validated")]
    assert store.get_proposal("p1abcdef").state == "validated"
    assert store.audit() == []
    store.close()


def test_a_decision_after_another_reviewer_decided_names_them(tmp_path: Path):
    """Sequential, the same rule: a reviewer who saw the proposal awaiting review cannot overturn another's
    decision by accident; withdrawing an approval is the explicit --retract."""
    from agent.errors import SutureError
    from agent.review import service

    db = f"sqlite:///{tmp_path / 's.db'}"
    pid = _seed(db)
    store = Store(db)
    service.approve(store, pid, "alice")
    with pytest.raises(SutureError, match="no longer validated: alice approved it at .*--retract"):
        service.reject(store, pid, "bob", "no")
    with pytest.raises(SutureError, match="no longer validated: alice approved it at"):
        service.approve(store, pid, "carol")
    assert service.reject(store, pid, "bob", "found a problem", retract=True).state == "rejected"
    with pytest.raises(SutureError, match="no longer approved: bob rejected it at"):
        store.transition(pid, "exported", "alice", expected="approved")
    assert [t.to_state for t in store.transitions(pid)] == ["drafted", "validated", "approved", "rejected"]
    store.close()
