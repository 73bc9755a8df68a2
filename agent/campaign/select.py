"""What a campaign selects: findings of its repos that match every given selector, in triage rank order.

Selectors work on any project: rule ids (exact or shell-style patterns such as `B6*`), CWE numbers, severities,
triage lanes and teams, asset tiers, and "has a builtin fix" (triage's quick-win factor: a builtin fixer would
actually rewrite the code there). A selector left empty selects everything. Each repo's open findings are ranked
by its own triage (its own config: teams, assets, SLAs); items across repos are ordered by triage score, best
first, ties kept in each repo's rank order. As in `suture fix`, a triage group counts once: its leading finding is
selected, and the same rule and sink repeated elsewhere in a file follow it as items of their own; reports of the
same spot by another tool are left out (one fix covers them).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, Field

from agent.errors import SutureError

SEVERITIES = ("critical", "high", "medium", "low", "info")
LANES = ("now", "batch", "defer")


class Selectors(BaseModel):
    """A campaign's selectors; an empty list means "any"."""

    repos: list[str] = Field(default_factory=list)  # repo keys (the checkouts are the campaign's `repos`)
    rules: list[str] = Field(default_factory=list)
    cwes: list[int] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    lanes: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    tiers: list[int] = Field(default_factory=list)
    has_builtin_fix: bool = False

    def describe(self) -> str:
        parts = [f"{name}={','.join(map(str, value))}" for name, value in
                 (("rule", self.rules), ("cwe", self.cwes), ("severity", self.severities), ("lane", self.lanes),
                  ("team", self.teams), ("tier", self.tiers)) if value]
        return " ".join(parts + (["has-builtin-fix"] if self.has_builtin_fix else [])) or "every open finding"


def parse_cwe(text: str) -> int:
    """"CWE-89", "cwe89" or "89" → 89."""
    value = text.strip().upper().removeprefix("CWE").lstrip("-_ ")
    if not value.isdigit():
        raise SutureError(f"--cwe: {text!r} is not a CWE number (e.g. 89 or CWE-89)")
    return int(value)


def check(selectors: Selectors) -> None:
    """Refuse a severity, lane or tier that cannot match anything (a typo would select nothing silently)."""
    for value in selectors.severities:
        if value not in SEVERITIES:
            raise SutureError(f"--severity must be one of {', '.join(SEVERITIES)}, not {value!r}")
    for value in selectors.lanes:
        if value not in LANES:
            raise SutureError(f"--lane must be now, batch or defer, not {value!r}")
    for tier in selectors.tiers:
        if tier not in (1, 2, 3, 4):
            raise SutureError(f"--tier must be 1 (most critical) to 4, not {tier!r}")


def has_builtin_fix(rank: Any) -> bool:
    """Triage found that a builtin fixer rewrites the code at the finding (its positive `fix` factor)."""
    return any(f.name == "fix" and f.points > 0 for f in rank.factors)


def matches(selectors: Selectors, finding: Any, rank: Any, team: str, lane: str, tier: int) -> bool:
    s = selectors
    return ((not s.rules or any(fnmatchcase(finding.rule_id, p) for p in s.rules))
            and (not s.cwes or bool(set(s.cwes) & set(finding.cwe)))
            and (not s.severities or finding.severity in s.severities)
            and (not s.lanes or lane in s.lanes)
            and (not s.teams or team in s.teams)
            and (not s.tiers or tier in s.tiers)
            and (not s.has_builtin_fix or has_builtin_fix(rank)))


def repo_items(repo: str, rows: list[Any], selectors: Selectors) -> list[dict[str, Any]]:
    """The items of one repo from its triage rows (agent.triage.service.TriageRow, best first)."""
    from agent.app.fix import same_spot

    items: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        leader, rank = row.finding, row.rank
        team, lane, tier = row.team, row.decision.lane, row.decision.tier
        if not matches(selectors, leader, rank, team, lane, tier):
            continue
        followers = [m for m, how in row.group.members
                     if how.startswith("same rule and sink") and not same_spot(m, leader)]
        for finding in (leader, *followers):
            items.append({"repo": repo, "finding_id": finding.id, "score": float(rank.score), "team": team,
                          "lane": lane, "tier": tier, "severity": finding.severity, "rule_id": finding.rule_id,
                          "_order": (-float(rank.score), index)})
    return items


def rank_order(per_repo: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """All repos' items in one order: score, best first; ties in each repo's own rank order, repos in turn."""
    merged = [(item["_order"], n, item) for n, items in enumerate(per_repo) for item in items]
    merged.sort(key=lambda t: (t[0], t[1]))
    return [{k: v for k, v in item.items() if k != "_order"} for _, _, item in merged]
