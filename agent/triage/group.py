"""Grouping ranked findings into units of work (one fix each), for any mix of scanners.

Three rules, applied in rank order so the best-ranked finding of a group leads it:

1. same statement, two tools: findings in the same file on the same statement (from the file facts; without
   them, lines that overlap), from different tools, sharing a CWE or starting on the same line (tools often pick
   different CWEs for one flaw) are one finding with two sources;
2. build and execute: a finding on `q = <query>` and one sharing a CWE on the next statement, whose call reads
   `q` (a query built on one line and executed on the next), are one flaw. Findings on other statements are
   never joined, even for the same rule and sink: each is its own fix and its own verdict;
3. import-level findings (bandit B401–B415, or any finding on an `import` line) fold into the best-ranked usage
   finding in the same file that shares a CWE; with no such usage they stay on their own (and rank low).

Linear in the number of findings (dictionary lookups per file, line and sink), so 100,000 findings group fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.models import Factor, Finding, Rank

Statement = Callable[[Finding], "tuple[int, int, int, int] | None"]
from agent.triage.rank import _rank_parts as rank_parts
from agent.triage.rank import is_import_only

_SINK_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
MAX_SPAN_INDEXED = 40  # lines of a long finding indexed for same-spot matching


@dataclass(slots=True)
class Group:
    primary: Finding
    rank: Rank
    members: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, how it joined)
    tool_set: set[str] = field(default_factory=set)
    cwe_set: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tool_set.add(self.primary.tool)
        self.cwe_set.update(self.primary.cwe)

    def add(self, finding: Finding, how: str) -> None:
        self.members.append((finding, how))
        self.tool_set.add(finding.tool)
        self.cwe_set.update(finding.cwe)

    @property
    def findings(self) -> list[Finding]:
        return [self.primary] + [m for m, _ in self.members]

    @property
    def tools(self) -> list[str]:
        return sorted(self.tool_set)

    @property
    def cwes(self) -> set[int]:
        return self.cwe_set


def sink_of(finding: Finding) -> str:
    """The callee on the flagged line (from the snippet), else the rule id: what one fix would change."""
    first = (finding.location.snippet or "").splitlines()[:1]
    match = _SINK_CALL.search(first[0]) if first else None
    return match.group(1) if match else f"rule:{finding.rule_id}"


def _same_spot(a: Finding, b: Finding) -> bool:
    if a.tool == b.tool or a.location.path != b.location.path:
        return False
    overlap = a.location.start_line <= b.location.last_line and b.location.start_line <= a.location.last_line
    return overlap and (bool(set(a.cwe) & set(b.cwe)) or a.location.start_line == b.location.start_line)


def group_findings(ranked: list[tuple[Finding, Rank]], corroboration_weight: float = 1.0,
                   import_only: Callable[[Finding], bool] = is_import_only,
                   statement: Statement | None = None) -> list[Group]:
    """Groups, best first. `ranked` must be best first (as `rank_findings` returns it); `import_only` may be a
    memoized `is_import_only` (the ranking's `ScoringContext.import_only`); `statement(finding)` gives the
    statement at its first line as `FileFacts.statement` does (None: unknown, the lines decide)."""
    groups: list[Group] = []
    by_line: dict[tuple[str, int], list[int]] = {}
    by_statement: dict[tuple[str, int], list[int]] = {}  # (path, first line of a statement) → groups on it
    spans: dict[int, tuple[int, int, int, int] | None] = {}  # group index → its primary's statement
    imports: list[tuple[Finding, Rank]] = []
    # per group, taken while its primary is at hand: its path and its sort key (-score, path, line, id)
    paths: list[str] = []
    keys_of: list[tuple[float, str, int, str]] = []
    for finding, rank in ranked:
        if import_only(finding):
            imports.append((finding, rank))
            continue
        loc = finding.location
        path, start, tool = loc.path, loc.start_line, finding.tool
        joined, how = None, ""
        span = statement(finding) if statement is not None else None
        keys: list[tuple[str, int]] = []  # the lines indexed for same-spot matching, when no statement is known
        if span is None:
            keys = [(path, line) for line in range(start, min(loc.end_line or start, start + MAX_SPAN_INDEXED) + 1)]
        if span is not None:
            for gi in by_statement.get((path, span[0]), ()):
                other, other_span = groups[gi].primary, spans[gi]
                if other_span is not None and other_span[:2] == span[:2] and tool not in groups[gi].tool_set and (
                        set(other.cwe) & set(finding.cwe) or other.location.start_line == start):
                    joined, how = gi, f"also reported by {tool} ({finding.rule_id})"
                    break
                if other_span is not None and other_span[:2] != span[:2] and set(other.cwe) & set(finding.cwe):
                    joined, how = gi, f"{tool} ({finding.rule_id}) reports where the query is built or run"
                    break
            if joined is None and span[2]:
                for gi in by_statement.get((path, span[2]), ()):
                    other_span = spans[gi]
                    if other_span is not None and other_span[:2] == span[2:] and set(
                            groups[gi].primary.cwe) & set(finding.cwe):
                        joined, how = gi, f"{tool} ({finding.rule_id}) reports where the query is built"
                        break
        else:
            for key in keys:
                for gi in by_line.get(key, ()):
                    if spans[gi] is None and tool not in groups[gi].tool_set and _same_spot(
                            groups[gi].primary, finding):
                        joined, how = gi, f"also reported by {tool} ({finding.rule_id})"
                        break
                if joined is not None:
                    break
        if joined is not None:
            groups[joined].add(finding, how)
            continue
        groups.append(Group(finding, rank))
        paths.append(path)
        keys_of.append((-rank.score, path, start, finding.id))
        joined = len(groups) - 1
        spans[joined] = span
        if span is not None:
            by_statement.setdefault((path, span[0]), []).append(joined)
            if span[2]:
                by_statement.setdefault((path, span[2]), []).append(joined)
            continue
        for key in keys:
            found = by_line.get(key)
            if found is None:
                by_line[key] = [joined]
            else:
                found.append(joined)
    if imports:
        usage_by_path: dict[str, list[int]] = {}
        for gi, path in enumerate(paths):
            usage_by_path.setdefault(path, []).append(gi)
        for finding, rank in imports:
            target = next((gi for gi in usage_by_path.get(finding.location.path, ())
                           if set(finding.cwe) & groups[gi].cwes), None)
            if target is None:
                groups.append(Group(finding, rank))
                loc = finding.location
                keys_of.append((-rank.score, loc.path, loc.start_line, finding.id))
            else:
                groups[target].add(finding, f"import flagged by {finding.rule_id} folds into this use of the module")
    if corroboration_weight:
        _corroborate(groups, keys_of, round(5.0 * corroboration_weight, 1))
    order = sorted(range(len(groups)), key=keys_of.__getitem__)  # stable, as sorting the groups by the key was
    return [groups[gi] for gi in order]


def _corroborate(groups: list[Group], keys_of: list[tuple[float, str, int, str]], points: float) -> None:
    """Add the corroboration factor to each group more than one tool reports (and its new score to its sort key).
    Groups with the same factors and tools share one bonus factor and one (ordered factors, score, reason)."""
    bonuses: dict[tuple[str, ...], Factor] = {}
    parts: dict[tuple[int, ...], tuple[list[Factor], float, str]] = {}  # by ids of factors alive in the groups
    for gi, group in enumerate(groups):
        if len(group.tool_set) < 2:
            continue
        tools = tuple(group.tools)
        bonus = bonuses.get(tools)
        if bonus is None:
            bonus = bonuses[tools] = Factor(name="corroboration", points=points,
                                            reason=f"reported by {len(tools)} tools ({', '.join(tools)})")
        factors = [*group.rank.factors, bonus]
        key = tuple(map(id, factors))
        found = parts.get(key)
        if found is None:
            found = parts[key] = rank_parts(factors)
        ordered, score, reason = found
        group.rank = Rank(finding_id=group.primary.id, score=score, factors=ordered, reason=reason)
        keys_of[gi] = (-score, *keys_of[gi][1:])
