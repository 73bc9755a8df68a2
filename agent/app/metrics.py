"""The metrics use case: the store's history turned into finding and proposal lives (agent.metrics.lives) and a
`MetricsReport` (agent.metrics.compute), for one repo or the whole store.

Where each fact comes from:
- first seen / fixed at: `Store.finding_times()` (scan times, so a backfilled history counts from when the scans
  were taken); severity and repo from the finding's record.
- asset tier, team, lane and SLA due date: triage (agent.triage.service.triage_findings) run over *every* finding
  of a repo, fixed ones included, with that repo's settings and checkout (the path `repo add` or first use
  recorded). Triage reads the checkout as it is now, so a fixed finding whose code is gone is placed by its path
  only (owner, asset tier) and decided without reachability. A repo whose checkout is not on this machine gets
  no tier, team, lane or due date, and the report says so in its notes.
- first proposal: the first time one of the finding's proposals awaited review (reached validated or unproven;
  a dismissal: when it was drafted). First review: its first approval or rejection.
- proposals: every proposal except drafts that never produced anything (agent.app.views "no_draft"); decision
  from its state (approved or exported: approved), exported from its export event, merged from a `merge` event
  (agent.app.merged, checked here first for every repo with a checkout).
- fixed by: "suture" when a suture proposal for the finding was exported before the finding was fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.errors import SutureError
from agent.metrics.compute import FINDING_KEYS, PROPOSAL_KEYS, MetricsReport, report
from agent.metrics.lives import FindingLife, ProposalLife
from agent.models import Finding, utcnow
from agent.store import Store
from agent.store.events import EXPORT, MERGE, PROPOSAL, REVIEW, Event

BY_KEYS = FINDING_KEYS + PROPOSAL_KEYS
_OFFERED = ("validated", "unproven")


class MetricsView(BaseModel):
    """A report plus what a reader must know about how it was made (repos included, facts that are missing)."""

    report: MetricsReport
    repos: list[str]
    notes: list[str] = Field(default_factory=list)
    merged_now: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**self.report.to_json(), "repos": self.repos, "notes": self.notes, "merged_now": self.merged_now}


def parse_day(text: str, what: str, end: bool = False) -> datetime:
    """`--since`/`--until`: YYYY-MM-DD (the start of that day UTC; with `end`, the start of the next day, so the
    day is included) or an ISO 8601 time (no zone: UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            start = datetime.combine(day, time(0), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        raise SutureError(f"{what}: cannot read {text!r} as a date; use YYYY-MM-DD or ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def split_by(by: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """`--by` keys into finding breakdowns (default severity × tier) and proposal ones (default engine, model,
    prompt hash). An unknown key is an error naming the known ones."""
    keys = list(by or [])
    bad = [k for k in keys if k not in BY_KEYS]
    if bad:
        raise SutureError(f"--by {bad[0]!r}: use one of {', '.join(BY_KEYS)}")
    findings = [k for k in keys if k in FINDING_KEYS] or ["severity", "tier"]
    proposals = [k for k in keys if k in PROPOSAL_KEYS] or list(PROPOSAL_KEYS)
    return list(dict.fromkeys(findings)), list(dict.fromkeys(proposals))


def metrics(store: Store, repo: str | None = None, since: datetime | None = None, until: datetime | None = None,
            by: Sequence[str] | None = None, check_merges: bool = True) -> MetricsView:
    """The metrics of `repo` (a repo key) or of every repo in `store`, over [since, until) (until: now)."""
    until = until or utcnow()
    if since is not None and since >= until:
        raise SutureError("--since must be before --until")
    finding_keys, proposal_keys = split_by(by)
    registered = {r["repo"]: (r["detail"] or {}).get("path") for r in store.list_repos()}
    times = [t for t in store.finding_times() if repo is None or t.repo == repo]
    repos = sorted({t.repo for t in times if t.repo} | ({repo} if repo else set(registered)))
    notes: list[str] = []
    merged_now: list[str] = []
    triaged: dict[str, tuple[int | None, str | None, str | None, datetime | None]] = {}
    findings = {f.id: f for f in store.list_findings(None)}
    for key in repos:
        checkout = _checkout(registered.get(key))
        if checkout is None:
            notes.append(f"{key}: no checkout of it on this machine (run `suture repo add PATH`): its findings have "
                         "no tier, team, lane or SLA, and its merges are not checked")
            continue
        settings = _settings(checkout, notes, key)
        if check_merges:
            from agent.app.merged import detect_merges

            merged_now += detect_merges(store, key, checkout, getattr(settings, "default_branch", None))
        mine = [findings[t.finding_id] for t in times if t.repo == key and t.finding_id in findings]
        triaged.update(_triage(store, mine, checkout, settings, notes, key))
    events = _by_subject(store.events(kinds=[PROPOSAL, REVIEW, EXPORT, MERGE]))
    proposals, offered, reviewed, exported = _proposal_lives(store, events, {t.finding_id for t in times})
    lives = []
    for t in times:
        tier, team, lane, due = triaged.get(t.finding_id, (None, None, None, None))
        export_at = exported.get(t.finding_id)
        fixed_by: Literal["suture", "manual"] | None = None if t.fixed_at is None else (
            "suture" if export_at is not None and export_at <= t.fixed_at else "manual")
        lives.append(FindingLife(t.finding_id, t.first_seen, t.severity, t.repo, tier, team, lane, t.fixed_at, due,
                                 fixed_by, offered.get(t.finding_id), reviewed.get(t.finding_id)))
    result = report(lives, proposals, until, since, finding_keys, proposal_keys)
    return MetricsView(report=result, repos=repos, notes=notes, merged_now=merged_now)


def metrics_of_store(store_url: str | None, at: Path, repo: str | None = None, since: str | None = None,
                     until: str | None = None, by: Sequence[str] | None = None) -> MetricsView:
    """`suture metrics`: the store (`store_url`, else $SUTURE_STORE, else the project at `at`'s own), narrowed
    to `repo` (a key, a `repo add --name` name or a checkout path) when given; dates as `parse_day` reads them.
    Bad dates and breakdowns are refused before the store is opened."""
    from agent.app.repos import open_store, resolve_repo

    start = parse_day(since, "--since") if since else None
    end = parse_day(until, "--until", end=True) if until else None
    split_by(by)
    store = open_store(store_url, at)
    try:
        return metrics(store, resolve_repo(store, repo) if repo else None, start, end, by)
    finally:
        store.close()


def _checkout(path: str | None) -> Path | None:
    return Path(path) if path and Path(path).is_dir() else None


def _settings(checkout: Path, notes: list[str], key: str) -> Any:
    from agent.config import load_settings

    try:
        return load_settings(checkout)
    except SutureError as error:
        notes.append(f"{key}: its settings cannot be read ({error}); triage defaults used")
        return None


def _triage(store: Store, findings: list[Finding], checkout: Path, settings: Any, notes: list[str], key: str
            ) -> dict[str, tuple[int | None, str | None, str | None, datetime | None]]:
    """Tier, team, lane and due date of every finding (fixed ones too), by triage with the repo's config."""
    if not findings:
        return {}
    from agent.code.facts_store import StoreFactsCache
    from agent.triage.config import parse_triage_config
    from agent.triage.reachability import ReachabilityIndex
    from agent.triage.service import triage_findings

    try:
        config = parse_triage_config(settings.triage if settings is not None else {}, checkout)
    except SutureError as error:
        notes.append(f"{key}: its [triage] settings are invalid ({error}); triage defaults used")
        config = parse_triage_config({}, checkout)
    code = ReachabilityIndex(checkout, StoreFactsCache(store.engine))
    result = triage_findings(findings, config, checkout, checkout / ".suture", store.latest_verdicts(), code=code)
    placed: dict[str, tuple[int | None, str | None, str | None, datetime | None]] = {}
    for row in result.rows:
        for finding in row.group.findings:
            placed[finding.id] = (row.decision.tier, row.team, row.decision.lane, row.decision.due)
    return placed


def _by_subject(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for event in events:
        grouped.setdefault(event.subject, []).append(event)
    return grouped


def _proposal_lives(store: Store, events: dict[str, list[Event]], finding_ids: set[str]
                    ) -> tuple[list[ProposalLife], dict[str, datetime], dict[str, datetime], dict[str, datetime]]:
    """Proposal lives, and per finding: first offered for review, first reviewed, first exported."""
    lives = []
    offered: dict[str, datetime] = {}
    reviewed: dict[str, datetime] = {}
    exported: dict[str, datetime] = {}

    def first(table: dict[str, datetime], fid: str, at: datetime | None) -> None:
        if at is not None and (fid not in table or at < table[fid]):
            table[fid] = at

    for p in store.list_proposals():
        if p.finding_id not in finding_ids or p.without_draft:
            continue
        history = events.get(p.id, [])
        offer = p.created_at if p.kind == "dismissal" else next(
            (e.at for e in history if e.kind == PROPOSAL and e.detail.get("to") in _OFFERED), None)
        reviews = [e for e in history if e.kind == REVIEW]
        export = next((e.at for e in history if e.kind == EXPORT), None)
        first(offered, p.finding_id, offer)
        first(reviewed, p.finding_id, reviews[0].at if reviews else None)
        first(exported, p.finding_id, export)
        decision: Literal["approved", "rejected"] | None = "approved" if p.state in ("approved", "exported") else "rejected" if p.state == "rejected" else None
        lives.append(ProposalLife(p.id, p.finding_id, p.engine, p.created_at, p.model, p.prompt_hash, decision,
                                  reviews[-1].at if reviews and decision else None, export is not None,
                                  any(e.kind == MERGE for e in history)))
    return lives, offered, reviewed, exported


__all__ = ["BY_KEYS", "MetricsView", "metrics", "metrics_of_store", "parse_day", "split_by"]
