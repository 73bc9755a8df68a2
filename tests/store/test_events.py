"""The store's history (agent/store/events.py): every scan, finding status change, proposal change, review and
export is an event written with its change; scans taken at a given time (a backfilled history) give first-seen
and fixed-at times that match a hand computation; repos register on first use. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent import outcomes
from agent.models import Finding, Location, Proposal
from agent.store import Store, StoreError
from tests.store_backends import sql

REPO = "github.com/org/app"
ADA = "Ada Reviewer <ada@example.com>"
DAY0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def finding(fid: str, severity: str = "high") -> Finding:
    return Finding(id=fid, tool="bandit", rule_id="B602", message="m", severity=severity,
                   location=Location(path=f"{fid}.py", start_line=1))


def scan(store: Store, day: int, *ids: str, full: bool = True) -> dict[str, int]:
    return store.record_scan(tool="bandit", scope="bandit", source=f"ci-day{day}", content=f"{day}:{ids}".encode(),
                             findings=[finding(i) for i in ids], full=full, taken_at=DAY0 + timedelta(days=day))


@pytest.fixture
def store(store_url):
    s = Store(store_url, REPO)
    yield s
    s.close()


def test_scans_and_what_they_change_are_events_at_the_time_the_scan_was_taken(store: Store):
    scan(store, 0, "a", "b")
    scan(store, 2, "a")  # b is gone
    events = store.events()
    assert [(e.kind, e.subject, e.detail.get("to")) for e in events] == [
        ("finding", "a", "open"), ("finding", "b", "open"), ("scan", "1", None),
        ("finding", "b", "fixed"), ("scan", "2", None)]
    assert {e.repo for e in events} == {REPO}
    assert [e.at for e in events if e.kind == "scan"] == [DAY0, DAY0 + timedelta(days=2)]
    assert events[2].detail["counts"]["new"] == 2 and events[2].detail["full"] is True
    assert store.events(kinds=["scan"], since=DAY0 + timedelta(days=1))[0].subject == "2"


def test_proposal_changes_reviews_and_exports_are_events_of_their_own_kinds(store: Store):
    scan(store, 0, "a")
    p = store.add_proposal(Proposal(id="p0000001", finding_id="a", kind="patch", engine="builtin", diff="d"))
    store.transition(p.id, "validated", "suture", "ok")
    store.transition(p.id, "approved", ADA, "lgtm", expected="validated")
    store.transition(p.id, "exported", ADA, "to branch", expected="approved", target="suture/fix-a")
    with pytest.raises(StoreError):
        store.transition(p.id, "drafted", ADA, expected="exported")  # refused: no event either
    history = store.events(subject=p.id)
    assert [(e.kind, e.actor, e.detail["from"], e.detail["to"]) for e in history] == [
        ("proposal", "suture", None, "drafted"), ("proposal", "suture", "drafted", "validated"),
        ("review", ADA, "validated", "approved"), ("export", ADA, "approved", "exported")]
    assert history[-1].detail["target"] == "suture/fix-a" and history[-1].detail["finding_id"] == "a"
    assert sql(store.url, "SELECT DISTINCT repo FROM transitions") == [(REPO,)]


def test_finding_status_changes_by_people_are_events(store: Store):
    scan(store, 0, "a", "b")
    store.set_finding_status("a", "dismissed", ADA, "test code")
    store.accept_risk("b", datetime.now(UTC) + timedelta(days=30), "compensating control", ADA)
    changes = [(e.subject, e.actor, e.detail["from"], e.detail["to"]) for e in store.events(kinds=["finding"])
               if e.actor != "scanner"]
    assert changes == [("a", ADA, "open", "dismissed"), ("b", ADA, "open", "risk_accepted")]
    assert sql(store.url, "SELECT DISTINCT repo FROM finding_events") == [(REPO,)]


def test_a_scan_that_fails_part_way_writes_no_event_and_no_finding(store: Store):
    def broken():
        yield finding("a")
        raise RuntimeError("the log ended early")

    with pytest.raises(RuntimeError):
        store.record_scan(tool="bandit", scope="bandit", source="x", content=b"x", findings=broken(), full=True)
    assert store.events() == [] and store.list_findings(None) == []


def test_backfilled_scans_give_the_hand_computed_first_seen_and_fixed_at(store: Store):
    """Full scans, by day: 0: a, b. 4: a, c. 10: c. Then two artifacts found late: 7: a, c and 8: c. By hand: a
    first seen day 0, last seen day 7, fixed day 8 (the first full scan after day 7 without it); b first seen 0,
    fixed 4; c first seen 4, open. A late older scan re-opens nothing fixed after it and moves fixed_at back."""
    for day, ids in ((0, ("a", "b")), (4, ("a", "c")), (10, ("c",))):
        scan(store, day, *ids)
    assert {t.finding_id: t.fixed_at for t in store.finding_times()}["a"] == DAY0 + timedelta(days=10)
    assert scan(store, 7, "a", "c")["reopened"] == 0
    scan(store, 8, "c")
    times = {t.finding_id: t for t in store.finding_times()}
    day = {k: (t.first_seen - DAY0).days for k, t in times.items()}
    fixed = {k: (t.fixed_at - DAY0).days if t.fixed_at else None for k, t in times.items()}
    assert day == {"a": 0, "b": 0, "c": 4}
    assert fixed == {"a": 8, "b": 4, "c": None}
    assert {k: t.status for k, t in times.items()} == {"a": "fixed", "b": "fixed", "c": "open"}
    assert [t.severity for t in times.values()] == ["high"] * 3


def test_an_older_scan_moves_first_seen_back(store: Store):
    scan(store, 5, "a")
    scan(store, 1, "a", full=False)
    assert (store.finding_times()[0].first_seen - DAY0).days == 1


def test_in_order_history_and_a_reopened_finding(store: Store):
    scan(store, 0, "a")
    scan(store, 3, "b")  # a fixed at day 3
    assert {t.finding_id: t.fixed_at for t in store.finding_times()}["a"] == DAY0 + timedelta(days=3)
    scan(store, 5, "a", "b")  # a is back: open, no fixed_at
    scan(store, 9, "b", full=False)  # a partial scan closes nothing
    times = {t.finding_id: t for t in store.finding_times()}
    assert times["a"].status == "open" and times["a"].fixed_at is None
    assert [e.detail["to"] for e in store.events(kinds=["finding"], subject="a")] == ["open", "fixed", "open"]


def test_repos_register_on_first_use_and_list_store_wide(store_url: str):
    Store(store_url, "github.com/org/one").close()
    Store(store_url, "github.com/org/two").close()
    Store(store_url, "github.com/org/one").close()
    everyone = Store(store_url)
    try:
        assert [r["repo"] for r in everyone.list_repos()] == ["github.com/org/one", "github.com/org/two"]
        assert everyone.add_repo("local:/srv/three", {"path": "/srv/three"}) is True
        assert everyone.add_repo("local:/srv/three") is False
        assert everyone.list_repos()[-1]["detail"] == {"path": "/srv/three"}
        with pytest.raises(StoreError):
            everyone.add_repo("  ")
    finally:
        everyone.close()


def test_events_and_outcomes_carry_the_repo_and_listings_narrow_to_it(store_url: str):
    one, two = Store(store_url, "github.com/org/one"), Store(store_url, "github.com/org/two")
    try:
        scan(one, 0, "a")
        scan(two, 0, "b")
        outcomes.record_outcome(one, "a", "fix", "k" * 64, "no_fixer", True, "no builtin fixer")
        assert {e.subject for e in one.events(kinds=["finding"])} == {"a"}
        assert sql(store_url, "SELECT repo FROM outcomes") == [("github.com/org/one",)]
        everyone = Store(store_url)
        assert {e.repo for e in everyone.events()} == {"github.com/org/one", "github.com/org/two"}
        assert {t.finding_id for t in everyone.finding_times()} == {"a", "b"}
        everyone.close()
    finally:
        one.close()
        two.close()
