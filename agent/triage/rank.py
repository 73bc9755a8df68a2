"""A transparent risk score 0–100 for any scanner's finding: the sum of named factors, each with a reason.

Factors (defaults justified in the README, "Triage configuration"; every one is multiplied by its weight from
`[triage.weights]`): normalized severity (CVSS vector > security-severity > tool severity / SARIF level),
scanner confidence, CWE class, exploitability (CISA KEV, EPSS), reachability (code kind, entry points,
import-only findings), static evidence and stored verdicts, asset criticality, fix availability and effort, age.
`score_finding(finding)` works without any context (no config, no files, no feeds); `ScoringContext` adds them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

from agent.context.redact import live_credentials
from agent.engines.builtin.evidence import credential_kinds, rule_class
from agent.models import Factor, Finding, Rank, Verdict, utcnow
from agent.triage.code_kind import path_kind
from agent.triage.config import TriageConfig, cvss_base_score
from agent.triage.cwe import cwe_points
from agent.triage.feeds import Feeds
from agent.triage.ownership import OwnerIndex
from agent.triage.reachability import ReachabilityIndex, may_have_fixer

# Midpoint of each CVSS band, for findings that carry only a severity word.
BAND_SCORE = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.5, "info": 0.0}
SEVERITY_POINTS_PER_CVSS = 4.0  # CVSS 10 → 40 points: severity is the largest single factor, never the whole
CONFIDENCE_SHARE = {"high": 0.0, "medium": 0.15, "low": 0.4}  # share of severity points a less sure scanner loses
CODE_KIND_POINTS = {"test": -35.0, "example": -25.0, "vendored": -25.0, "generated": -25.0}
ENTRY_POINTS = {"web handler": 10.0, "serverless handler": 10.0, "CLI command": 5.0, "task handler": 5.0,
                "script": 3.0}
TIER_POINTS = {1: 15.0, 2: 8.0, 3: 0.0, 4: -5.0}
DATA_POINTS = {"restricted": 8.0, "confidential": 5.0, "internal": 0.0, "public": -3.0}
IMPORT_ONLY_POINTS = -25.0
CVSS_VECTOR = re.compile(r"CVSS:(?:3\.[01]|4\.0)/[A-Za-z:/]+")

_IMPORT_RULE = re.compile(r"^B4(0[1-9]|1[0-5])$")  # bandit's blacklist-import checks
_IMPORT_LINE = re.compile(r"^\s*(import\s+[\w.]+|from\s+[\w.]+\s+import\b)")


def is_import_only(finding: Finding) -> bool:
    """A finding about an import statement (bandit B401–B415, or any tool whose flagged line is an import)."""
    if finding.tool == "bandit" and _IMPORT_RULE.match(finding.rule_id):
        return True
    snippet = (finding.location.snippet or "").splitlines()
    return bool(snippet) and bool(_IMPORT_LINE.match(snippet[0])) and finding.location.end_line in (
        None, finding.location.start_line)


def cvss_of(finding: Finding, overrides: dict[str, str]) -> tuple[str, float, dict[str, str]] | None | str:
    """(vector, base score, metrics) from config overrides (CVE or rule id) or the finding's tags/message;
    the vector text when it is malformed; None when there is none."""
    return _cvss_result(_vector_of(finding, overrides))


def _vector_of(finding: Finding, overrides: dict[str, str]) -> str | None:
    """The CVSS vector text `cvss_of` reads: a config override (CVE, then rule id), else the first vector in the
    tags and then the message."""
    vector = next((overrides[c] for c in finding.cve if c in overrides), None) or overrides.get(finding.rule_id) \
        if overrides else None
    if vector is None:
        # one search over the tags and message joined by newlines finds the same first vector as a search per
        # text (a vector contains no newline), without a Python loop per text
        match = CVSS_VECTOR.search("\n".join([*finding.tags, finding.message]))
        if match:
            vector = match.group(0)
    return vector


def _cvss_result(vector: str | None) -> tuple[str, float, dict[str, str]] | None | str:
    if vector is None:
        return None
    try:
        score, metrics = cvss_base_score(vector)
    except ValueError:
        return vector
    return vector, score, metrics


def _float_key(value: float | None) -> object:
    """`value` as a memo key that tells -0.0 from 0.0 (they format differently: `-0` and `0`)."""
    return (value, math.copysign(1.0, value)) if value is not None and not value else value


@dataclass
class ScoringContext:
    """Everything beyond the finding itself that scoring may use; all parts are optional."""

    config: TriageConfig = field(default_factory=TriageConfig)
    owners: OwnerIndex | None = None
    code: ReachabilityIndex | None = None
    feeds: Feeds = field(default_factory=Feeds)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)
    # identical factors (same name, points and reason) are one shared, never-modified Factor: 100,000 findings
    # carry a few thousand distinct ones
    factor_pool: dict[tuple[str, float, str], Factor] = field(default_factory=dict, repr=False)
    # per-finding results that grouping and deciding ask for again, keyed by id(finding); `_seen` holds each
    # finding, so an id is never reused while its entry exists (plain values: no per-finding container to track)
    _seen: list[Finding] = field(default_factory=list, init=False, repr=False)
    _import_only: dict[int, bool] = field(default_factory=dict, init=False, repr=False)
    _credentials: dict[int, list[str]] = field(default_factory=dict, init=False, repr=False)
    _cvss: dict[int, tuple[str, float, dict[str, str]] | None | str] = field(
        default_factory=dict, init=False, repr=False)
    # (ordered factors, score, reason) per set of pooled factors, keyed by their ids (the value holds them, so the
    # ids stay theirs): many findings share the same factors
    _rank_parts: dict[tuple[int, ...], tuple[list[Factor], float, str]] = field(
        default_factory=dict, init=False, repr=False)
    # answers that depend on a few of a finding's fields only, computed once per distinct value: credential kinds
    # per snippet and per (path, lines), (unweighted factor → pooled weighted Factor, None when it weighs 0), the
    # severity, confidence and CWE factors per rule profile, the evidence factor per spot and rule class, the
    # asset factors per path, the entry-point factor per (path, first line), the CVSS reading per vector text
    # each pooled factor's `reason (+points)` text, by id(factor) (the pool holds the factors)
    _reason_pieces: dict[int, str] = field(default_factory=dict, init=False, repr=False)
    # `may_have_fixer` per (tool, rule id, CWEs): all it reads
    _fixable: dict[tuple[str, str, tuple[int, ...]], bool] = field(default_factory=dict, init=False, repr=False)
    _snippet_credentials: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _file_credentials: dict[tuple[str, int, int], list[str]] = field(default_factory=dict, init=False, repr=False)
    _weighted: dict[tuple[str, float, str], Factor | None] = field(default_factory=dict, init=False, repr=False)
    _rule_factors: dict[tuple, tuple[Factor, ...]] = field(default_factory=dict, init=False, repr=False)
    _cwe: dict[tuple[tuple[int, ...], object], tuple[float, str]] = field(default_factory=dict, init=False,
                                                                         repr=False)
    _evidence: dict[tuple, Factor | None] = field(default_factory=dict, init=False, repr=False)
    _rule_class: dict[tuple[str, tuple[int, ...]], tuple[bool, bool, bool, bool]] = field(
        default_factory=dict, init=False, repr=False)
    _assets: dict[str, tuple[Factor, ...]] = field(default_factory=dict, init=False, repr=False)
    _reached: dict[tuple[str, int], Factor | None] = field(default_factory=dict, init=False, repr=False)
    _vectors: dict[str, tuple[str, float, dict[str, str]] | str] = field(default_factory=dict, init=False,
                                                                       repr=False)
    _import_lines: dict[tuple[str, str, str | None, bool], bool] = field(default_factory=dict, init=False,
                                                                         repr=False)

    def live_credential(self, finding: Finding) -> list[str]:
        """Kinds of recognized live-credential formats on the finding's lines: from its snippet, or (production
        code, with the project's facts) from the file's text. Memoized per finding."""
        key = id(finding)
        found = self._credentials.get(key)
        if found is None:
            loc = finding.location
            snippet = loc.snippet or ""
            found = self._snippet_credentials.get(snippet)
            if found is None:
                found = self._snippet_credentials[snippet] = sorted({kind for kind, _ in live_credentials(snippet)})
            if not found and self.code is not None and path_kind(loc.path) is None:
                spot = (loc.path, loc.start_line, loc.last_line)
                found = self._file_credentials.get(spot)
                if found is None:  # the file's answer for these lines (memoized with its facts too)
                    found = self._file_credentials[spot] = credential_kinds(
                        self.code.facts(spot[0]), spot[1], spot[2]) or []
            self._seen.append(finding)
            self._credentials[key] = found
        return found

    def _remember(self, finding: Finding) -> None:
        key = id(finding)
        self._seen.append(finding)
        self._import_only[key] = self._is_import_only(finding)
        vector = _vector_of(finding, self.config.cvss)
        if vector is None:
            self._cvss[key] = None
            return
        found = self._vectors.get(vector)
        if found is None:  # the reading depends on the vector text only
            found = self._vectors[vector] = _cvss_result(vector)  # type: ignore[assignment]
        self._cvss[key] = found

    def _is_import_only(self, finding: Finding) -> bool:
        """`is_import_only(finding)`, memoized per (tool, rule id, snippet, one-line or not): all it reads."""
        loc = finding.location
        key = (finding.tool, finding.rule_id, loc.snippet, loc.end_line in (None, loc.start_line))
        found = self._import_lines.get(key)
        if found is None:
            found = self._import_lines[key] = is_import_only(finding)
        return found

    def cvss(self, finding: Finding) -> tuple[str, float, dict[str, str]] | None | str:
        """`cvss_of(finding, config.cvss)`, computed once per finding."""
        if id(finding) not in self._cvss:
            self._remember(finding)
        return self._cvss[id(finding)]

    def import_only(self, finding: Finding) -> bool:
        """`is_import_only(finding)`, computed once per finding."""
        found = self._import_only.get(id(finding))
        if found is None:
            self._remember(finding)
            found = self._import_only[id(finding)]
        return found

    def factor(self, name: str, points: float, reason: str) -> Factor | None:
        """The pooled weighted factor for an unweighted one (None when it weighs 0), weighed once per distinct
        (name, points, reason)."""
        key = (name, points, reason)
        weighted = self._weighted
        if key in weighted:
            return weighted[key]
        found = weighted[key] = _pooled(self, name, points, reason)
        return found


def _severity(finding: Finding, ctx: ScoringContext, add) -> float:
    """Adds the severity factor; returns the 0–10 base it used."""
    credentials = ctx.live_credential(finding)
    if credentials:
        base = BAND_SCORE["critical"]
        add("severity", SEVERITY_POINTS_PER_CVSS * base, f"live-looking credential on line "
            f"{finding.location.start_line} ({', '.join(credentials)}): critical, whatever {finding.tool} says")
        return base
    return _plain_severity(finding, ctx.cvss(finding), add)


def _plain_severity(finding: Finding, cvss: tuple[str, float, dict[str, str]] | None | str, add) -> float:
    """The severity factor without a live credential: from the CVSS reading, the security-severity, the tool's
    severity word (and the tool's name)."""
    if isinstance(cvss, tuple):
        vector, base, _ = cvss
        add("severity", SEVERITY_POINTS_PER_CVSS * base, f"CVSS {base:g} ({vector})")
        return base
    note = f"; CVSS vector {cvss!r} unreadable, ignored" if isinstance(cvss, str) else ""
    if finding.security_severity is not None:
        base = min(10.0, finding.security_severity)
        add("severity", SEVERITY_POINTS_PER_CVSS * base, f"security-severity {base:g} ({finding.tool}){note}")
        return base
    base = BAND_SCORE[finding.severity]
    add("severity", SEVERITY_POINTS_PER_CVSS * base, f"{finding.severity} severity ({finding.tool}){note}")
    return base


def _confidence_and_cwe(finding: Finding, ctx: ScoringContext, add, base: float) -> None:
    share = CONFIDENCE_SHARE[finding.confidence]
    if share:
        add("confidence", -SEVERITY_POINTS_PER_CVSS * base * share, f"{finding.confidence} scanner confidence")
    cwe_key = (tuple(finding.cwe), _float_key(base))
    cwe = ctx._cwe.get(cwe_key)
    if cwe is None:
        points, label = cwe_points(finding.cwe)
        scale = min(1.0, base / BAND_SCORE["medium"])
        if points and scale < 1.0:
            label += f" (×{scale:.2f}: the scanner rates this instance below medium)"
        cwe = ctx._cwe[cwe_key] = (points * scale, label)
    add("cwe_class", *cwe)


def _rule_part(finding: Finding, ctx: ScoringContext) -> tuple[Factor, ...]:
    """The severity, confidence and CWE factors of a finding with no live credential, in that order: they read
    its CVSS reading (by vector text), security-severity, severity word, tool, confidence and CWEs only, so they
    are weighed once per distinct profile."""
    cvss = ctx.cvss(finding)
    key = (finding.tool, finding.severity, _float_key(finding.security_severity), finding.confidence,
           tuple(finding.cwe), cvss if cvss is None or isinstance(cvss, str) else ("cvss", cvss[0]))
    found = ctx._rule_factors.get(key)
    if found is None:
        factors: list[Factor] = []

        def add(name: str, points: float, reason: str) -> None:
            factor = ctx.factor(name, points, reason)
            if factor is not None:
                factors.append(factor)

        base = _plain_severity(finding, cvss, add)
        _confidence_and_cwe(finding, ctx, add, base)
        found = ctx._rule_factors[key] = tuple(factors)
    return found


def _exploitability(finding: Finding, ctx: ScoringContext, add) -> None:
    if not finding.cve:
        return
    kev = next((c for c in finding.cve if c in ctx.feeds.kev), None)
    if kev:
        entry = ctx.feeds.kev[kev]
        ransom = ", used in ransomware campaigns" if entry.get("ransomware") else ""
        add("exploitability", 25.0 + (5.0 if ransom else 0.0),
            f"{kev} is in CISA KEV (known exploited, added {entry.get('dateAdded') or '?'}){ransom}")
    scored = [(ctx.feeds.epss[c][0], ctx.feeds.epss[c][1], c) for c in finding.cve if c in ctx.feeds.epss]
    if scored:
        prob, pct, cve = max(scored)
        add("exploitability", round(20.0 * prob, 1),
            f"EPSS {prob:.2f} for {cve}: {prob:.0%} chance of exploitation in 30 days ({pct:.0%} percentile)")


def _reachability(finding: Finding, ctx: ScoringContext, add, kind: str | None, import_only: bool,
                  factors: list[Factor]) -> None:
    if kind is not None and not ctx.live_credential(finding):  # a committed credential leaks wherever it is
        add("reachability", CODE_KIND_POINTS[kind], f"only in {kind} code")
    if import_only:
        add("reachability", IMPORT_ONLY_POINTS, "flags an import, not a use of the module")
    if ctx.code is not None and kind is None:
        key = (finding.location.path, finding.location.start_line)
        if key in ctx._reached:
            found = ctx._reached[key]
        else:  # the entry point and the call path depend on the spot only
            entry = _entry_factor(finding, ctx.code)
            found = ctx._reached[key] = None if entry is None else ctx.factor("reachability", *entry)
        if found is not None:
            factors.append(found)


def _entry_factor(finding: Finding, code: ReachabilityIndex) -> tuple[float, str] | None:
    entry = code.entry_point(finding)
    via = code.web_path(finding) if entry is None or entry.kind == "script" else None
    if via is not None:  # a helper a route calls (within the walk's bound)
        return ENTRY_POINTS["web handler"], via
    if entry is not None:
        where = "in a script" if entry.kind == "script" else f"in {entry.kind} `{entry.name}`"
        return ENTRY_POINTS[entry.kind], f"{where}: {entry.detail}"
    return None


def _short(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _source_evidence(finding: Finding, ctx: ScoringContext) -> Factor | None:
    """The pooled evidence factor from the code at the finding's lines, once per spot and rule class (all
    `agent.engines.builtin.evidence.file_evidence` reads of a finding: `rule_class`, its lines and flow; its
    snippet only without readable source)."""
    assert ctx.code is not None
    loc = finding.location
    flow = finding.flow
    facts = ctx.code.facts(loc.path)
    class_key = (finding.rule_id, tuple(finding.cwe))
    kind = ctx._rule_class.get(class_key)
    if kind is None:  # rule_class reads the rule id and the CWEs only
        kind = ctx._rule_class[class_key] = rule_class(finding)
    key = (loc.path, loc.start_line, loc.last_line, kind,
           len(flow), len({(s.location.path, s.location.start_line) for s in flow}) >= 2 if flow else False,
           None if facts.source_known and facts.text is not None else loc.snippet)
    if key in ctx._evidence:
        return ctx._evidence[key]
    evidence = ctx.code.evidence(finding)
    strong = [e for e in evidence if e.strong and e.supports == "false_positive"]
    for_tp = [e for e in evidence if e.supports == "true_positive"]
    found = None
    if strong and not for_tp:
        found = ctx.factor("evidence", -30.0, f"likely false positive: {_short(strong[0].detail)}")
    elif for_tp:
        found = ctx.factor("evidence", 5.0, f"static evidence it is real: {_short(for_tp[0].detail)}")
    ctx._evidence[key] = found
    return found


def _evidence(finding: Finding, ctx: ScoringContext, add, kind: str | None, import_only: bool,
              factors: list[Factor]) -> None:
    if ctx.code is None and len(finding.flow) >= 2 and len(
            {(s.location.path, s.location.start_line) for s in finding.flow}) >= 2:
        add("evidence", 5.0, f"static evidence it is real: the scanner traced a {len(finding.flow)}-step data flow")
    # Source evidence costs a parse per file and a walk per finding: only where it can move the ranking, i.e. not
    # for code already demoted by its path or for findings about an import line.
    if ctx.code is not None and kind is None and not import_only:
        found = _source_evidence(finding, ctx)
        if found is not None:
            factors.append(found)
    if not ctx.verdicts:
        return
    verdict = ctx.verdicts.get(finding.id)
    if verdict is not None and verdict.verdict == "false_positive":
        add("evidence", round(-40.0 * verdict.confidence, 1),
            f"{verdict.source} verdict: false positive ({verdict.confidence:.0%})")
    elif verdict is not None and verdict.verdict == "true_positive":
        add("evidence", round(10.0 * verdict.confidence, 1),
            f"{verdict.source} verdict: true positive ({verdict.confidence:.0%})")


def _asset(path: str, ctx: ScoringContext) -> tuple[Factor, ...]:
    """The pooled asset factors of a path (once per path)."""
    parts = ctx._assets.get(path)
    if parts is None:
        found: list[Factor | None] = []
        asset, _ = ctx.owners.resolve(path) if ctx.owners is not None else (None, None)
        if asset is not None:
            if TIER_POINTS[asset.tier]:
                found.append(ctx.factor("asset", TIER_POINTS[asset.tier], f"{asset.name}: tier {asset.tier} asset"))
            if asset.internet_facing:
                found.append(ctx.factor("asset", 10.0, f"{asset.name} is internet-facing"))
            if DATA_POINTS[asset.data]:
                found.append(ctx.factor("asset", DATA_POINTS[asset.data], f"{asset.name} holds {asset.data} data"))
        parts = ctx._assets[path] = tuple(f for f in found if f is not None)
    return parts


def _fix_and_age(finding: Finding, ctx: ScoringContext, add, kind: str | None) -> None:
    # a quick win only when a builtin fixer would actually rewrite the code there (not merely a rule or CWE it
    # knows): that needs the file, so only with the project's facts, and only for production code
    fixer = None
    if ctx.code is not None and kind is None:
        rule = (finding.tool, finding.rule_id, tuple(finding.cwe))
        fixable = ctx._fixable.get(rule)
        if fixable is None:
            fixable = ctx._fixable[rule] = may_have_fixer(finding)
        fixer = ctx.code.fixer(finding) if fixable else None
    if fixer:
        add("fix", 5.0, f"quick win: builtin fixer `{fixer}` rewrites it")
    loc = finding.location
    span = (loc.end_line or loc.start_line) - loc.start_line + 1
    if span > 15:
        add("fix", -3.0, f"larger change: the finding spans {span} lines")
    days = (ctx.now - finding.first_seen).days
    if days >= 30:
        add("age", float(min(5, days // 30)), f"open for {days} days")


def score_finding(finding: Finding, ctx: ScoringContext | None = None) -> Rank:
    """The finding's score and its ordered factors (largest contribution first), each with its reason."""
    ctx = ctx or ScoringContext()
    factors: list[Factor] = []
    factor = ctx.factor

    def add(name: str, points: float, reason: str) -> None:
        found = factor(name, points, reason)
        if found is not None:
            factors.append(found)

    if ctx.live_credential(finding):  # the severity names the line and the tool: weighed per finding
        _confidence_and_cwe(finding, ctx, add, _severity(finding, ctx, add))
    else:
        factors.extend(_rule_part(finding, ctx))
    path = finding.location.path
    kind = path_kind(path)
    import_only = ctx.import_only(finding)
    if finding.cve:
        _exploitability(finding, ctx, add)
    _reachability(finding, ctx, add, kind, import_only, factors)
    _evidence(finding, ctx, add, kind, import_only, factors)
    if ctx.owners is not None:
        factors.extend(_asset(path, ctx))
    _fix_and_age(finding, ctx, add, kind)
    key = tuple(map(id, factors))
    parts = ctx._rank_parts.get(key)
    if parts is None:
        parts = ctx._rank_parts[key] = _pooled_rank_parts(ctx, factors)
    ordered, score, reason = parts
    return Rank(finding_id=finding.id, score=score, factors=ordered, reason=reason)


def _pooled(ctx: ScoringContext, name: str, points: float, reason: str) -> Factor | None:
    weighted = round(points * ctx.config.weights.get(name, 1.0), 1)
    if not weighted:
        return None
    key = (name, weighted, reason)
    factor = ctx.factor_pool.get(key)
    if factor is None:
        factor = ctx.factor_pool[key] = Factor(name=name, points=weighted, reason=reason)
    return factor


def _rank_parts(factors: list[Factor]) -> tuple[list[Factor], float, str]:
    ordered = sorted(factors, key=lambda f: -abs(f.points))
    score = max(0.0, min(100.0, round(sum(f.points for f in ordered), 1)))
    reason = "; ".join(f"{f.reason} ({f.points:+g})" for f in ordered[:3])
    return ordered, score, reason


def _pooled_rank_parts(ctx: ScoringContext, factors: list[Factor]) -> tuple[list[Factor], float, str]:
    """`_rank_parts` of pooled factors, each one's reason text (`reason (+points)`) formatted once per factor."""
    ordered = sorted(factors, key=lambda f: -abs(f.points))
    score = max(0.0, min(100.0, round(sum([f.points for f in ordered]), 1)))
    pieces = ctx._reason_pieces
    shown = []
    for factor in ordered[:3]:
        piece = pieces.get(id(factor))
        if piece is None:
            piece = pieces[id(factor)] = f"{factor.reason} ({factor.points:+g})"
        shown.append(piece)
    return ordered, score, "; ".join(shown)


def build_rank(finding_id: str, factors: list[Factor]) -> Rank:
    ordered, score, reason = _rank_parts(factors)
    return Rank(finding_id=finding_id, score=score, factors=ordered, reason=reason)


def rank_findings(findings: list[Finding], ctx: ScoringContext | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[tuple[Finding, Rank]]:
    """Findings with their ranks, best first; ties broken by path and line so the order is stable.
    `progress(done, total)` hears how scoring goes (every 500 findings and at the end)."""
    # the sort key is taken while the finding and its rank are at hand (touching 100,000 findings again later costs
    # more than the key); sorting by the key alone keeps ties in input order, as sorting the pairs by it did
    keyed: list[tuple[tuple[float, str, int, str], Finding, Rank]] = []
    total = len(findings)
    for done, f in enumerate(findings, 1):
        rank = score_finding(f, ctx)
        loc = f.location
        keyed.append(((-rank.score, loc.path, loc.start_line, f.id), f, rank))
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    keyed.sort(key=itemgetter(0))
    return [(f, rank) for _, f, rank in keyed]
