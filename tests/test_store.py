"""Store: ingest merge rules, proposal state machine, transition log, cache — on a real SQLite file and on a
real PostgreSQL database (tests/store_backends.py; skipped with the reason when PostgreSQL is absent)."""

from datetime import timedelta

import pytest

from agent.models import Finding, Location, Proposal, Validation, Verdict, utcnow
from agent.store import Store, StoreError


def make_finding(fid: str, path: str = "app.py", line: int = 3, rule: str = "B602") -> Finding:
    return Finding(id=fid, tool="bandit", rule_id=rule, message="m", location=Location(path=path, start_line=line))


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def test_same_scan_twice_changes_nothing(store):
    findings = [make_finding("a"), make_finding("b")]
    first = store.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", findings=findings, full=True)
    before = {f.id: f for f in store.list_findings(None)}
    second = store.record_scan(tool="bandit", scope="bandit", source="s", content=b"x", findings=findings, full=True)
    after = {f.id: f for f in store.list_findings(None)}
    assert first["new"] == 2 and second["duplicate_scan"] == 1 and second["new"] == 0
    assert before == after


def test_full_scan_marks_missing_fixed_and_reappearance_reopens(store):
    t0 = utcnow()
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1",
                      findings=[make_finding("a"), make_finding("b")], full=True, at=t0)
    t1 = t0 + timedelta(hours=1)
    counts = store.record_scan(tool="bandit", scope="bandit", source="2", content=b"2",
                               findings=[make_finding("a", line=9)], full=True, at=t1)
    assert counts["fixed"] == 1 and counts["updated"] == 1
    b = store.get_finding("b")
    assert b.status == "fixed" and b.fixed_at == t1
    a = store.get_finding("a")
    assert a.first_seen == t0 and a.last_seen == t1 and a.location.start_line == 9
    counts = store.record_scan(tool="bandit", scope="bandit", source="3", content=b"3",
                               findings=[make_finding("a"), make_finding("b")], full=True, at=t1)
    assert counts["reopened"] == 1 and store.get_finding("b").status == "open"
    assert [e["to_status"] for e in store.finding_events("b")] == ["fixed", "open"]


def test_partial_scan_and_other_scope_do_not_mark_fixed(store):
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[make_finding("a")], full=True)
    store.record_scan(tool="bandit", scope="bandit", source="2", content=b"2", findings=[], full=False)
    store.record_scan(tool="semgrep", scope="semgrep", source="3", content=b"3", findings=[], full=True)
    assert store.get_finding("a").status == "open"


def _patch(pid="p1", fid="a"):
    return Proposal(id=pid, finding_id=fid, kind="patch", engine="builtin", diff="--- a\n+++ b\n")


def test_patch_state_machine(store):
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[make_finding("a")], full=True)
    store.add_proposal(_patch())
    with pytest.raises(StoreError, match="not approved"):
        store.transition("p1", "exported", "alice")
    with pytest.raises(StoreError, match="not been validated"):
        store.transition("p1", "approved", "alice")
    p = store.get_proposal("p1").model_copy(update={"validation": Validation(applied=True, passed=True)})
    store.update_proposal(p)
    store.transition("p1", "validated", "suture")
    with pytest.raises(StoreError, match="named actor"):
        store.transition("p1", "approved", " ")
    store.transition("p1", "approved", "Alice <a@x>", "looks right")
    with pytest.raises(StoreError, match="can no longer change"):
        store.update_proposal(store.get_proposal("p1").model_copy(update={"diff": "other"}))
    store.transition("p1", "exported", "Alice <a@x>")
    history = store.transitions("p1")
    assert [(t.from_state, t.to_state, t.actor) for t in history] == [
        (None, "drafted", "suture"), ("drafted", "validated", "suture"),
        ("validated", "approved", "Alice <a@x>"), ("approved", "exported", "Alice <a@x>")]
    assert history[2].comment == "looks right"


def test_failed_patch_needs_override(store):
    store.add_proposal(_patch())
    store.transition("p1", "failed", "suture")
    with pytest.raises(StoreError, match="--override"):
        store.transition("p1", "approved", "bob")
    with pytest.raises(StoreError, match="--reason"):
        store.transition("p1", "approved", "bob", "  ", override=True)
    p = store.transition("p1", "approved", "bob", "flaky suite", override=True)
    assert p.state == "approved"
    last = store.transitions("p1")[-1]
    assert last.override is True and last.comment == "flaky suite"
    assert store.audit() == []


def test_override_is_only_for_failed_patches(store):
    store.add_proposal(_patch())
    store.transition("p1", "validated", "suture")
    with pytest.raises(StoreError, match="only for"):
        store.transition("p1", "approved", "bob", "why not", override=True)


def test_dismissal_approval_dismisses_finding(store):
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[make_finding("a")], full=True)
    v = Verdict(verdict="false_positive", confidence=0.9, rationale="constant command")
    store.add_proposal(Proposal(id="d1", finding_id="a", kind="dismissal", engine="builtin", verdict=v))
    assert store.get_finding("a").status == "open"
    with pytest.raises(StoreError):
        store.transition("d1", "exported", "carol")
    store.transition("d1", "approved", "carol")
    assert store.get_finding("a").status == "dismissed"
    assert store.finding_events("a")[-1]["actor"] == "carol"


def test_dismissal_cannot_carry_edits():
    with pytest.raises(ValueError, match="no edits"):
        Proposal(id="x", finding_id="a", kind="dismissal", engine="e", diff="d")


def test_prefix_lookup_and_errors(store):
    store.add_proposal(_patch("abc123"))
    store.add_proposal(_patch("abd456"))
    assert store.get_proposal("abc").id == "abc123"
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_proposal("ab")
    with pytest.raises(StoreError, match="no proposal"):
        store.get_proposal("zzz")
    with pytest.raises(StoreError, match="no finding"):
        store.get_finding("nope")


def test_ids_match_by_literal_prefix_not_sql_wildcards(store):
    """`%` and `_` are plain characters in an id prefix (they were LIKE wildcards: '%e798' opened 0e798b1a)."""
    store.add_proposal(_patch("0e798b1a"))
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1",
                      findings=[make_finding("0e798b1a77")], full=True)
    for prefix in ("%e798", "_e798", "0e7_8", "%", "____"):
        with pytest.raises(StoreError, match="no proposal"):
            store.get_proposal(prefix)
        with pytest.raises(StoreError, match="no finding"):
            store.get_finding(prefix + "b")
    assert store.get_proposal("0e79").id == "0e798b1a"
    assert store.get_finding("0e798").id == "0e798b1a77"


def test_cache_roundtrip_and_persistence(store_url):
    s = Store(store_url)
    s.cache_put("k", {"texts": ["hi"]})
    s.cache_put("k", {"texts": ["again"]})
    s.close()
    s2 = Store(store_url)
    assert s2.cache_get("k") == {"texts": ["again"]} and s2.cache_get("other") is None
    s2.close()


def test_verdicts_are_kept_and_do_not_close_findings(store):
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[make_finding("a")], full=True)
    store.save_verdict("a", Verdict(verdict="uncertain", confidence=0.5, rationale="x"), "builtin")
    store.save_verdict("a", Verdict(verdict="false_positive", confidence=0.9, rationale="y"), "llm:m")
    assert store.latest_verdicts()["a"].verdict == "false_positive"
    assert store.get_finding("a").status == "open"


def test_risk_acceptance_and_expiry(store):
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[make_finding("a")], full=True)
    with pytest.raises(StoreError, match="reason"):
        store.accept_risk("a", utcnow() + timedelta(days=3), " ", "ann")
    with pytest.raises(StoreError, match="future"):
        store.accept_risk("a", utcnow() - timedelta(days=1), "r", "ann")
    until = utcnow() + timedelta(days=3)
    store.accept_risk("a", until, "compensating WAF rule", "ann")
    f = store.get_finding("a")
    assert f.status == "risk_accepted" and f.risk_accepted_until == until
    assert store.expire_acceptances(utcnow()) == []
    assert store.expire_acceptances(until + timedelta(seconds=1)) == ["a"]
    assert store.get_finding("a").status == "open"
    events = store.finding_events("a")
    assert "compensating WAF rule" in events[0]["comment"] and events[-1]["comment"] == "risk acceptance expired"


def test_records_round_trip_whole_including_text_the_fast_serializer_refuses(store):
    # every field survives the JSON column; a lone surrogate (possible in SARIF text) falls back to json.dumps
    odd = Finding(id="s" * 64, tool="semgrep", rule_id="r", message="caf\u00e9 \ud800", cwe=[89], cve=["CVE-2024-1"],
                  security_severity=7.5, tags=["t"], partial_fingerprints={"k": "v"},
                  location=Location(path="p.py", start_line=2, end_line=4, snippet="x\ud800"))
    plain = make_finding("p" * 64)
    store.record_scan(tool="semgrep", scope="semgrep", source="s", content=b"u", findings=[odd, plain], full=True)
    for finding in (odd, plain):
        stored = store.get_finding(finding.id)
        assert stored.model_dump(exclude={"first_seen", "last_seen"}) == finding.model_dump(
            exclude={"first_seen", "last_seen"})


def test_lone_surrogate_in_a_scanner_message_survives_listing(store):
    """json.load accepts "\\ud800" in SARIF; the store must list such a finding, not fail on it."""
    odd = make_finding("s").model_copy(update={"message": "bad byte \ud800 in message"})
    store.record_scan(tool="bandit", scope="bandit", source="1", content=b"1", findings=[odd], full=True)
    assert store.list_findings()[0].message == "bad byte \ud800 in message"
    assert store.get_finding("s").message == odd.message


def test_scanner_text_any_backend_refuses_is_kept_whole(store):
    """SARIF can name a tool or rule with a NUL character or at any length: PostgreSQL refuses NUL in text and
    enforces VARCHAR lengths where SQLite does neither; the store takes both, and the record reads back exact."""
    odd = Finding(id="n" * 64, tool="x\x00" + "t" * 100, rule_id="r\x00" + "r" * 400, message="m\x00",
                  location=Location(path="dir\x00/" + "p" * 300 + ".py", start_line=1))
    store.record_scan(tool=odd.tool, scope=odd.tool, source="log\x00.sarif", content=b"n", findings=[odd], full=True)
    assert store.list_findings() == [store.get_finding(odd.id)]
    assert store.get_finding(odd.id).model_dump(exclude={"first_seen", "last_seen"}) == odd.model_dump(
        exclude={"first_seen", "last_seen"})
    assert store.record_scan(tool=odd.tool, scope=odd.tool, source="s", content=b"m", findings=[], full=True)[
        "fixed"] == 1
