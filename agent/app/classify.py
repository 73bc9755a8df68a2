"""`classify`: verdicts only (true positive / false positive / uncertain) for the top or all open findings.

A false positive becomes a dismissal proposal for a person to approve; a verdict never closes a finding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.app.fix import make_engine
from agent.app.session import Session
from agent.app.triage import ranked_open_findings
from agent.app.views import Verdicts
from agent.errors import SutureError
from agent.models import Finding


def classify_targets(session: Session, top: int | None = None, all_: bool = False) -> list[Finding]:
    """The open findings to classify, in triage order: every one with `all_`, else the first `top` (default: the
    `top` setting)."""
    if top and all_:
        raise SutureError("give either --top or --all, not both")
    ranked = [f for f, _ in ranked_open_findings(session)]
    return ranked if all_ else ranked[: top or session.settings.top]


def classify(session: Session, findings: list[Finding], progress: Callable[[Finding, str], None] | None = None,
             retry_failed: bool = False) -> Verdicts:
    """Ask the session's engine (builtin, or the model of the settings) for a verdict on each finding; stored,
    with a dismissal proposal for each false positive. Findings already answered at this commit, engine, prompt
    and settings are skipped (their stored verdict is returned) unless `retry_failed`."""
    from agent.classify import classify_findings

    engine = make_engine(session)
    results = classify_findings(session.ws, session.store, findings, engine, session.settings, progress,
                                retry_failed=retry_failed)
    return Verdicts(rows=[_row(r) for r in results], engine=engine.name, skipped=sum(1 for r in results if r.skipped),
                    notes=engine.spend_notes())


def _row(result: Any) -> dict[str, Any]:
    f, v = result.finding, result.verdict
    return {
        "id": f.id, "tool": f.tool, "rule_id": f.rule_id, "path": f.location.path, "line": f.location.start_line,
        "verdict": v.verdict if v else None, "confidence": v.confidence if v else None,
        "rationale": v.rationale if v else None, "source": v.source if v else None,
        "dismissal_id": result.dismissal.id if result.dismissal else None, "error": result.error,
        "usage": result.usage.model_dump() if result.usage else None, "skipped": result.skipped,
    }


__all__ = ["classify", "classify_targets"]
