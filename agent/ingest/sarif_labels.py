"""Per-run memo of what a SARIF result's rule decides about it: CWE/CVE ids, tags, severity, confidence, name.

For logs of any producer with many results per rule (100,000 results over a few hundred rules is common): a
result that carries no properties or taxa of its own gets exactly its rule's labels, so they are worked out once.
The rules themselves live in sarif_rules.py; this module only decides when a memoized answer is the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.ingest.sarif_rules import (
    arr,
    confidence_of,
    cve_ids,
    cwe_ids,
    help_uri,
    obj,
    rule_name,
    tags_of,
)
from agent.ingest.sarif_severity import severity_of
from agent.models import Confidence, Severity

# Result properties that add to what the rule says about CWE/CVE ids and tags; a result with none of them (and no
# `taxa`) gets exactly its rule's labels.
_LABEL_KEYS = frozenset({"tags", "cwe", "cwes", "cwe_id", "cwe_ids", "CWE", "cve", "cves", "CVE"})


@dataclass(frozen=True)
class Labels:
    """What rule and result say about a finding besides its location and message."""

    rule_name: str | None
    help_uri: str | None
    cwe: tuple[int, ...]
    cve: tuple[str, ...]
    tags: tuple[str, ...]
    severity: Severity
    security_severity: float | None
    confidence: Confidence


class RuleLabelMemo:
    """Labels per rule, for one run: most results add nothing of their own to their rule's CWE/CVE ids, tags,
    severity and confidence, so those are worked out once per rule (and per level/kind) instead of per result.
    Results that do carry their own properties or taxa are worked out in full every time."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, str], tuple[dict, tuple]] = {}
        self._grades: dict[tuple[int, str | None, str | None], tuple[dict, tuple]] = {}
        self._whole: dict[tuple[int, str, str | None, str | None], tuple[dict, Labels]] = {}

    def labels(self, result: dict, rule: dict, rule_id: str, run: dict, tool: str) -> Labels:
        properties = obj(result.get("properties"))
        if not properties and not arr(result.get("taxa")):  # the commonest case: everything comes from the rule
            level, kind = result.get("level"), result.get("kind")
            key = (id(rule), rule_id, level if isinstance(level, str) else None, kind if isinstance(kind, str) else None)
            whole = self._get(self._whole, key, rule)
            if whole is None:
                whole = self._put(self._whole, key, rule, self._labels(result, rule, rule_id, run, tool, properties))
            return whole
        return self._labels(result, rule, rule_id, run, tool, properties)

    def _labels(self, result: dict, rule: dict, rule_id: str, run: dict, tool: str, properties: dict) -> Labels:
        ids = None
        if not arr(result.get("taxa")) and not _LABEL_KEYS.intersection(properties):
            ids = self._get(self._ids, (id(rule), rule_id), rule)
            if ids is None:
                ids = self._put(self._ids, (id(rule), rule_id), rule, self._ids_of(result, rule, rule_id, run))
        ids = ids or self._ids_of(result, rule, rule_id, run)
        grades = None
        if not properties:
            level, kind = result.get("level"), result.get("kind")
            key = (id(rule), level if isinstance(level, str) else None, kind if isinstance(kind, str) else None)
            grades = self._get(self._grades, key, rule)
            if grades is None:
                grades = self._put(self._grades, key, rule, self._grades_of(result, rule, tool))
        grades = grades or self._grades_of(result, rule, tool)
        return Labels(rule_name(rule, rule_id), help_uri(rule), *ids, *grades)

    @staticmethod
    def _get(cache: dict, key: tuple, rule: dict) -> Any:
        entry = cache.get(key)
        # the entry keeps its rule alive and is checked by identity, so a reused id() never returns stale labels
        return entry[1] if entry is not None and entry[0] is rule else None

    @staticmethod
    def _put(cache: dict, key: tuple, rule: dict, value: Any) -> Any:
        cache[key] = (rule, value)
        return value

    @staticmethod
    def _ids_of(result: dict, rule: dict, rule_id: str, run: dict) -> tuple:
        return (tuple(cwe_ids(result, rule, run, rule_id)), tuple(cve_ids(rule_id, rule, result)),
                tuple(tags_of(rule, result)))

    @staticmethod
    def _grades_of(result: dict, rule: dict, tool: str) -> tuple:
        return (*severity_of(result, rule, tool), confidence_of(result, rule, tool))
