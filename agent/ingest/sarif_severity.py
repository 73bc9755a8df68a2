"""How severe a SARIF result is, for any producer: `security-severity` scores, Fortify's numeric severity, a tool's
own severity words, and finally the SARIF level. Rules and tags come from sarif_rules.py."""

from __future__ import annotations

import math

from agent.ingest.sarif_rules import obj, tags_of
from agent.models import Severity

LEVEL_SEVERITY: dict[str, Severity] = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
SEVERITY_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "info": "info",
    "informational": "info",
}
_NOT_TOOL_SEVERITY_KEYS = frozenset({"security-severity", "problem.severity", "sub-severity"})
# Fortify's numeric severity (FVDL InstanceSeverity / DefaultSeverity, 1.0-5.0, 5 the most severe).
_FORTIFY_SEVERITY_KEYS = ("InstanceSeverity", "DefaultSeverity")


def band_score(score: float) -> Severity:
    """CVSS-style bands: >=9 critical, >=7 high, >=4 medium, >0 low, 0 info."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "info"


def _security_severity(value: object) -> tuple[Severity, float | None] | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in SEVERITY_WORDS:
        return SEVERITY_WORDS[value.strip().lower()], None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(score) or score < 0:
        return None
    return band_score(score), score


def fortify_band(score: float) -> Severity:
    """Fortify's 1.0-5.0 severity scale: 5 critical, 4 high, 3 medium, 2 low, below 2 info."""
    for floor, band in ((5.0, "critical"), (4.0, "high"), (3.0, "medium"), (2.0, "low")):
        if score >= floor:
            return band  # type: ignore[return-value]
    return "info"


def _fortify_severity(result: dict, rule: dict, tool: str) -> Severity | None:
    """Fortify's numeric severity: the result's InstanceSeverity, else the rule's DefaultSeverity (Fortify
    converters write it in defaultConfiguration.properties). Only for Fortify logs: other tools' numbers mean
    other scales."""
    if "fortify" not in tool:
        return None
    owners = (obj(result.get("properties")), obj(rule.get("properties")),
              obj(obj(rule.get("defaultConfiguration")).get("properties")))
    for owner in owners:
        for key in _FORTIFY_SEVERITY_KEYS:
            value = owner.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                continue
            try:
                score = float(value)
            except ValueError:
                continue
            if math.isfinite(score) and 0 <= score <= 5:
                return fortify_band(score)
    return None


def _tool_severity(properties: dict) -> Severity | None:
    for key, value in properties.items():
        lowered = key.lower()
        if lowered.endswith("severity") and lowered not in _NOT_TOOL_SEVERITY_KEYS and isinstance(value, str):
            word = value.strip().lower()
            if word in SEVERITY_WORDS:
                return SEVERITY_WORDS[word]
    return None


def effective_level(result: dict, rule: dict) -> str:
    """SARIF level: the result's, else the rule's default; "none" for non-"fail" kinds, else "warning"."""
    level = result.get("level")
    if isinstance(level, str) and level in LEVEL_SEVERITY:
        return level
    kind = result.get("kind")
    if isinstance(kind, str) and kind != "fail":
        return "none"
    default = obj(rule.get("defaultConfiguration")).get("level")
    return default if isinstance(default, str) and default in LEVEL_SEVERITY else "warning"


def severity_of(result: dict, rule: dict, tool: str = "") -> tuple[Severity, float | None]:
    """(severity, numeric security-severity or None). What the result says beats what its rule says. Order:
    the result's security-severity; Fortify's numeric InstanceSeverity, then its rule's DefaultSeverity (Fortify
    logs only); a tool's own severity word in a `*severity` property of the result; the rule's security-severity;
    a severity word property of the rule; a severity word used as a tag (e.g. gosec's "MEDIUM"); finally the
    SARIF level (error high, warning medium, note low, none info)."""
    result_props, rule_props = obj(result.get("properties")), obj(rule.get("properties"))
    parsed = _security_severity(result_props.get("security-severity"))
    if parsed is not None:
        return parsed
    fortify = _fortify_severity(result, rule, tool)
    if fortify is not None:
        return fortify, None
    word = _tool_severity(result_props)
    if word is not None:
        return word, None
    parsed = _security_severity(rule_props.get("security-severity"))
    if parsed is not None:
        return parsed
    word = _tool_severity(rule_props)
    if word is not None:
        return word, None
    for tag in tags_of(result, rule):
        if tag.strip().lower() in SEVERITY_WORDS:
            return SEVERITY_WORDS[tag.strip().lower()], None
    return LEVEL_SEVERITY[effective_level(result, rule)], None
