"""Per-run memo of what a SARIF result's rule decides about it: CWE/CVE ids, tags, severity, confidence, name.

For logs of any producer with many results per rule (100,000 results over a few hundred rules is common): a
result that carries no properties or taxa of its own gets exactly its rule's labels, so they are worked out once.
The rules themselves live in sarif_rules.py; this module only decides when a memoized answer is the same answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from agent.ingest.sarif_records import rule_values_exact
from agent.ingest.sarif_rules import (
    arr,
    confidence_of,
    cve_ids,
    cwe_ids,
    help_uri,
    obj,
    rule_id_cves,
    rule_id_cwe,
    rule_name,
    tags_of,
)
from agent.ingest.sarif_severity import severity_of
from agent.models import Confidence, Severity

# Result properties that add to what the rule says about CWE/CVE ids and tags; a result with none of them (and no
# `taxa`) gets exactly its rule's labels.
_LABEL_KEYS = frozenset({"tags", "cwe", "cwes", "cwe_id", "cwe_ids", "CWE", "cve", "cves", "CVE"})


class Labels(NamedTuple):
    """What rule and result say about a finding besides its location and message (immutable: shared by results)."""

    rule_name: str | None
    help_uri: str | None
    cwe: tuple[int, ...]
    cve: tuple[str, ...]
    tags: tuple[str, ...]
    severity: Severity
    security_severity: float | None
    confidence: Confidence
    exact: bool  # all values a Finding takes as they are (sarif_records.rule_values_exact)


def _labels_of(rule_name: str | None, help_uri: str | None, cwe: tuple, cve: tuple, tags: tuple, severity: Severity,
               security_severity: float | None, confidence: Confidence) -> Labels:
    exact = rule_values_exact(rule_name, help_uri, cwe, cve, tags, severity, confidence, security_severity)
    return Labels(rule_name, help_uri, cwe, cve, tags, severity, security_severity, confidence, exact)


_SCALARS = (str, int, float, bool, type(None))
_MAX_MEMO_PROPERTIES = 8


def _scalar_items(properties: dict) -> tuple | None:
    """The result's properties as a key: (name, type, value) each (the type keeps 1, 1.0 and True apart), or None
    when one is not a plain scalar (tags, nested bags: worked out in full) or there are many."""
    if len(properties) > _MAX_MEMO_PROPERTIES:
        return None
    items = tuple((key, type(value), value) for key, value in properties.items())
    return items if all(type(value) in _SCALARS for _, value_type, value in items) else None


def _after(first: list, rest: tuple) -> tuple:
    """`first` then `rest`, each value once, in first-seen order (as the id lists are built)."""
    return tuple(dict.fromkeys([*first, *rest])) if first else rest


class RuleLabelMemo:
    """Labels per rule, for one run: most results add nothing of their own to their rule's CWE/CVE ids, tags,
    severity and confidence, or only a few plain properties, so those are worked out once per rule (and per
    level, kind and plain properties) instead of per result. Results with taxa or with properties that are not
    plain scalars (tags, nested bags) are worked out in full every time."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int], tuple[dict, tuple]] = {}
        self._grades: dict[tuple[int, str | None, str | None], tuple[dict, tuple]] = {}
        self._whole: dict[tuple[int, str, str | None, str | None, tuple], tuple[dict, Labels]] = {}

    def labels(self, result: dict, rule: dict, rule_id: str, run: dict, tool: str) -> Labels:
        if "properties" not in result and "taxa" not in result:  # the rule says it all: its level and kind may vary
            level, kind = result.get("level"), result.get("kind")
            key = (id(rule), rule_id, level if isinstance(level, str) else None,
                   kind if isinstance(kind, str) else None, ())
            whole = self._get(self._whole, key, rule)
            if whole is None:
                whole = self._put(self._whole, key, rule, self._labels(result, rule, rule_id, run, tool, {}))
            return whole
        properties = obj(result.get("properties"))
        # the commonest cases: everything comes from the rule, or from the rule and a few plain properties of the
        # result (Bandit's issue_severity/issue_confidence): the same rule, level, kind and properties give the same
        scalars = _scalar_items(properties)
        if scalars is not None and not arr(result.get("taxa")):
            level, kind = result.get("level"), result.get("kind")
            key = (id(rule), rule_id, level if isinstance(level, str) else None, kind if isinstance(kind, str) else None,
                   scalars)
            whole = self._get(self._whole, key, rule)
            if whole is None:
                whole = self._put(self._whole, key, rule, self._labels(result, rule, rule_id, run, tool, properties))
            return whole
        return self._labels(result, rule, rule_id, run, tool, properties)

    def _labels(self, result: dict, rule: dict, rule_id: str, run: dict, tool: str, properties: dict) -> Labels:
        if not arr(result.get("taxa")) and not _LABEL_KEYS.intersection(properties):
            ids = self._rule_ids(rule, rule_id, run)
        else:
            ids = self._ids_of(result, rule, rule_id, run)
        grades = None
        if not properties:
            level, kind = result.get("level"), result.get("kind")
            key = (id(rule), level if isinstance(level, str) else None, kind if isinstance(kind, str) else None)
            grades = self._get(self._grades, key, rule)
            if grades is None:
                grades = self._put(self._grades, key, rule, self._grades_of(result, rule, tool))
        grades = grades or self._grades_of(result, rule, tool)
        return _labels_of(rule_name(rule, rule_id), help_uri(rule), *ids, *grades)

    def _rule_ids(self, rule: dict, rule_id: str, run: dict) -> tuple:
        """_ids_of a result that adds no CWE/CVE ids or tags of its own (no taxa, no such properties): its rule's,
        worked out once per rule, after what the rule id itself names (a CVE per result, as Trivy writes, is no
        reason to work the rule out again)."""
        from_rule = self._get(self._ids, (id(rule),), rule)
        if from_rule is None:
            from_rule = self._put(self._ids, (id(rule),), rule, self._ids_of({}, rule, "", run))
        cwe, cve, tags = from_rule
        return _after(rule_id_cwe(rule_id), cwe), _after(rule_id_cves(rule_id), cve), tags

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
