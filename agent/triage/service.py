"""Triage as one use case: open findings → scored, grouped, owned, decided, laned and capacity-checked rows.

Works on any store and project folder. Expired risk acceptances are re-opened first, so a finding whose
acceptance ran out is back in the ranking. The only other write is the per-file facts cache (keyed by each
file's content digest), so the next triage parses only files that changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.code.facts_store import StoreFactsCache
from agent.gc_pause import paused_gc
from agent.models import Finding, Rank, utcnow
from agent.store import Store
from agent.triage.config import TriageConfig, parse_triage_config
from agent.triage.decide import Decision, Overflow, apply_capacity, decide
from agent.triage.feeds import load_feeds
from agent.triage.group import Group, group_parts
from agent.triage.ownership import OwnerIndex
from agent.triage.rank import ScoringContext, path_kind, ranked_members
from agent.triage.reachability import ReachabilityIndex

Progress = Callable[[int, int], None]  # (files done, files in all)


@dataclass(slots=True)
class TriageRow:
    group: Group
    decision: Decision
    team: str
    owner_source: str
    asset: str | None
    # (the group's ranking parts it was made from, owner, lane, due) → the row's rank (`Group.rank_for`)
    _rank: tuple[tuple[tuple, str, str, datetime | None], Rank] | None = field(default=None, repr=False,
                                                                             compare=False)

    @property
    def finding(self) -> Finding:
        return self.group.primary

    @property
    def rank(self) -> Rank:
        """The group's ranking with this row's owner, lane and due date (made once per row while those stay)."""
        key = (self.group.parts, self.team, self.decision.lane, self.decision.due)
        cached = self._rank
        if cached is None or cached[0][0] is not key[0] or cached[0][1:] != key[1:]:
            cached = self._rank = (key, self.group.rank_for(self.team, self.decision.lane, self.decision.due))
        return cached[1]


@dataclass
class TriageResult:
    rows: list[TriageRow]
    overflow: list[Overflow] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    config_source: str = "defaults"
    notes: list[str] = field(default_factory=list)


def triage_findings(
    findings: list[Finding], config: TriageConfig, project_dir: Path | None = None, state_dir: Path | None = None,
    verdicts: dict | None = None, now: datetime | None = None, progress: Progress | None = None,
    code: ReachabilityIndex | None = None, score_progress: Progress | None = None,
) -> TriageResult:
    """Rank, group, route and decide `findings` (no store needed). `progress(done, total)` hears how reading the
    source files goes, `score_progress(done, total)` how scoring the findings goes; `code` (default: a fresh
    index of `project_dir`) holds the per-file facts."""
    # Triage allocates many small, long-lived records; the cyclic GC rescanning them dominates at 100k findings.
    with paused_gc():
        return _triage(findings, config, project_dir, state_dir, verdicts, now or utcnow(), progress, code,
                       score_progress)


def _triage(findings: list[Finding], config: TriageConfig, project_dir: Path | None, state_dir: Path | None,
            verdicts: dict | None, now: datetime, progress: Progress | None,
            code: ReachabilityIndex | None, score_progress: Progress | None = None) -> TriageResult:
    cves = {c for f in findings for c in f.cve}
    feeds = load_feeds(state_dir, cves) if state_dir is not None and cves else load_feeds(Path("/nonexistent"))
    owners = OwnerIndex(config, project_dir)
    if code is None and project_dir is not None:
        code = ReachabilityIndex(project_dir)
    if code is not None:  # each source file read and parsed once, whatever order its findings come in
        code.prepare(findings, _source_ranked, progress)
    ctx = ScoringContext(config=config, owners=owners, code=code, feeds=feeds, verdicts=verdicts or {}, now=now)
    groups = group_parts(ranked_members(findings, ctx, score_progress), config.weights.get("corroboration", 1.0))
    rows: list[TriageRow] = []
    for group in groups:
        asset, owner = owners.resolve(group.path)
        decision = decide(group, config, feeds, asset.tier if asset else None,
                          bool(asset and asset.internet_facing), asset.data if asset else "internal", ctx)
        rows.append(TriageRow(group, decision, owner.team, owner.source, asset.name if asset else None))
    overflow = apply_capacity([(r.group, r.decision, r.team) for r in rows], config, now)
    notes = []
    if cves and not (feeds.epss or feeds.kev):
        notes.append(f"{len(cves)} CVE id(s) found but no EPSS/KEV feed imported: run `suture feeds import "
                     "epss_scores.csv.gz known_exploited_vulnerabilities.json`")
    return TriageResult(rows, overflow, [], config.source, notes)


def _source_ranked(finding: Finding) -> bool:
    """Whether ranking reads the finding's source (test, example, vendored and generated code is ranked by path)."""
    return path_kind(finding.location.path) is None


def warm_store(store: Store, project_dir: Path, findings: list[Finding]) -> Callable[[bool], int] | None:
    """Start preparing, in worker processes, the source facts the next `triage_store` would parse for
    `findings` (e.g. while ingest stores them): what it returns waits for the workers and puts the facts in the
    store's facts cache, so that triage reads them instead. None when nothing was started (too few files to be
    worth workers, or none can run: `agent.code.file_facts.FactsIndex.warm`)."""
    return ReachabilityIndex(project_dir, StoreFactsCache(store.engine)).warm(findings, _source_ranked)


def triage_store(store: Store, settings_triage: dict[str, Any], project_dir: Path, state_dir: Path,
                 now: datetime | None = None, progress: Progress | None = None,
                 score_progress: Progress | None = None) -> TriageResult:
    """Expire acceptances, then triage every open finding of the store with the project's config."""
    config = parse_triage_config(settings_triage, project_dir)
    reopened = store.expire_acceptances(now)
    code = ReachabilityIndex(project_dir, StoreFactsCache(store.engine))
    result = triage_findings(store.list_findings("open"), config, project_dir, state_dir, store.latest_verdicts(),
                             now, progress, code, score_progress)
    result.reopened = reopened
    return result
