"""A validation stored before Validation gained a key (coverage, then regression and regression_note) keeps
verifying against the digest its history recorded: upgrading suture must not make `audit verify` report an honest
old proposal as edited, while an edit to it is still caught."""

from __future__ import annotations

from agent.models import Proposal, TestRun, Validation
from agent.review.audit import canonical, digest, facts_drift, proposal_facts


def _proposal(**validation) -> Proposal:
    v = Validation(applied=True, passed=True, finding_gone=True, baseline=TestRun(ran=True, passed=3),
                   patched=TestRun(ran=True, passed=3), **validation)
    return Proposal(id="p" * 16, finding_id="f1", kind="patch", engine="builtin", diff="--- a\n+++ b\n", validation=v)


def _recorded_by_old_suture(p: Proposal) -> dict:
    """The facts a suture from before the regression test recorded: its digest never saw the newer keys."""
    dumped = p.validation.model_dump(mode="json")
    for key in ("coverage", "regression", "regression_note"):
        dumped.pop(key)
    facts = proposal_facts(p)
    facts["validation"] = {**facts["validation"], "digest": digest(canonical(dumped))}
    del facts["regression_test_hash"]
    return facts


def test_an_old_validation_still_verifies():
    p = _proposal()
    assert facts_drift(_recorded_by_old_suture(p), proposal_facts(p), False, p) == []


def test_an_edited_old_validation_is_still_caught():
    p = _proposal()
    recorded = _recorded_by_old_suture(p)
    edited = p.model_copy(update={"validation": p.validation.model_copy(update={"reasons": ["planted"]})})
    assert facts_drift(recorded, proposal_facts(edited), False, edited) == ["validation"]
    noted = p.model_copy(update={"validation": p.validation.model_copy(update={"regression_note": "planted"})})
    assert facts_drift(recorded, proposal_facts(noted), False, noted) == ["validation"]
