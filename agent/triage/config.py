"""The business context for triage: weights, assets, owners, teams, SLAs and CVSS overrides.

Handles the raw `[triage]` table of suture.toml (or `[tool.suture.triage]` in pyproject.toml). Everything is
checked before anything is used: a bad glob, an unknown team, a negative capacity, an unknown decision, a
malformed CVSS vector... is a `TriageConfigError` naming the file, the line and the field. See the README
("Triage configuration") for the format and why each default is what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeowners import path_to_regex
from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from agent.errors import SutureError

DECISIONS = ("act", "attend", "track_star", "track")
TIERS = (1, 2, 3, 4)
SENSITIVITY = ("public", "internal", "confidential", "restricted")
FACTOR_NAMES = ("severity", "confidence", "cwe_class", "exploitability", "reachability", "evidence", "asset",
                "fix", "age", "corroboration")

# Days to fix, by SSVC decision, for asset tiers 1..4 (tier 1 = most critical). Act on a crown-jewel in a week,
# Attend within a month, Track* within a quarter, Track at the next routine clean-up (half a year to a year).
DEFAULT_SLA_DAYS: dict[str, tuple[int, int, int, int]] = {
    "act": (7, 14, 30, 30),
    "attend": (30, 45, 60, 90),
    "track_star": (90, 120, 180, 180),
    "track": (180, 270, 365, 365),
}
DEFAULT_TIER = 3  # an asset nobody described: ordinary internal software


class TriageConfigError(SutureError):
    """The triage configuration cannot be used; the message names file, line and field."""


@dataclass(frozen=True)
class Asset:
    name: str
    patterns: tuple[str, ...]
    regexes: tuple[re.Pattern[str], ...]
    tier: int = DEFAULT_TIER
    internet_facing: bool = False
    data: str = "internal"
    team: str | None = None

    def matches(self, path: str) -> bool:
        return any(r.search(path) for r in self.regexes)


@dataclass(frozen=True)
class OwnerRule:
    patterns: tuple[str, ...]
    regexes: tuple[re.Pattern[str], ...]
    team: str


@dataclass
class TriageConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FACTOR_NAMES, 1.0))
    assets: list[Asset] = field(default_factory=list)
    owners: list[OwnerRule] = field(default_factory=list)
    capacity: dict[str, int | None] = field(default_factory=dict)  # team -> fixes per week (None: unlimited)
    sla_days: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    cvss: dict[str, str] = field(default_factory=dict)  # rule id / CVE id -> vector
    codeowners: str | None = None
    default_team: str = "unowned"
    source: str = "defaults"

    def team_known(self, team: str) -> bool:
        return not self.capacity or team in self.capacity or team == self.default_team


def cvss_base_score(vector: str) -> tuple[float, dict[str, str]]:
    """(base score, metrics) for a CVSS v2, v3.x or v4.0 vector; raises ValueError when malformed."""
    text = vector.strip()
    try:
        if text.startswith("CVSS:4.0/"):
            parsed4 = CVSS4(text)
            return float(parsed4.base_score), dict(parsed4.metrics)
        if text.startswith("CVSS:3."):
            parsed3 = CVSS3(text)
            return float(parsed3.base_score), dict(parsed3.metrics)
        parsed2 = CVSS2(text)
        return float(parsed2.base_score), dict(parsed2.metrics)
    except CVSSError as exc:
        raise ValueError(str(exc)) from None


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A path glob with CODEOWNERS / gitignore semantics (`*`, `**`, `?`, `[...]`, leading `/` anchors)."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("empty glob")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"unbalanced brackets in glob {pattern!r}")
    try:
        return path_to_regex(pattern.strip())
    except (re.error, IndexError) as exc:
        raise ValueError(f"bad glob {pattern!r}: {exc}") from None


class _Locator:
    """Finds the line of a field in the config file text, so errors can name it."""

    def __init__(self, path: Path | None, prefix: str) -> None:
        self.path = path
        self.prefix = prefix
        self.lines = path.read_text(encoding="utf-8").splitlines() if path and path.is_file() else []

    def where(self, loc: tuple[Any, ...], value: object = None) -> str:
        dotted = self.prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        line = self._line(loc, value)
        file = str(self.path) if self.path else "settings"
        return f"{file}:{line}: {dotted}" if line else f"{file}: {dotted}"

    def _line(self, loc: tuple[Any, ...], value: object) -> int | None:
        start, stop = 0, len(self.lines)
        names = [p for p in loc if isinstance(p, str)]
        if loc and isinstance(loc[0], str) and len(loc) > 1 and isinstance(loc[1], int):
            header = re.compile(r"^\s*\[\[\s*[\w.]*\b" + re.escape(loc[0]) + r"\s*\]\]")
            starts = [i for i, text in enumerate(self.lines) if header.match(text)]
            if len(starts) > loc[1]:
                start = starts[loc[1]]
                stop = next((i for i in range(start + 1, len(self.lines))
                             if self.lines[i].lstrip().startswith("[")), len(self.lines))
        key = names[-1] if names else None
        shown = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        for want_value in (True, False):
            for i in range(start, stop):
                text = self.lines[i]
                if key and re.search(r"(^|[\s{,\"'.])" + re.escape(key) + r"[\"']?\s*=", text) and (
                        not want_value or shown is None or shown in text):
                    return i + 1
                if key and want_value and shown and f"[{self.prefix.split('.')[-1]}" in text and key in text:
                    return i + 1
        if key:  # a table header such as [triage.teams.payments]
            for i, text in enumerate(self.lines):
                if text.strip().startswith("[") and key in text:
                    return i + 1
        return start + 1 if start else None


def _triage_source(project_dir: Path | None) -> tuple[Path | None, str]:
    if project_dir is None:
        return None, "triage"
    if (project_dir / "suture.toml").is_file():
        return project_dir / "suture.toml", "triage"
    if (project_dir / "pyproject.toml").is_file():
        return project_dir / "pyproject.toml", "tool.suture.triage"
    return None, "triage"


def _expect(cond: bool, loc: tuple[Any, ...], value: object, message: str, where: _Locator) -> None:
    if not cond:
        raise TriageConfigError(f"{where.where(loc, value)}: {message}")


def _globs(raw: object, loc: tuple[Any, ...], where: _Locator) -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    patterns: list[str] = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    _expect(isinstance(patterns, list) and bool(patterns) and all(isinstance(p, str) for p in patterns), loc, None,
            "expected a glob or a non-empty list of globs", where)
    regexes = []
    for pattern in patterns:
        try:
            regexes.append(compile_glob(pattern))
        except ValueError as exc:
            raise TriageConfigError(f"{where.where(loc, pattern)}: {exc}") from None
    return tuple(patterns), tuple(regexes)


def _known_keys(table: dict, allowed: set[str], loc: tuple[Any, ...], where: _Locator) -> None:
    for key in table:
        _expect(key in allowed, (*loc, key), None,
                f"unknown key {key!r} (known: {', '.join(sorted(allowed))})", where)


def parse_triage_config(raw: dict[str, Any] | None, project_dir: Path | None = None) -> TriageConfig:
    """Validate the raw `[triage]` table into a TriageConfig; raises TriageConfigError on the first problem."""
    path, prefix = _triage_source(project_dir)
    where = _Locator(path, prefix)
    raw = raw or {}
    config = TriageConfig(source=str(path) if path and raw else "defaults")
    _known_keys(raw, {"weights", "assets", "owners", "teams", "sla", "cvss", "codeowners", "default_team"}, (),
                where)

    weights = raw.get("weights", {})
    _expect(isinstance(weights, dict), ("weights",), None, "expected a table of factor = multiplier", where)
    _known_keys(weights, set(FACTOR_NAMES), ("weights",), where)
    for name, value in weights.items():
        _expect(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 5,
                ("weights", name), value, f"weight must be a number from 0 to 5, not {value!r}", where)
        config.weights[name] = float(value)

    teams = raw.get("teams", {})
    _expect(isinstance(teams, dict), ("teams",), None, "expected a table of team = { capacity = N }", where)
    for team, spec in teams.items():
        _expect(isinstance(spec, dict), ("teams", team), None, "expected a table such as { capacity = 5 }", where)
        _known_keys(spec, {"capacity"}, ("teams", team), where)
        capacity = spec.get("capacity")
        if capacity is not None:
            _expect(isinstance(capacity, int) and not isinstance(capacity, bool) and capacity > 0,
                    ("teams", team, "capacity"), capacity,
                    f"capacity is fixes per week, a whole number above 0, not {capacity!r}", where)
        config.capacity[team] = capacity

    default_team = raw.get("default_team", "unowned")
    _expect(isinstance(default_team, str) and bool(default_team.strip()), ("default_team",), default_team,
            "expected a team name", where)
    config.default_team = default_team

    def check_team(team: object, loc: tuple[Any, ...]) -> str:
        _expect(isinstance(team, str) and bool(team.strip()), loc, team, "expected a team name", where)
        _expect(config.team_known(str(team)), loc, team,
                f"unknown team {team!r}: add it under [{prefix}.teams] (known: {', '.join(sorted(config.capacity))})",
                where)
        return str(team)

    assets = raw.get("assets", [])
    _expect(isinstance(assets, list), ("assets",), None, "expected [[assets]] tables", where)
    for i, spec in enumerate(assets):
        _expect(isinstance(spec, dict), ("assets", i), None, "expected a table", where)
        _known_keys(spec, {"name", "paths", "tier", "internet_facing", "data", "team"}, ("assets", i), where)
        name = spec.get("name", f"asset {i + 1}")
        _expect(isinstance(name, str) and bool(name.strip()), ("assets", i, "name"), name, "expected a name", where)
        patterns, regexes = _globs(spec.get("paths"), ("assets", i, "paths"), where)
        tier = spec.get("tier", DEFAULT_TIER)
        _expect(tier in TIERS and not isinstance(tier, bool), ("assets", i, "tier"), tier,
                f"tier must be 1 (most critical) to 4, not {tier!r}", where)
        exposed = spec.get("internet_facing", False)
        _expect(isinstance(exposed, bool), ("assets", i, "internet_facing"), exposed, "expected true or false", where)
        data = spec.get("data", "internal")
        _expect(data in SENSITIVITY, ("assets", i, "data"), data,
                f"data must be one of {', '.join(SENSITIVITY)}, not {data!r}", where)
        team = check_team(spec["team"], ("assets", i, "team")) if "team" in spec else None
        config.assets.append(Asset(name, patterns, regexes, tier, exposed, data, team))

    owners = raw.get("owners", [])
    _expect(isinstance(owners, list), ("owners",), None, "expected [[owners]] tables", where)
    for i, spec in enumerate(owners):
        _expect(isinstance(spec, dict), ("owners", i), None, "expected a table", where)
        _known_keys(spec, {"paths", "team"}, ("owners", i), where)
        patterns, regexes = _globs(spec.get("paths"), ("owners", i, "paths"), where)
        _expect("team" in spec, ("owners", i, "team"), None, "missing team", where)
        config.owners.append(OwnerRule(patterns, regexes, check_team(spec["team"], ("owners", i, "team"))))

    sla = raw.get("sla", {})
    _expect(isinstance(sla, dict), ("sla",), None, "expected a table of decision = [days for tiers 1..4]", where)
    _known_keys(sla, set(DECISIONS), ("sla",), where)
    for decision, days in sla.items():
        _expect(isinstance(days, list) and len(days) == 4 and all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days), ("sla", decision), None,
            "expected four whole numbers of days above 0, for tiers 1, 2, 3 and 4", where)
        config.sla_days[decision] = tuple(days)

    cvss = raw.get("cvss", {})
    _expect(isinstance(cvss, dict), ("cvss",), None, "expected a table of rule-or-CVE id = vector", where)
    for key, vector in cvss.items():
        _expect(isinstance(vector, str), ("cvss", key), vector, "expected a CVSS vector string", where)
        try:
            cvss_base_score(vector)
        except ValueError as exc:
            raise TriageConfigError(f"{where.where(('cvss', key), vector)}: malformed CVSS vector: {exc}") from None
        config.cvss[key.upper() if key.upper().startswith("CVE-") else key] = vector

    codeowners = raw.get("codeowners")
    _expect(codeowners is None or isinstance(codeowners, str), ("codeowners",), codeowners,
            "expected a path to a CODEOWNERS file", where)
    if codeowners and project_dir is not None:
        _expect((project_dir / codeowners).is_file(), ("codeowners",), codeowners, f"no such file {codeowners!r}",
                where)
    config.codeowners = codeowners
    return config
