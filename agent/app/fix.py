"""Choosing findings to fix and fixing them: draft, validate, queue a proposal for review (`fix`, `run`)."""

from __future__ import annotations

import os
from datetime import datetime

from agent.app.session import Session
from agent.app.views import ReviewQueue
from agent.engines.base import Engine
from agent.engines.registry import build_engine
from agent.errors import SutureError
from agent.models import Finding, Proposal
from agent.remediate import fix_findings


def same_spot(a: Finding, b: Finding) -> bool:
    """Two reports of one problem: same file, overlapping lines, and a shared CWE or rule — or two different
    tools flagging the very same line (their CWE choices often differ: bandit B506 says CWE-20 for yaml.load)."""
    if a.location.path != b.location.path:
        return False
    overlap = a.location.start_line <= b.location.last_line and b.location.start_line <= a.location.last_line
    same_line_other_tool = a.tool != b.tool and a.location.start_line == b.location.start_line
    return overlap and (bool(set(a.cwe) & set(b.cwe)) or a.rule_id == b.rule_id or same_line_other_tool)


def select_findings(session: Session, top: int | None, finding_id: str | None) -> tuple[list[Finding], list[Finding]]:
    """The findings to fix, best first, and those left out because one fix covers them.

    Uses triage's grouping: each group counts once against `top`. Its leading finding is fixed; findings of the
    same spot from another tool and import-level findings that fold into a use are left out (one fix covers them);
    the same rule and sink repeated in a file are fixed in the same batch, right after the leader."""
    if finding_id:
        finding = session.store.get_finding(finding_id)
        if finding.status != "open":
            raise SutureError(f"finding {finding.short_id} is {finding.status}; only open findings are fixed")
        return [finding], []
    from agent.triage.service import triage_store

    n = top or session.settings.top
    result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir)
    chosen: list[Finding] = []
    duplicates: list[Finding] = []
    for row in result.rows[:n]:
        chosen.append(row.finding)
        for member, how in row.group.members:
            if how.startswith("same rule and sink") and not same_spot(member, row.finding):
                chosen.append(member)
            else:
                duplicates.append(member)
    return chosen, duplicates


def make_engine(session: Session) -> Engine:
    """The builtin engine when no model is set, else the LLM engine (litellm imported only then), with the run's
    spend guard (`budget_usd`), the store's response cache unless `cache` is off, and `llm_concurrency`; both
    built by agent.engines.registry, as `suture eval` builds them."""
    s = session.settings
    if not s.model:
        return build_engine("builtin")
    from agent.llm import set_concurrency
    from agent.llm.budget import SpendGuard
    from agent.store import StoreResponseCache

    set_concurrency(s.llm_concurrency)
    api_base = s.api_base or os.environ.get("SUTURE_API_BASE")
    return build_engine("llm", model=s.model, api_base=api_base, temperature=s.temperature, max_tokens=s.max_tokens,
                        timeout=s.request_timeout, cache=StoreResponseCache(session.store) if s.cache else None,
                        spend=SpendGuard(s.budget_usd))


def fix(session: Session, findings: list[Finding], progress=None, redo: bool = False,
        retry_failed: bool = False) -> list[Proposal]:
    """Draft, validate and queue a proposal for each finding. A finding whose last outcome at this commit,
    engine, prompt and settings is final is skipped (reported to `progress` as "skipped: why", see
    agent.outcomes) unless `retry_failed`; one with a proposal awaiting review is skipped unless `redo`."""
    engine = make_engine(session)
    return fix_findings(session.ws, session.store, findings, engine, session.settings, progress, redo,
                        retry_failed, env=session.validation_env())




def queue(session: Session, proposals: list[Proposal]) -> ReviewQueue:
    """The review queue of these proposals (a run's), each with its finding, counts by state."""
    from agent.app.review import rows_of

    return ReviewQueue.of(rows_of(session, proposals))


def proposals_since(session: Session, started: datetime) -> list[Proposal]:
    """Proposals created at or after `started`: what a run stopped midway (model down, budget) still made."""
    return [p for p in session.store.list_proposals() if p.created_at >= started]


__all__ = ["fix", "make_engine", "proposals_since", "queue", "same_spot", "select_findings"]
