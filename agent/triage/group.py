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
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from agent.models import Factor, Finding, Rank

Statement = Callable[[Finding], "tuple[int, int, int, int] | None"]
from agent.triage.rank import is_import_only, rank_parts_with

_SINK_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
MAX_SPAN_INDEXED = 40  # lines of a long finding indexed for same-spot matching


# (ordered factors, score, reason): a ranking's parts, as `agent.triage.rank` shares them between findings
Parts = tuple[list[Factor], float, str]


class Group:
    """One unit of work: the best-ranked finding (`primary`, and its `path`), the findings joined to it (`members`:
    (finding, how it joined)), the tools and CWEs of all of them, and the group's ranking. The ranking is kept as its parts
    (ordered factors, score, reason); `rank`, the Rank of the primary with those parts, is made on first use.
    `extras`: per finding (primary first, then members as they joined), the extra its `Member` carried (from
    `rank.ranked_members`: what deciding reads of it), or None."""

    __slots__ = ("_rank", "cwe_set", "extras", "members", "parts", "path", "primary", "tool_set")

    def __init__(self, primary: Finding, rank: Rank | None = None, members: list[tuple[Finding, str]] | None = None,
                 tool_set: set[str] | None = None, cwe_set: set[int] | None = None,
                 extras: list[object] | None = None, *, parts: Parts | None = None, path: str | None = None) -> None:
        self.primary = primary
        self.path = primary.location.path if path is None else path  # the primary's
        self._rank = rank
        if parts is None:
            if rank is None:
                raise ValueError("a group needs its rank or its ranking's parts")
            parts = (rank.factors, rank.score, rank.reason)
        self.parts = parts
        self.members = [] if members is None else members
        # the given sets hold the primary's tool and CWEs already (`group_parts` makes them so)
        self.tool_set = {primary.tool} if tool_set is None else tool_set
        self.cwe_set = set(primary.cwe) if cwe_set is None else cwe_set
        self.extras = extras

    def __repr__(self) -> str:
        return f"Group(primary={self.primary.id!r}, score={self.parts[1]!r}, members={len(self.members)})"

    @property
    def rank(self) -> Rank:
        if self._rank is None:
            factors, score, reason = self.parts
            self._rank = Rank(finding_id=self.primary.id, score=score, factors=factors, reason=reason)
        return self._rank

    @rank.setter
    def rank(self, rank: Rank) -> None:
        self._rank = rank
        self.parts = (rank.factors, rank.score, rank.reason)

    def rank_for(self, owner: str | None, lane: str, due: datetime | None) -> Rank:
        """The group's rank with a row's owner, lane and due date (made from the parts, without the group's own Rank
        when it has none yet)."""
        if self._rank is not None:
            return self._rank.model_copy(update={"owner": owner, "lane": lane, "due": due})
        factors, score, reason = self.parts
        return Rank(finding_id=self.primary.id, score=score, factors=factors, reason=reason, owner=owner,
                    lane=lane, due=due)

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


class Member(NamedTuple):
    """A ranked finding as grouping reads it: its sort key (-score, path, first line, id), the finding, its
    ranking's parts, its Rank (None: made from the parts when first asked), whether it is import-only, the
    statement at its first line (None: unknown, the lines decide), its path, first and last line, tool, rule id
    and CWEs (a set), and an `extra` value grouping keeps for each finding of a group (`Group.extras`). Plain tuples in
    this order are Members too (`rank.ranked_members` makes them while scoring)."""

    key: tuple[float, str, int, str]
    finding: Finding
    parts: Parts
    rank: Rank | None
    import_only: bool
    statement: tuple[int, int, int, int] | None
    path: str
    start: int
    last: int
    tool: str
    rule_id: str
    cwes: frozenset[int]
    extra: object = None


def group_findings(ranked: list[tuple[Finding, Rank]], corroboration_weight: float = 1.0,
                   import_only: Callable[[Finding], bool] = is_import_only,
                   statement: Statement | None = None) -> list[Group]:
    """Groups, best first. `ranked` must be best first (as `rank_findings` returns it); `import_only` may be a
    memoized `is_import_only` (the ranking's `ScoringContext.import_only`); `statement(finding)` gives the
    statement at its first line as `FileFacts.statement` does (None: unknown, the lines decide)."""
    members = []
    for finding, rank in ranked:
        loc, only = finding.location, import_only(finding)
        members.append(Member((-rank.score, loc.path, loc.start_line, finding.id), finding,
                              (rank.factors, rank.score, rank.reason), rank, only,
                              statement(finding) if statement is not None and not only else None, loc.path,
                              loc.start_line, loc.last_line, finding.tool, finding.rule_id, frozenset(finding.cwe)))
    return group_parts(members, corroboration_weight, with_extras=False)


def group_parts(ranked: Sequence[tuple], corroboration_weight: float = 1.0, with_extras: bool = True
                ) -> list[Group]:
    """`group_findings` of `Member`s, best first. A group's Rank is made when first asked (the given one when
    corroboration leaves its parts as they are). `with_extras`: each group keeps its findings' extras."""
    # per group, by index, while grouping (the Groups are made at the end): its primary's Member (`heads`), its
    # parts, its members, tools and CWEs, its findings' extras and its sort key
    heads: list[tuple] = []
    parts_of: list[Parts] = []
    members: list[list[tuple[Finding, str]] | None] = []
    tool_sets: list[set[str]] = []
    cwe_sets: list[set[int]] = []
    extras: list[list[object]] = []
    keys_of: list[tuple[float, str, int, str]] = []
    by_line: dict[tuple[str, int], list[int]] = {}
    by_statement: dict[tuple[str, int], list[int]] = {}  # (path, first line of a statement) → groups on it
    imports: list[tuple] = []
    usage_by_path: dict[str, list[int]] = {}  # path → its groups, in the order they were made

    def join(gi: int, finding: Finding, how: str, tool: str, cwes: Collection[int], extra: object) -> None:
        joined = members[gi]
        if joined is None:
            members[gi] = [(finding, how)]
        else:
            joined.append((finding, how))
        tool_sets[gi].add(tool)
        cwe_sets[gi].update(cwes)
        if with_extras:
            extras[gi].append(extra)

    def new_group(member: tuple) -> int:
        heads.append(member)
        parts_of.append(member[2])
        members.append(None)
        tool_sets.append({member[9]})
        cwe_sets.append(set(member[11]))
        if with_extras:
            extras.append([member[12]])
        keys_of.append(member[0])
        return len(heads) - 1

    for member in ranked:
        _, finding, _, _, import_only, span, path, start, last, tool, rule_id, cwes, extra = member
        if import_only:
            imports.append(member)
            continue
        joined, how = None, ""
        keys: list[tuple[str, int]] = []  # the lines indexed for same-spot matching, when no statement is known
        if span is not None:
            for gi in by_statement.get((path, span[0]), ()):
                head = heads[gi]
                other_span = head[5]
                if other_span is not None and other_span[:2] == span[:2] and tool not in tool_sets[gi] and (
                        not head[11].isdisjoint(cwes) or head[7] == start):
                    joined, how = gi, f"also reported by {tool} ({rule_id})"
                    break
                if other_span is not None and other_span[:2] != span[:2] and not head[11].isdisjoint(cwes):
                    joined, how = gi, f"{tool} ({rule_id}) reports where the query is built or run"
                    break
            if joined is None and span[2]:
                for gi in by_statement.get((path, span[2]), ()):
                    head = heads[gi]
                    other_span = head[5]
                    if other_span is not None and other_span[:2] == span[2:] and not head[11].isdisjoint(cwes):
                        joined, how = gi, f"{tool} ({rule_id}) reports where the query is built"
                        break
        else:
            keys = [(path, start)] if last == start else [
                (path, line) for line in range(start, min(last, start + MAX_SPAN_INDEXED) + 1)]
            for key in keys:
                for gi in by_line.get(key, ()):
                    # same spot: lines that overlap, from another tool, sharing a CWE or starting on the same line
                    head = heads[gi]
                    if head[5] is None and tool not in tool_sets[gi] and head[7] <= last and start <= head[8] and (
                            not head[11].isdisjoint(cwes) or head[7] == start):
                        joined, how = gi, f"also reported by {tool} ({rule_id})"
                        break
                if joined is not None:
                    break
        if joined is not None:
            join(joined, finding, how, tool, cwes, extra)
            continue
        gi = new_group(member)
        found = usage_by_path.get(path)
        if found is None:
            usage_by_path[path] = [gi]
        else:
            found.append(gi)
        if span is not None:
            found = by_statement.get((path, span[0]))
            if found is None:
                by_statement[(path, span[0])] = [gi]
            else:
                found.append(gi)
            if span[2]:
                by_statement.setdefault((path, span[2]), []).append(gi)
            continue
        for key in keys:
            found = by_line.get(key)
            if found is None:
                by_line[key] = [gi]
            else:
                found.append(gi)
    for member in imports:
        _, finding, _, _, _, _, path, _, _, tool, rule_id, cwes, extra = member
        target = next((gi for gi in usage_by_path.get(path, ()) if not cwe_sets[gi].isdisjoint(cwes)), None)
        if target is None:
            new_group(member)
        else:
            join(target, finding, f"import flagged by {rule_id} folds into this use of the module", tool, cwes,
                 extra)
    if corroboration_weight:
        _corroborate(tool_sets, parts_of, keys_of, round(5.0 * corroboration_weight, 1))
    order = sorted(range(len(heads)), key=keys_of.__getitem__)  # stable, as sorting the groups by the key was
    groups = []
    for gi in order:
        head, parts = heads[gi], parts_of[gi]
        groups.append(Group(head[1], head[3] if parts is head[2] else None, members[gi], tool_sets[gi],
                            cwe_sets[gi], extras[gi] if with_extras else None, parts=parts, path=head[6]))
    return groups


def _corroborate(tool_sets: list[set[str]], parts_of: list[Parts], keys_of: list[tuple[float, str, int, str]],
                 points: float) -> None:
    """Add the corroboration factor to each group more than one tool reports (to its parts, with its new score in
    its sort key). Groups with the same factors and tools share one bonus factor and one (ordered factors, score,
    reason)."""
    bonuses: dict[tuple[str, ...], Factor] = {}
    parts: dict[tuple[int, ...], Parts] = {}  # by ids of factors alive in the groups
    pieces: dict[int, str] = {}  # each factor's `reason (+points)`, by its id (alive in the groups)
    for gi, tool_set in enumerate(tool_sets):
        if len(tool_set) < 2:
            continue
        tools = tuple(sorted(tool_set))
        bonus = bonuses.get(tools)
        if bonus is None:
            bonus = bonuses[tools] = Factor(name="corroboration", points=points,
                                            reason=f"reported by {len(tools)} tools ({', '.join(tools)})")
        factors = [*parts_of[gi][0], bonus]
        key = tuple(map(id, factors))
        found = parts.get(key)
        if found is None:
            found = parts[key] = rank_parts_with(pieces, factors)
        parts_of[gi] = found
        keys_of[gi] = (-found[1], *keys_of[gi][1:])
