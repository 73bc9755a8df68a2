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
from typing import Any

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
        tags, message = finding.tags, finding.message
        # every vector starts with `CVSS:`: a text without it has none (most have none); one search over the tags
        # and message joined by newlines finds the same first vector as a search per text (a vector contains no
        # newline), without a Python loop per text
        if "CVSS:" in message or (tags and "CVSS:" in "\n".join(tags)):
            match = CVSS_VECTOR.search("\n".join([*tags, message]))
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


@dataclass(slots=True, eq=False)
class _Rule:
    """What scoring reads off a finding's (tool, rule id, CWEs), once per distinct triple: the triple itself (one
    shared copy, with the CWEs as a set too), `rule_class` (all the static evidence reads of the rule),
    `may_have_fixer`, whether it is one of bandit's import checks, and the severity, confidence and CWE factors
    per (severity, security-severity, confidence, CVSS vector text)."""

    tool: str
    rule_id: str
    cwes: tuple[int, ...]
    cwe_set: frozenset[int]
    import_rule: bool
    kind: tuple[bool, bool, bool, bool] | None = None  # when first asked (production code only asks)
    fixable: bool | None = None  # likewise
    profiles: dict[tuple, tuple[Factor, ...]] = field(default_factory=dict)


_UNSET: Any = object()


@dataclass(slots=True, eq=False)
class _Spot:
    """What scoring, grouping and deciding read off a finding's spot (path, first and end line, snippet), once per
    distinct spot: its path, first and last line (one shared copy), its code kind, the live-credential kinds on its
    lines, whether its line is an import (for a one-line finding), the code-kind, entry-point, asset and span
    factors (None / empty when there is none), and, when first asked, the statement at its first line and the
    evidence and quick-win factors per rule."""

    path: str
    start: int
    last: int
    kind: str | None
    credentials: list[str]
    import_line: bool
    code_kind: Factor | None
    reach: Factor | None
    assets: tuple[Factor, ...]
    span: Factor | None
    statement: tuple[int, int, int, int] | None = _UNSET
    evidence: dict[object, Factor | None] = field(default_factory=dict)
    fixers: dict[_Rule, Factor | None] = field(default_factory=dict)


# a finding's facts: (its spot, its rule, its CVSS reading, import only or not, the CVSS vector text read)
_Facts = tuple[_Spot, _Rule, "tuple[str, float, dict[str, str]] | None | str", bool, "str | None"]


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
    # each finding's facts (spot, rule, CVSS reading, import only), which grouping and deciding ask for again,
    # keyed by id(finding); `_seen` holds each finding, so an id is never reused while its entry exists
    _seen: list[Finding] = field(default_factory=list, init=False, repr=False)
    _of: dict[int, _Facts] = field(default_factory=dict, init=False, repr=False)
    # answers that depend on a few of a finding's fields only, computed once per distinct value: the spot facts
    # per (path, first line, end line, snippet), the rule facts per (tool, rule id, CWEs), (credential kinds,
    # first line an import) per snippet, credential kinds per (path, lines), (unweighted factor → pooled weighted
    # Factor, None when it weighs 0), the CWE points per (CWEs, base), (the path's kept copy, code kind, code-kind
    # and asset factors) per path, the entry-point factor per (path, first line), the CVSS reading per vector text,
    # the exploitability factors per CVE list, the age factor per number of days (the severity, confidence and CWE
    # factors are kept per rule profile in `_Rule.profiles`)
    _spots: dict[tuple[str, int, int | None, str | None], _Spot] = field(default_factory=dict, init=False,
                                                                        repr=False)
    _rules: dict[tuple[str, str, tuple[int, ...]], _Rule] = field(default_factory=dict, init=False, repr=False)
    _files: dict[str, tuple[str, str | None, Factor | None, tuple[Factor, ...]]] = field(
        default_factory=dict, init=False, repr=False)
    _snippets: dict[str, tuple[list[str], bool]] = field(default_factory=dict, init=False, repr=False)
    _file_credentials: dict[tuple[str, int, int], list[str]] = field(default_factory=dict, init=False, repr=False)
    _weighted: dict[tuple[str, float, str], Factor | None] = field(default_factory=dict, init=False, repr=False)
    _cwe: dict[tuple[tuple[int, ...], object], tuple[float, str]] = field(default_factory=dict, init=False,
                                                                         repr=False)
    _reached: dict[tuple[str, int], Factor | None] = field(default_factory=dict, init=False, repr=False)
    _vectors: dict[str, tuple[str, float, dict[str, str]] | str] = field(default_factory=dict, init=False,
                                                                       repr=False)
    _exploits: dict[tuple[str, ...], tuple[Factor, ...]] = field(default_factory=dict, init=False, repr=False)
    _ages: dict[int, Factor | None] = field(default_factory=dict, init=False, repr=False)
    # (ordered factors, score, reason) per set of pooled factors, keyed by their ids (the value holds them, so the
    # ids stay theirs): many findings share the same factors
    _rank_parts: dict[tuple[int, ...], tuple[list[Factor], float, str]] = field(
        default_factory=dict, init=False, repr=False)
    # each pooled factor's `reason (+points)` text, by id(factor) (the pool holds the factors)
    _reason_pieces: dict[int, str] = field(default_factory=dict, init=False, repr=False)
    # what deciding (agent.triage.decide) works out once per ranking, by id of the ranking's parts (kept with it)
    deciding: dict[int, tuple] = field(default_factory=dict, init=False, repr=False)

    def live_credential(self, finding: Finding) -> list[str]:
        """Kinds of recognized live-credential formats on the finding's lines: from its snippet, or (production
        code, with the project's facts) from the file's text. Memoized per finding (and per spot)."""
        found = self._of.get(id(finding))
        return (found or self._facts(finding))[0].credentials

    def cvss(self, finding: Finding) -> tuple[str, float, dict[str, str]] | None | str:
        """`cvss_of(finding, config.cvss)`, computed once per finding."""
        found = self._of.get(id(finding))
        return (found or self._facts(finding))[2]

    def import_only(self, finding: Finding) -> bool:
        """`is_import_only(finding)`, computed once per finding."""
        found = self._of.get(id(finding))
        return (found or self._facts(finding))[3]

    def statement(self, finding: Finding) -> tuple[int, int, int, int] | None:
        """The statement at the finding's first line (`FileFacts.statement`) for production code with the
        project's facts, else None; once per spot."""
        found = self._of.get(id(finding))
        return self._statement((found or self._facts(finding))[0])

    def _statement(self, spot: _Spot) -> tuple[int, int, int, int] | None:
        statement = spot.statement
        if statement is _UNSET:
            statement = spot.statement = None if spot.kind is not None or self.code is None else \
                self.code.facts(spot.path).statement(spot.start)
        return statement

    def factor(self, name: str, points: float, reason: str) -> Factor | None:
        """The pooled weighted factor for an unweighted one (None when it weighs 0), weighed once per distinct
        (name, points, reason)."""
        key = (name, points, reason)
        weighted = self._weighted
        if key in weighted:
            return weighted[key]
        found = weighted[key] = _pooled(self, name, points, reason)
        return found

    def _facts(self, finding: Finding) -> _Facts:
        """The finding's facts, read once per finding (its spot and rule once per distinct value)."""
        found = self._of[id(finding)] = self._read(finding)
        self._seen.append(finding)
        return found

    def _read(self, finding: Finding) -> _Facts:
        """The finding's facts (spot, rule, CVSS reading, import only, CVSS vector text), not kept per finding."""
        loc = finding.location
        spot = self._spots.get((loc.path, loc.start_line, loc.end_line, loc.snippet))
        if spot is None:
            spot = self._new_spot(finding)
        tool, rule_id = finding.tool, finding.rule_id
        rule_key = (tool, rule_id, tuple(finding.cwe))
        rule = self._rules.get(rule_key)
        if rule is None:
            rule = self._rules[rule_key] = _Rule(*rule_key, frozenset(rule_key[2]),
                                                 bool(tool == "bandit" and _IMPORT_RULE.match(rule_id)))
        vector = _vector_of(finding, self.config.cvss)
        cvss: tuple[str, float, dict[str, str]] | None | str = None
        if vector is not None:
            cvss = self._vectors.get(vector)
            if cvss is None:  # the reading depends on the vector text only
                cvss = self._vectors[vector] = _cvss_result(vector)  # type: ignore[assignment]
        return spot, rule, cvss, rule.import_rule or spot.import_line, vector

    def _new_spot(self, finding: Finding) -> _Spot:
        loc = finding.location
        path, start, end, snippet = loc.path, loc.start_line, loc.end_line, loc.snippet
        spot_key = (path, start, end, snippet)
        file = self._files.get(path)
        if file is None:
            file = self._new_file(path)
        path, kind, code_kind, assets = file
        last = end or start
        text = snippet or ""
        lines = self._snippets.get(text)
        if lines is None:
            first = text.splitlines()[:1]
            lines = self._snippets[text] = (sorted({k for k, _ in live_credentials(text)}),
                                            bool(first) and bool(_IMPORT_LINE.match(first[0])))
        credentials, import_line = lines
        code = self.code
        if not credentials and code is not None and kind is None:
            spot = (path, start, last)
            in_file = self._file_credentials.get(spot)
            if in_file is None:  # the file's answer for these lines (memoized with its facts too)
                in_file = self._file_credentials[spot] = credential_kinds(code.facts(path), start, last) or []
            credentials = in_file
        reach = None
        if code is not None and kind is None:
            key = (path, start)
            if key in self._reached:
                reach = self._reached[key]
            else:  # the entry point and the call path depend on the path and first line only
                entry = _entry_factor(finding, code)
                reach = self._reached[key] = None if entry is None else self.factor("reachability", *entry)
        span = last - start + 1
        found = self._spots[spot_key] = _Spot(
            # a committed credential leaks wherever it is: no code-kind demotion then
            path, start, last, kind, credentials, import_line and end in (None, start),
            None if credentials else code_kind, reach, assets,
            self.factor("fix", -3.0, f"larger change: the finding spans {span} lines") if span > 15 else None)
        return found

    def _new_file(self, path: str) -> tuple[str, str | None, Factor | None, tuple[Factor, ...]]:
        """(the path's one kept copy, its code kind, the code-kind factor, the asset factors) of a new path (one
        copy of each path text: sorting by path then compares the same object, not the text again)."""
        kind = path_kind(path)
        found = self._files[path] = (
            path, kind,
            self.factor("reachability", CODE_KIND_POINTS[kind], f"only in {kind} code") if kind is not None else None,
            _asset(path, self) if self.owners is not None else ())
        return found


def _credential_severity(finding: Finding, credentials: list[str], add) -> float:
    """Adds the severity factor of a finding with live-looking credentials on its lines; returns the 0–10 base."""
    base = BAND_SCORE["critical"]
    add("severity", SEVERITY_POINTS_PER_CVSS * base, f"live-looking credential on line "
        f"{finding.location.start_line} ({', '.join(credentials)}): critical, whatever {finding.tool} says")
    return base


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


def _rule_part(finding: Finding, ctx: ScoringContext, cvss: tuple[str, float, dict[str, str]] | None | str
               ) -> tuple[Factor, ...]:
    """The severity, confidence and CWE factors of a finding with no live credential, in that order: they read
    its CVSS reading (by vector text), security-severity, severity word, tool, confidence and CWEs only, so they
    are weighed once per rule and profile (`_Rule.profiles`)."""
    factors: list[Factor] = []

    def add(name: str, points: float, reason: str) -> None:
        factor = ctx.factor(name, points, reason)
        if factor is not None:
            factors.append(factor)

    _confidence_and_cwe(finding, ctx, add, _plain_severity(finding, cvss, add))
    return tuple(factors)


def _exploitability(finding: Finding, ctx: ScoringContext) -> tuple[Factor, ...]:
    """The exploitability factors (CISA KEV, then EPSS) of the finding's CVEs, once per CVE list."""
    cves = tuple(finding.cve)
    found = ctx._exploits.get(cves)
    if found is not None:
        return found
    factors: list[Factor | None] = []
    kev = next((c for c in cves if c in ctx.feeds.kev), None)
    if kev:
        entry = ctx.feeds.kev[kev]
        ransom = ", used in ransomware campaigns" if entry.get("ransomware") else ""
        factors.append(ctx.factor("exploitability", 25.0 + (5.0 if ransom else 0.0),
                                  f"{kev} is in CISA KEV (known exploited, added {entry.get('dateAdded') or '?'})"
                                  f"{ransom}"))
    scored = [(ctx.feeds.epss[c][0], ctx.feeds.epss[c][1], c) for c in cves if c in ctx.feeds.epss]
    if scored:
        prob, pct, cve = max(scored)
        factors.append(ctx.factor("exploitability", round(20.0 * prob, 1),
                                  f"EPSS {prob:.2f} for {cve}: {prob:.0%} chance of exploitation in 30 days "
                                  f"({pct:.0%} percentile)"))
    found = ctx._exploits[cves] = tuple(f for f in factors if f is not None)
    return found


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


def _source_evidence(finding: Finding, ctx: ScoringContext, spot: _Spot, rule: _Rule) -> Factor | None:
    """The pooled evidence factor from the code at the finding's lines, once per spot, rule class and flow shape
    (all `agent.engines.builtin.evidence.file_evidence` reads of a finding: `rule_class`, its spot and flow)."""
    assert ctx.code is not None
    flow = finding.flow
    kind = rule.kind
    if kind is None:
        kind = rule.kind = rule_class(finding)
    key: object = kind if not flow else (
        kind, len(flow), len({(s.location.path, s.location.start_line) for s in flow}) >= 2)
    if key in spot.evidence:
        return spot.evidence[key]
    evidence = ctx.code.evidence(finding)
    strong = [e for e in evidence if e.strong and e.supports == "false_positive"]
    for_tp = [e for e in evidence if e.supports == "true_positive"]
    found = None
    if strong and not for_tp:
        found = ctx.factor("evidence", -30.0, f"likely false positive: {_short(strong[0].detail)}")
    elif for_tp:
        found = ctx.factor("evidence", 5.0, f"static evidence it is real: {_short(for_tp[0].detail)}")
    spot.evidence[key] = found
    return found


def _verdict_factor(verdict: Verdict, ctx: ScoringContext) -> Factor | None:
    if verdict.verdict == "false_positive":
        return ctx.factor("evidence", round(-40.0 * verdict.confidence, 1),
                          f"{verdict.source} verdict: false positive ({verdict.confidence:.0%})")
    if verdict.verdict == "true_positive":
        return ctx.factor("evidence", round(10.0 * verdict.confidence, 1),
                          f"{verdict.source} verdict: true positive ({verdict.confidence:.0%})")
    return None


def _asset(path: str, ctx: ScoringContext) -> tuple[Factor, ...]:
    """The pooled asset factors of a path (asked once per path: `ScoringContext._new_file` keeps them)."""
    found: list[Factor | None] = []
    asset, _ = ctx.owners.resolve(path) if ctx.owners is not None else (None, None)
    if asset is not None:
        if TIER_POINTS[asset.tier]:
            found.append(ctx.factor("asset", TIER_POINTS[asset.tier], f"{asset.name}: tier {asset.tier} asset"))
        if asset.internet_facing:
            found.append(ctx.factor("asset", 10.0, f"{asset.name} is internet-facing"))
        if DATA_POINTS[asset.data]:
            found.append(ctx.factor("asset", DATA_POINTS[asset.data], f"{asset.name} holds {asset.data} data"))
    return tuple(f for f in found if f is not None)


def _quick_win(finding: Finding, ctx: ScoringContext, spot: _Spot, rule: _Rule) -> Factor | None:
    """The quick-win factor: only when a builtin fixer would actually rewrite the code there (not merely a rule or
    CWE it knows), so only with the project's facts and for production code; once per spot and rule."""
    found = spot.fixers.get(rule, _UNSET)
    if found is _UNSET:
        fixer = ctx.code.fixer(finding) if ctx.code is not None else None
        found = spot.fixers[rule] = ctx.factor("fix", 5.0, f"quick win: builtin fixer `{fixer}` rewrites it") \
            if fixer else None
    return found


def _age(finding: Finding, ctx: ScoringContext) -> Factor | None:
    days = (ctx.now - finding.first_seen).days
    if days < 30:
        return None
    found = ctx._ages.get(days, _UNSET)
    if found is _UNSET:
        found = ctx._ages[days] = ctx.factor("age", float(min(5, days // 30)), f"open for {days} days")
    return found


def _factors(finding: Finding, ctx: ScoringContext, facts: _Facts) -> list[Factor]:
    """The finding's pooled factors in the order they are added (severity, confidence, CWE class, exploitability,
    reachability, evidence, asset, fix, age): ordering by contribution keeps that order among equals."""
    spot, rule, cvss, import_only, vector = facts
    factors: list[Factor]
    if spot.credentials:  # the severity names the line and the tool: weighed per finding
        factors = []

        def add(name: str, points: float, reason: str) -> None:
            found = ctx.factor(name, points, reason)
            if found is not None:
                factors.append(found)

        _confidence_and_cwe(finding, ctx, add, _credential_severity(finding, spot.credentials, add))
    else:
        profile = (finding.severity, _float_key(finding.security_severity), finding.confidence, vector)
        part = rule.profiles.get(profile)
        if part is None:
            part = rule.profiles[profile] = _rule_part(finding, ctx, cvss)
        factors = list(part)
    if finding.cve:
        factors.extend(_exploitability(finding, ctx))
    if spot.code_kind is not None:
        factors.append(spot.code_kind)
    if import_only:
        found = ctx.factor("reachability", IMPORT_ONLY_POINTS, "flags an import, not a use of the module")
        if found is not None:
            factors.append(found)
    if spot.reach is not None:
        factors.append(spot.reach)
    code = ctx.code
    if code is None:
        flow = finding.flow
        if len(flow) >= 2 and len({(s.location.path, s.location.start_line) for s in flow}) >= 2:
            found = ctx.factor("evidence", 5.0, f"static evidence it is real: the scanner traced a {len(flow)}-step "
                                                "data flow")
            if found is not None:
                factors.append(found)
    elif spot.kind is None and not import_only:
        # source evidence costs a parse per file and a walk per finding: only where it can move the ranking, i.e.
        # not for code already demoted by its path or for findings about an import line
        found = _source_evidence(finding, ctx, spot, rule)
        if found is not None:
            factors.append(found)
    if ctx.verdicts:
        verdict = ctx.verdicts.get(finding.id)
        found = _verdict_factor(verdict, ctx) if verdict is not None else None
        if found is not None:
            factors.append(found)
    if spot.assets:
        factors.extend(spot.assets)
    if code is not None and spot.kind is None and rule.fixable is None:
        rule.fixable = may_have_fixer(finding)
    if code is not None and spot.kind is None and rule.fixable:
        found = _quick_win(finding, ctx, spot, rule)
        if found is not None:
            factors.append(found)
    if spot.span is not None:
        factors.append(spot.span)
    found = _age(finding, ctx)
    if found is not None:
        factors.append(found)
    return factors


def _parts(finding: Finding, ctx: ScoringContext, facts: _Facts) -> tuple[list[Factor], float, str]:
    """(ordered factors, score, reason) of the finding: one shared value per distinct set of pooled factors."""
    factors = _factors(finding, ctx, facts)
    key = tuple(map(id, factors))
    parts = ctx._rank_parts.get(key)
    if parts is None:
        parts = ctx._rank_parts[key] = rank_parts_with(ctx._reason_pieces, factors)
    return parts


def score_finding(finding: Finding, ctx: ScoringContext | None = None) -> Rank:
    """The finding's score and its ordered factors (largest contribution first), each with its reason."""
    ctx = ctx or ScoringContext()
    ordered, score, reason = _parts(finding, ctx, ctx._of.get(id(finding)) or ctx._facts(finding))
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


def rank_parts_with(pieces: dict[int, str], factors: list[Factor]) -> tuple[list[Factor], float, str]:
    """(factors ordered by contribution, largest first; score; reason: the first three's `reason (+points)`), each
    factor's reason text taken from `pieces` (by id(factor), for factors that stay alive while `pieces` is used)
    or formatted into it."""
    points = [f.points for f in factors]
    by_size = [-abs(p) for p in points]
    order = sorted(range(len(factors)), key=by_size.__getitem__)  # stable: ties keep the factors' order
    ordered = [factors[i] for i in order]
    score = max(0.0, min(100.0, round(sum([points[i] for i in order]), 1)))  # summed in that order, as before
    shown = []
    for factor in ordered[:3]:
        piece = pieces.get(id(factor))
        if piece is None:
            piece = pieces[id(factor)] = f"{factor.reason} ({factor.points:+g})"
        shown.append(piece)
    return ordered, score, "; ".join(shown)


def build_rank(finding_id: str, factors: list[Factor]) -> Rank:
    ordered, score, reason = rank_parts_with({}, factors)
    return Rank(finding_id=finding_id, score=score, factors=ordered, reason=reason)


def rank_findings(findings: list[Finding], ctx: ScoringContext | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[tuple[Finding, Rank]]:
    """Findings with their ranks, best first; ties broken by path and line so the order is stable.
    `progress(done, total)` hears how scoring goes (every 500 findings and at the end)."""
    return [(f, Rank(finding_id=f.id, score=score, factors=ordered, reason=reason))
            for _, f, (ordered, score, reason), *_ in ranked_members(findings, ctx, progress)]


def ranked_members(findings: list[Finding], ctx: ScoringContext | None = None,
                   progress: Callable[[int, int], None] | None = None) -> list[tuple]:
    """`rank_findings` without the Ranks, as `agent.triage.group.group_parts` takes them (`Member`s, best first):
    each finding with its ranking's (ordered factors, score, reason), shared with every finding of the same
    factors (grouping makes a Rank only when asked), then what grouping reads of it (import only, the statement at
    its first line with the project's facts, path, first and last line, tool, rule id, CWEs) and, as its extra,
    what deciding reads (CVEs, CVSS reading, live-credential kinds, first seen), all read while scoring has the
    finding at hand: touching 100,000 findings again, in rank order, costs more than scoring them."""
    ctx = ctx or ScoringContext()
    total = len(findings)
    members: list[tuple] = []
    code = ctx.code
    statement = ctx._statement
    for done, f in enumerate(findings, 1):
        facts = ctx._read(f)
        parts = _parts(f, ctx, facts)
        spot, rule, cvss, import_only, _ = facts
        path, start = spot.path, spot.start
        # the sort key is taken while the finding and its score are at hand
        members.append(((-parts[1], path, start, f.id), f, parts, None, import_only,
                        None if import_only or code is None else statement(spot), path, start, spot.last, rule.tool,
                        rule.rule_id, rule.cwe_set, (f.cve or None, cvss, spot.credentials or None, f.first_seen)))
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    members.sort(key=itemgetter(0))  # stable: ties keep the input order
    return members
