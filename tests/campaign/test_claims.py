"""The store side of campaigns, on SQLite and PostgreSQL: concurrent claims take each item once, limits are
checked in the claim, a lease that ran out can be taken over (and the old holder can no longer finish), a
closed campaign hands out nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from agent.store import Store, StoreError
from agent.store.campaigns import campaign_items_t

LEASE = timedelta(minutes=10)


def _items(n: int, repos=("r1", "r2")) -> list[dict]:
    return [{"repo": repos[i % len(repos)], "finding_id": f"f{i:03d}", "score": 100.0 - i, "team": "t",
             "lane": "now", "tier": 2, "severity": "high", "rule_id": "R"} for i in range(n)]


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def test_concurrent_claims_take_each_item_once_in_rank_order(store):
    store.create_campaign("c", selectors={}, repos={"r1": "/x", "r2": "/y"}, items=_items(40))
    taken: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while True:
            got = store.claim_item("c", f"w{n}", LEASE)
            if isinstance(got, str):
                assert got == "empty"
                return
            with lock:
                taken.append(got["finding_id"])
            assert store.finish_item(got["id"], f"w{n}", "done", outcome="ok")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == [f"f{i:03d}" for i in range(40)]  # every item, none twice
    items = store.campaign_items("c")
    assert [i["finding_id"] for i in items] == [f"f{i:03d}" for i in range(40)]  # rank order kept
    assert all(i["state"] == "done" and i["attempts"] == 1 for i in items)


def test_max_proposals_counts_proposals_and_live_claims(store):
    store.create_campaign("c", selectors={}, repos={}, items=_items(5), max_proposals=2)
    a = store.claim_item("c", "w1", LEASE)
    b = store.claim_item("c", "w2", LEASE)
    assert a["finding_id"] == "f000" and b["finding_id"] == "f001"
    assert store.claim_item("c", "w3", LEASE) == "busy"  # two live claims may use up the limit
    assert store.finish_item(a["id"], "w1", "done", outcome="no draft: nothing to do")  # no proposal
    c = store.claim_item("c", "w1", LEASE)
    assert c["finding_id"] == "f002"
    assert store.finish_item(b["id"], "w2", "done", proposal_id="p1")
    assert store.finish_item(c["id"], "w1", "done", proposal_id="p2")
    assert store.claim_item("c", "w1", LEASE) == "max_proposals"


def test_budget_stops_claims(store):
    store.create_campaign("c", selectors={}, repos={}, items=_items(3), budget_usd=0.5)
    a = store.claim_item("c", "w", LEASE)
    store.finish_item(a["id"], "w", "done", proposal_id="p", cost_usd=0.6)
    assert store.claim_item("c", "w", LEASE) == "budget"


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(store):
    store.create_campaign("c", selectors={}, repos={}, items=_items(1))
    old = store.claim_item("c", "dead-worker", LEASE)
    assert store.claim_item("c", "w2", LEASE) == "empty"  # a live lease is respected
    with store.engine.begin() as conn:  # the holder went silent 11 minutes ago
        conn.execute(campaign_items_t.update().values(claimed_at=old["claimed_at"] - timedelta(minutes=11)))
    new = store.claim_item("c", "w2", LEASE)
    assert new["id"] == old["id"] and new["attempts"] == 2 and new["claimed_by"] == "w2"
    assert not store.finish_item(old["id"], "dead-worker", "done", proposal_id="late")
    assert store.finish_item(new["id"], "w2", "done", proposal_id="p")
    assert store.campaign_items("c")[0]["proposal_id"] == "p"


def test_release_renew_close_and_names(store):
    store.create_campaign("c", selectors={"rules": ["B6*"]}, repos={}, items=_items(2), owner="sec")
    with pytest.raises(StoreError, match="exists already"):
        store.create_campaign("c", selectors={}, repos={}, items=[])
    with pytest.raises(StoreError, match="no campaign"):
        store.claim_item("nope", "w", LEASE)
    got = store.claim_item("c", "w", LEASE)
    assert store.claimants("c") == ["w"]
    assert store.renew_claims("c", ["w"]) == 1
    assert store.release_items("c", ["w"]) == 1
    assert store.campaign_items("c")[0]["state"] == "pending"
    assert store.claim_item("c", "w2", LEASE)["id"] == got["id"]
    store.close_campaign("c")
    assert store.claim_item("c", "w3", LEASE) == "closed"
    with pytest.raises(StoreError, match="closed already"):
        store.close_campaign("c")
    assert [c["name"] for c in store.list_campaigns()] == ["c"]
    assert store.get_campaign("c")["selectors"] == {"rules": ["B6*"]}
