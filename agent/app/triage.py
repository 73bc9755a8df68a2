"""Deciding what matters: ranking open findings (`triage`), accepting a risk until a date (`accept`), the
exploitability feeds (`feeds import`) and the SARIF export of the store (`sarif`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from agent.app.session import Session, reviewer_identity
from agent.app.views import Acceptance, TriageView
from agent.errors import SutureError
from agent.models import Finding, Rank

Progress = Callable[[int, int], None]
LANES = ("now", "batch", "defer")


def _triage_result(session: Session, progress: Progress | None = None, score_progress: Progress | None = None
                   ) -> Any:
    from agent.triage.service import triage_store

    return triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir,
                        progress=progress, score_progress=score_progress)


def triage(session: Session, team: str | None = None, lane: str | None = None, top: int | None = None,
           progress: Progress | None = None, score_progress: Progress | None = None) -> TriageView:
    """Open findings ranked by business risk, one row per group (agent.triage), filtered to one `team` and/or
    `lane` (now, batch, defer) and cut to the first `top`. Expired risk acceptances re-open first. An unknown
    lane, or a team neither configured nor owning a finding, is an error naming the known ones."""
    check_lane(lane)
    result = _triage_result(session, progress, score_progress)
    if team is not None and team not in {r.team for r in result.rows} and not (
            session.settings.triage.get("teams") and team in session.settings.triage["teams"]):
        known = sorted({r.team for r in result.rows})
        raise SutureError(f"unknown team {team!r}; teams with findings: {', '.join(known) or 'none'}")
    rows = [r for r in result.rows if (team is None or r.team == team) and (lane is None or r.decision.lane == lane)]
    return TriageView(rows=rows[:top] if top else rows, total=len(result.rows), reopened=list(result.reopened),
                      notes=list(result.notes), overflow=list(result.overflow))


def check_lane(lane: str | None) -> None:
    """Refuse a lane that is not now, batch or defer (None: no lane filter)."""
    if lane is not None and lane not in LANES:
        raise SutureError(f"--lane must be now, batch or defer, not {lane!r}")


def ranked_open_findings(session: Session) -> list[tuple[Finding, Rank]]:
    """Open findings in triage order (grouped: one row per unit of work), each with its rank, owner, lane and due
    date. Expired risk acceptances re-open first."""
    return [(row.finding, row.rank) for row in _triage_result(session).rows]


def parse_date(text: str, what: str = "--until") -> datetime:
    """YYYY-MM-DD (end of that day, UTC) or an ISO 8601 date-time."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SutureError(f"{what}: cannot read {text!r} as a date; use YYYY-MM-DD") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def accept_risk(session: Session, finding_id: str, until: str, reason: str, reviewer: str | None) -> Acceptance:
    """Accept the risk of an open finding until a date (`until`: YYYY-MM-DD or ISO 8601), as a named person
    (`reviewer`, else git's user.name <user.email>). The finding re-opens when the date passes."""
    when = parse_date(until)
    who = reviewer_identity(session.ws.project.git_root, reviewer)
    finding = session.store.accept_risk(finding_id, when, reason, who)
    return Acceptance(finding=finding, until=when.isoformat(), by=who, reason=reason)


def import_feeds(session: Session, files: list[Path]) -> list[tuple[str, str, int]]:
    """Import EPSS / KEV files into the project's .suture/feeds/: (file, feed kind, CVE count) per file."""
    from agent.triage.feeds import import_feeds as do_import

    return do_import(files, session.ws.state_dir)


def sarif_log(session: Session) -> dict[str, Any]:
    """The store as SARIF 2.1.0: open findings with their triage, risk-accepted and dismissed ones as
    suppressions with their justification, approved patches as `fixes`."""
    from agent.export.sarif_out import build_sarif
    from agent.triage.report import row_dict

    result = _triage_result(session)
    ranks = {r.finding.id: {k: v for k, v in row_dict(i, r).items()
                            if k in ("rank", "score", "team", "decision", "lane", "due", "reason")}
             for i, r in enumerate(result.rows, 1)}
    return build_sarif(session.store, ranks=ranks, repo_prefix=session.ws.project.subdir)


__all__ = ["accept_risk", "check_lane", "import_feeds", "parse_date", "ranked_open_findings", "sarif_log", "triage"]
