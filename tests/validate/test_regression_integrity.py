"""A kept security regression test is part of what was validated and reviewed: its path and text are hashed into
the history (the `regression_test_hash` fact), so a test changed in the store behind suture's back is refused by
export and reported by `suture audit verify`; proposals recorded before that hash existed keep verifying.

End to end through the real `suture` entry point on a real SQLite store file, edited with plain SQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agent.export.service import _check_regression_test
from agent.models import Finding, Location, Proposal, RegressionTest, Validation
from agent.review import audit, service
from agent.store import Store
from tests.conftest import git
from tests.test_e2e import suture
from tests.validate.test_three_states_e2e import make_repo, yaml_finding

TEST = RegressionTest(path="tests/test_suture_regression_x.py", content="def test_a():\n    assert 0\n",
                      source="builtin:yaml_load", before="failed", after="passed", tests=["t::test_a"], kept=True,
                      covers_change=True)


def _tamper(db: Path, pid: str, change) -> None:
    with sqlite3.connect(db) as conn:
        data = json.loads(conn.execute("select data from proposals where id = ?", (pid,)).fetchone()[0])
        change(data["validation"]["regression"])
        conn.execute("update proposals set data = ? where id = ?", (json.dumps(data), pid))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_regression_test_edited_in_the_store_is_refused_by_export_and_found_by_audit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, with_tests=True)
    fixed = json.loads(suture(repo, "fix", "--finding", yaml_finding(repo)["id"], "--format", "json").stdout)[0]
    assert fixed["state"] == "validated", fixed  # by the builtin yaml_load template's test
    pid = fixed["id"]
    suture(repo, "review", "approve", pid, "--reviewer", "Rita <r@x>")
    db = repo / ".suture" / "suture.db"
    clean = tmp_path / "clean.db"
    clean.write_bytes(db.read_bytes())

    def planted(r: dict) -> None:
        r["content"] = r["content"].replace("def test_", "import os\nos.system('id')\n\n\ndef test_", 1)

    for change in (planted, lambda r: r.update(path="app/config.py")):
        db.write_bytes(clean.read_bytes())
        _tamper(db, pid, change)
        error = suture(repo, "export", pid, expect=2).stderr
        assert "changed behind suture's back" in error and "regression_test_hash changed after" in error, error
        report = json.loads(suture(repo, "audit", "verify", "--format", "json", expect=1).stdout)
        assert [p["kind"] for p in report["problems"]] == ["proposal-edited"]
        assert "regression_test_hash" in report["problems"][0]["message"]
        assert git(repo, "branch", "--list", "suture/*") == ""

    db.write_bytes(clean.read_bytes())
    suture(repo, "audit", "verify")
    branch = json.loads(suture(repo, "export", pid, "--format", "json").stdout)[0]["branch"]
    assert git(repo, "log", "--format=%s", f"main..{branch}").startswith("test(security): regression test")


def _store_with(tmp_path: Path, regression: RegressionTest | None) -> tuple[Store, str]:
    tmp_path.mkdir(exist_ok=True)
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.record_scan(tool="bandit", scope="bandit", source="s", content=b"s", full=True,
                      findings=[Finding(id="f1", tool="bandit", rule_id="B506", message="m",
                                        location=Location(path="app.py", start_line=1))])
    p = store.add_proposal(Proposal(id="aaaa1111", finding_id="f1", kind="patch", engine="builtin", diff="d"))
    store.update_proposal(p.model_copy(update={"validation": Validation(applied=True, passed=True,
                                                                        regression=regression)}))
    store.transition(p.id, "validated", "suture", "all checks passed")
    service.approve(store, p.id, "Alice <a@x>", "ok")
    return store, p.id


def _edited(store: Store, pid: str, **changes) -> Proposal:
    p = store.get_proposal(pid)
    v = p.validation
    return p.model_copy(update={"validation": v.model_copy(update={"regression": v.regression.model_copy(
        update=changes)})})


def test_the_export_check_names_the_test_that_differs_from_the_validated_one(tmp_path: Path) -> None:
    """The check export makes after the chain's: against the facts recorded when validation ended."""
    store, pid = _store_with(tmp_path, TEST)
    recorded = store.validated_facts(pid)
    assert recorded["regression_test_hash"] == audit.regression_test_hash(store.get_proposal(pid))
    _check_regression_test(store.get_proposal(pid), recorded)
    with pytest.raises(Exception, match=r"regression test tests/test_suture_regression_x.py is not the one that "
                                        r"was validated \(path and text sha256"):
        _check_regression_test(_edited(store, pid, content="def test_a():\n    pass\n"), recorded)
    with pytest.raises(Exception, match="no longer carries"):
        _check_regression_test(_edited(store, pid, kept=False), recorded)
    store.close()

    discarded, pid = _store_with(tmp_path / "d", TEST.model_copy(update={"kept": False}))
    recorded = discarded.validated_facts(pid)
    assert recorded["regression_test_hash"] is None
    with pytest.raises(Exception, match="that its validation did not keep"):
        _check_regression_test(_edited(discarded, pid, kept=True), recorded)
    discarded.close()


def test_proposals_recorded_before_the_test_hash_keep_verifying(tmp_path: Path, monkeypatch) -> None:
    """A history written by a suture without `regression_test_hash`: nothing is reported, export's check passes,
    and an edited test is still found through the validation digest."""
    def old_facts(p: Proposal) -> dict:
        facts = audit.proposal_facts(p)
        del facts["regression_test_hash"]
        return facts

    with monkeypatch.context() as m:
        m.setattr("agent.store.proposals.proposal_facts", old_facts)
        store, pid = _store_with(tmp_path, TEST)
    recorded = store.validated_facts(pid)
    assert "regression_test_hash" not in recorded
    assert store.audit() == []
    _check_regression_test(store.get_proposal(pid), recorded)
    with pytest.raises(Exception, match="is not the one that was validated"):
        _check_regression_test(_edited(store, pid, content="x = 1\n"), recorded)
    store.close()
    _tamper(tmp_path / "s.db", pid, lambda r: r.update(content="x = 1\n"))
    problems = Store(f"sqlite:///{tmp_path / 's.db'}").audit()
    assert [p.kind for p in problems] == ["proposal-edited"] and "validation changed" in problems[0].message
