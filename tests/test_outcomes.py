"""A re-run with nothing new skips finished work (agent/outcomes.py): fix and classify on a copy of
examples/billing with a real bandit scan, real worktrees, tests and re-scans, a real SQLite store, and the CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agent import app, outcomes
from agent.classify import classify_findings
from agent.config import Settings
from agent.engines.builtin.engine import BuiltinEngine
from agent.engines.llm import LLMEngine
from agent.llm.prompts import prompts_dir
from agent.models import Finding
from agent.remediate import fix_findings
from agent.store import Store
from tests.test_e2e import suture

REVIEWER = "Ada Reviewer <ada@example.com>"


class CountingEngine(BuiltinEngine):
    """The builtin engine, counting the findings it was asked to classify and draft."""

    def __init__(self) -> None:
        super().__init__()
        self.classified: list[str] = []
        self.drafted: list[str] = []

    def classify(self, finding, context, project_root):
        self.classified.append(finding.id)
        return super().classify(finding, context, project_root)

    def draft(self, finding, context, project_root, feedback=None):
        self.drafted.append(finding.id)
        return super().draft(finding, context, project_root, feedback)


@pytest.fixture
def session(example_repo: Path):
    session = app.open_session(example_repo, overrides={"workers": 1, "scanners": ["bandit"]})
    app.scan_project(session, ["bandit"])
    yield session
    session.store.close()


def _pick(session, rule: str, path: str) -> Finding:
    return next(f for f in session.store.list_findings() if f.rule_id == rule and f.location.path == path)


def test_second_fix_skips_final_outcomes_and_retry_failed_attempts_again(session) -> None:
    no_fixer = _pick(session, "B607", "billing/buildinfo.py")  # no builtin fixer handles B607
    weak_hash = _pick(session, "B324", "billing/links.py")  # the builtin weak_hash fixer validates
    findings = [no_fixer, weak_hash]
    first_engine = CountingEngine()
    first = fix_findings(session.ws, session.store, findings, first_engine, session.settings)
    assert sorted(first_engine.drafted) == sorted(f.id for f in findings)
    patch = next(p for p in first if p.finding_id == weak_hash.id)
    assert patch.state in ("validated", "unproven")
    # the person rejects the patch: it no longer awaits review, but its outcome at this key is final
    session.store.transition(patch.id, "rejected", REVIEWER, "not this way")

    engine, statuses = CountingEngine(), {}
    again = fix_findings(session.ws, session.store, findings, engine, session.settings,
                         lambda f, s: statuses.setdefault(f.id, s))
    assert engine.drafted == [] and engine.classified == []  # nothing was worked on again
    assert statuses[no_fixer.id].startswith("skipped: final outcome at this commit (no_fixer: no builtin fixer "
                                            "handles rule B607")
    assert re.match(r"skipped: final outcome at this commit \((validated|unproven): ", statuses[weak_hash.id])
    assert patch.id in {p.id for p in again}  # a skipped finding brings its outcome's proposal, if it has one
    assert {p.id for p in again} <= {p.id for p in first}

    retry = CountingEngine()
    fix_findings(session.ws, session.store, [no_fixer], retry, session.settings, retry_failed=True)
    assert retry.drafted == [no_fixer.id]


def test_a_changed_setting_or_commit_is_a_new_key_and_only_the_last_outcome_counts(session) -> None:
    finding = _pick(session, "B607", "billing/buildinfo.py")
    fix_findings(session.ws, session.store, [finding], BuiltinEngine(), session.settings)
    other = session.settings.model_copy(update={"fail_on_new_severity": "high"})
    engine = CountingEngine()
    fix_findings(session.ws, session.store, [finding], engine, other)
    assert engine.drafted == [finding.id]  # another result-changing setting: attempted again
    key = outcomes.outcome_key(outcomes.FIX, other, engine, session.ws.project.head)
    assert outcomes.final_outcome(session.store, finding.id, outcomes.FIX, key) is not None
    outcomes.record_outcome(session.store, finding.id, outcomes.FIX, key, "error", False, "drafting failed: x")
    assert outcomes.final_outcome(session.store, finding.id, outcomes.FIX, key) is None  # the last one decides
    again = CountingEngine()
    fix_findings(session.ws, session.store, [finding], again, other)
    assert again.drafted == [finding.id]


def test_outcome_key_holds_what_changes_a_result_and_nothing_else(tmp_path: Path) -> None:
    base, engine = Settings(), BuiltinEngine()
    key = outcomes.outcome_key(outcomes.FIX, base, engine, "a" * 40)
    assert outcomes.outcome_key(outcomes.FIX, base, engine, "b" * 40) != key
    assert outcomes.outcome_key(outcomes.CLASSIFY, base, engine, "a" * 40) != key
    for change in ({"test_command": "pytest -x"}, {"rescan": False}, {"fail_on_new_severity": "high"}, {"k": 3},
                   {"temperature": 0.7}, {"max_attempts": 1}, {"test_timeout": 10.0}, {"full_suite": False}):
        assert outcomes.outcome_key(outcomes.FIX, base.model_copy(update=change), engine, "a" * 40) != key, change
    for change in ({"workers": 7}, {"top": 3}, {"llm_concurrency": 9}, {"budget_usd": 1.0}, {"cache": False}):
        assert outcomes.outcome_key(outcomes.FIX, base.model_copy(update=change), engine, "a" * 40) == key, change
    # a model engine's key holds its model and its prompts: an edited prompt template is a new key
    prompts = tmp_path / "prompts"
    shutil.copytree(prompts_dir(), prompts)
    model = LLMEngine("m", prompts_root=prompts)  # built only: no call is made
    with_model = outcomes.outcome_key(outcomes.FIX, base, model, "a" * 40)
    assert with_model != key
    template = next(p for p in sorted((prompts / "draft").iterdir()) if p.suffix == ".j2")
    template.write_text(template.read_text(encoding="utf-8") + "\n{# changed #}\n", encoding="utf-8")
    assert outcomes.outcome_key(outcomes.FIX, base, model, "a" * 40) != with_model


def test_which_outcomes_are_final(tmp_path: Path) -> None:
    from agent.models import Proposal

    def failed(error: str, engine: str = "builtin") -> Proposal:
        return Proposal(id="p", finding_id="f", kind="patch", engine=engine, error=error)

    assert outcomes.fix_outcome(failed("no builtin fixer handles rule B101 (CWE-703)"), True)[:2] == ("no_fixer",
                                                                                                       True)
    assert outcomes.fix_outcome(failed("drafting failed: boom"), True)[:2] == ("error", False)
    assert outcomes.fix_outcome(failed("engine returned no edits", "llm:m"), False)[:2] == ("error", False)
    store = Store.open(tmp_path / "s.db")
    try:
        assert outcomes.final_outcomes(store, ["f"], outcomes.FIX, "k") == {}
        outcomes.record_outcome(store, "f", outcomes.FIX, "k", "no_fixer", True, "no fixer")
        assert outcomes.final_outcomes(store, ["f", "g"], outcomes.FIX, "k").keys() == {"f"}
        assert outcomes.final_outcomes(store, ["f"], outcomes.FIX, "other") == {}
    finally:
        store.close()


def test_second_classify_skips_findings_with_a_final_verdict(session) -> None:
    findings = [f for f in session.store.list_findings() if f.location.path.startswith("billing/")][:2]
    findings.append(_pick(session, "B101", "tests/test_accounts.py"))  # test code: the builtin engine judges it
    first = CountingEngine()
    results = classify_findings(session.ws, session.store, findings, first, session.settings)
    assert sorted(first.classified) == sorted(f.id for f in findings)
    assert results[2].verdict is not None and results[2].dismissal is not None
    engine, statuses = CountingEngine(), []
    again = classify_findings(session.ws, session.store, findings, engine, session.settings,
                              lambda f, s: statuses.append(s))
    assert engine.classified == []
    assert [r.finding.id for r in again] == [f.id for f in findings]
    assert all(r.skipped and r.skipped.startswith("final outcome at this commit") for r in again)
    assert [r.verdict for r in again] == [r.verdict for r in results]  # this engine's verdicts come back
    assert again[2].dismissal is not None and again[2].dismissal.id == results[2].dismissal.id
    assert len(statuses) == 3 and all(s.startswith("skipped: ") for s in statuses)
    retry = CountingEngine()
    classify_findings(session.ws, session.store, findings, retry, session.settings, retry_failed=True)
    assert sorted(retry.classified) == sorted(f.id for f in findings)


@pytest.mark.slow
def test_fix_cli_says_what_it_skipped_and_why(session) -> None:
    repo = session.ws.project.git_root
    finding = _pick(session, "B607", "billing/buildinfo.py")
    session.store.close()
    suture(repo, "fix", "--finding", finding.id)
    second = suture(repo, "fix", "--finding", finding.id)
    assert "skipped 1: final outcome at this commit; --retry-failed to try again" in second.stderr
    assert "no builtin fixer handles rule B607" in second.stderr
    third = suture(repo, "fix", "--finding", finding.id, "--retry-failed")
    assert "skipped" not in third.stderr
