"""SSVC-style decisions, lanes, SLA due dates and team capacity, for groups of ranked findings.

Decision points (CISA SSVC, deployer tree) derived from the scoring factors:

* exploitation: `active` when a CVE is in CISA KEV; `poc` when EPSS >= 0.1, or the CWE class is commonly
  exploited (exploit techniques are public) and nothing says the code is test/example/vendored/generated code or a
  false positive; else `none`;
* automatable: `yes` when the asset is internet-facing, the code is a web / serverless handler, or a CVSS vector
  says AV:N with no privileges and no user interaction; else `no`;
* technical impact: `total` for classes that hand over control (injection, deserialization, auth bypass...) or a
  CVSS vector with high confidentiality and integrity impact; else `partial`;
* mission impact: from the asset — tier 1 or restricted data `high`, tier 4 `low`, otherwise `medium`.

Reachable injections: a group whose CWE is an injection class (`INJECTION`: OS command, SQL, code, path
traversal, XXE, SSRF, unsafe deserialization, LDAP/XPath/expression/template injection) and whose ranking says it
is reachable from a web entry point — inside a web handler, or in a helper a route calls (the reachability
factor, `agent.triage.reachability`) — is decided at least Attend (lane `now`) unless the configuration says its
asset does not matter: an asset of tier 4, or a `reachability` weight of 0 (no reachability factor is scored).
Nothing that demotes it (test/example code, false-positive evidence) may be present.

The decision table is CISA's (Act / Attend / Track* / Track). Lanes: Act and Attend → now, Track* → batch,
Track → defer. Due = first seen + SLA days for decision × tier. Capacity: a team's now-lane holds at most its
fixes per week; overflow moves to batch, scheduled week by week (due date pushed one week per week of backlog),
and is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import cast

from agent.models import Factor
from agent.triage.config import DEFAULT_TIER, TriageConfig
from agent.triage.cwe import COMMONLY_EXPLOITED, TOTAL_IMPACT
from agent.triage.feeds import Feeds
from agent.triage.group import Group
from agent.triage.rank import ScoringContext

LANES = {"act": "now", "attend": "now", "track_star": "batch", "track": "defer"}
LABELS = {"act": "Act", "attend": "Attend", "track_star": "Track*", "track": "Track"}
EPSS_POC = 0.1
INJECTION = frozenset({77, 78, 88, 89, 90, 94, 95, 22, 23, 502, 611, 643, 917, 918, 1336})

# (exploitation, automatable, technical impact, mission impact) -> decision, after the CISA SSVC guide.
_TABLE: dict[tuple[str, str, str, str], str] = {}
for _m, _row in {
    ("none", "no", "partial"): ("track", "track", "track"), ("none", "no", "total"): ("track", "track", "track_star"),
    ("none", "yes", "partial"): ("track", "track", "attend"), ("none", "yes", "total"): ("track", "track", "attend"),
    ("poc", "no", "partial"): ("track", "track", "track_star"), ("poc", "no", "total"): ("track", "track_star", "attend"),
    ("poc", "yes", "partial"): ("track", "track", "attend"), ("poc", "yes", "total"): ("track", "track_star", "attend"),
    ("active", "no", "partial"): ("track", "track", "attend"), ("active", "no", "total"): ("track", "attend", "act"),
    ("active", "yes", "partial"): ("attend", "attend", "act"), ("active", "yes", "total"): ("attend", "act", "act"),
}.items():
    for _mission, _decision in zip(("low", "medium", "high"), _row, strict=True):
        _TABLE[(*_m, _mission)] = _decision


@dataclass(slots=True)
class Decision:
    exploitation: str
    automatable: str
    technical_impact: str
    mission_impact: str
    decision: str
    lane: str
    due: datetime | None
    tier: int
    why: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.decision]


# What deciding reads of each finding of a group: its CVEs, CVSS reading (`ScoringContext.cvss`), live-credential
# kinds (None or empty: none) and first-seen time; `rank.ranked_members` takes them while scoring (`Group.extras`)
FindingInputs = tuple["list[str] | None", "tuple[str, float, dict[str, str]] | None | str", "list[str] | None",
                      datetime]


def decide(group: Group, config: TriageConfig, feeds: Feeds, tier: int | None, internet_facing: bool,
           data: str, ctx: ScoringContext | None = None) -> Decision:
    """The group's SSVC decision. `ctx` (the ranking's context, same config) reuses the CVSS vectors it read; a
    group made from `rank.ranked_members` carries what deciding reads of each finding (`Group.extras`)."""
    ctx = ctx or ScoringContext(config=config)
    inputs = cast("list[FindingInputs] | None", group.extras)
    if inputs is None:
        inputs = [(f.cve, ctx.cvss(f), ctx.live_credential(f), f.first_seen) for f in group.findings]
    cves: set[str] = set()
    network = total_cvss = credential = False
    for found_cves, cvss, credentials, _ in inputs:
        if found_cves:
            cves.update(found_cves)
        if isinstance(cvss, tuple):
            metrics = cvss[2]
            network = network or (metrics.get("AV") == "N" and metrics.get("PR", metrics.get("Au")) in ("N",)
                                   and metrics.get("UI", "N") == "N")
            total_cvss = total_cvss or (metrics.get("C") == "H" and metrics.get("I") == "H")
        if credentials:
            credential = True
    kev = bool(cves & feeds.kev.keys()) if cves else False
    epss = max((feeds.epss[c][0] for c in cves if c in feeds.epss), default=0.0) if cves else 0.0
    cwes = group.cwe_set
    tier_value = tier or DEFAULT_TIER
    exploitation, automatable, technical, mission, decision, why = _decision_points(
        *_flags_of(group.parts, ctx.deciding), kev, epss, network, total_cvss, credential,
        not cwes.isdisjoint(COMMONLY_EXPLOITED), not cwes.isdisjoint(TOTAL_IMPACT), not cwes.isdisjoint(INJECTION),
        tier_value, internet_facing, data)
    days = config.sla_days[decision][tier_value - 1]
    due = inputs[0][3] + (_DAYS.get(days) or _DAYS.setdefault(days, timedelta(days=days)))  # primary's first seen
    return Decision(exploitation, automatable, technical, mission, decision, LANES[decision], due, tier_value,
                    list(why))


@lru_cache(maxsize=1 << 12)
def _decision_points(demoted: bool, web_reason: bool, web_reachable: bool, kev: bool, epss: float,
                     network_vector: bool, total_cvss: bool, credential: bool, commonly_exploited: bool,
                     total_class: bool, injection: bool, tier_value: int, internet_facing: bool, data: str
                     ) -> tuple[str, str, str, str, str, tuple[str, ...]]:
    """(exploitation, automatable, technical impact, mission impact, decision, reasons) from the decision points'
    inputs (a pure function, memoized: groups share a few hundred combinations)."""
    why: list[str] = []
    if credential:
        demoted = False  # a committed live credential is usable by whoever reads the repository
    if kev:
        exploitation = "active"
        why.append("exploitation active (CISA KEV)")
    elif credential:
        exploitation = "active"  # committed credentials are harvested from repositories by bots within minutes
        why.append("exploitation active (a live-looking credential is in the source)")
    elif epss >= EPSS_POC or (commonly_exploited and not demoted):
        exploitation = "poc"
        basis = f"EPSS {epss:.2f}" if epss >= EPSS_POC else "commonly exploited class"
        why.append(f"exploitation poc ({basis})")
    else:
        exploitation = "none"
    # web handler and network vector only matter when nothing else has decided automatable
    web = not demoted and not internet_facing and web_reason
    network = not demoted and not internet_facing and not web and network_vector
    automatable = "yes" if (internet_facing or web or network or credential) and not demoted else "no"
    if automatable == "yes":
        why.append("automatable (" + ("internet-facing" if internet_facing else "web handler" if web
                                      else "CVSS network vector" if network else "a credential") + ")")
    total = credential or total_class or total_cvss
    technical = "total" if total and not demoted else "partial"
    mission = "high" if tier_value == 1 or data == "restricted" else "low" if tier_value == 4 else "medium"
    decision = _TABLE[(exploitation, automatable, technical, mission)]
    reachable = not demoted and web_reachable
    if reachable and injection and tier_value != 4 and LANES[decision] != "now":
        decision = "attend"
        why.append("an injection reachable from a web entry point: now unless its asset is tier 4")
    why.append(f"technical impact {technical}, mission impact {mission} (tier {tier_value})")
    return exploitation, automatable, technical, mission, decision, tuple(why)


_DAYS: dict[int, timedelta] = {}  # SLA days → timedelta


def _flags_of(parts: tuple[list[Factor], float, str], memo: dict) -> tuple[bool, bool, bool]:
    """`_factor_flags` of a ranking's factors, once per ranking parts (groups share them): `memo` is keyed by
    id(parts) and keeps the parts, so an id stays theirs."""
    found = memo.get(id(parts))
    if found is None or found[1] is not parts:
        found = memo[id(parts)] = (_factor_flags(parts[0]), parts)
    return found[0]


def _factor_flags(factors: list[Factor]) -> tuple[bool, bool, bool]:
    """What deciding reads off the ranking's factors, in one pass: (demoted: a negative reachability or evidence
    factor, a factor naming a web or serverless handler, a positive reachability factor naming a web handler)."""
    demoted = web_reason = web_reachable = False
    for factor in factors:
        points, reason = factor.points, factor.reason
        if points < 0 and factor.name in ("reachability", "evidence"):
            demoted = True
        if "web handler" in reason:
            web_reason = True
            if points > 0 and factor.name == "reachability":
                web_reachable = True
        elif "serverless handler" in reason:
            web_reason = True
    return demoted, web_reason, web_reachable


@dataclass
class Overflow:
    team: str
    capacity: int
    moved: list[str]  # primary finding ids moved from now to batch


def apply_capacity(rows: list[tuple[Group, Decision, str]], config: TriageConfig, now: datetime) -> list[Overflow]:
    """Cap each team's now-lane at its weekly capacity (rows must be best first). Overflow goes to batch, week by
    week (capacity findings per week): its due date moves `week` weeks past its SLA due date. Returns what moved."""
    used: dict[str, int] = {}
    moved: dict[str, list[str]] = {}
    for group, decision, team in rows:
        capacity = config.capacity.get(team)
        if decision.lane != "now" or capacity is None:
            continue
        used[team] = used.get(team, 0) + 1
        if used[team] <= capacity:
            continue
        overflow_index = used[team] - capacity - 1
        week = 1 + overflow_index // capacity
        base = max(decision.due, now) if decision.due else now
        decision.lane = "batch"
        decision.due = base + timedelta(days=7 * week)
        decision.why.append(f"over {team}'s capacity ({capacity}/week): moved to batch, week {week}")
        moved.setdefault(team, []).append(group.primary.id)
    return [Overflow(team, config.capacity[team] or 0, ids) for team, ids in moved.items()]
