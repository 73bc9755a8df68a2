"""What a SARIF result means: its rule, message, CWE/CVE ids and confidence (severity: sarif_severity.py).

Works on any SARIF 2.1.0 producer. The standard places are read first (`ruleIndex`, `rule` references into
the driver or an extension, `messageStrings`, `security-severity`, `precision`, CWE taxonomies); a few
widespread conventions come next (CWE tags such as `external/cwe/cwe-078` or `CWE-79: ...`, severity words in
tags or in `*severity` / `*confidence` properties, as written by Bandit, gosec, Trivy, Semgrep and others).
"""

from __future__ import annotations

import re
from typing import Any

from agent.models import Confidence

CONFIDENCE_WORDS: dict[str, Confidence] = {
    "very-high": "high",
    "very high": "high",
    "certain": "high",
    "high": "high",
    "medium": "medium",
    "low": "low",
}
# Tools that write the same `precision` on every rule, so it says nothing about a finding.
CONSTANT_PRECISION_TOOLS = frozenset({"semgrep"})
_CWE = re.compile(r"(?<![a-z0-9])cwe[-_: ]?0*(\d{1,6})(?!\d)", re.IGNORECASE)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)
# A rule id that is a CWE id, whole or as the first segment of a hierarchical id: "CWE-79", "CWE-79/unescaped-view".
_CWE_RULE_ID = re.compile(r"^\s*cwe[-_:]?0*(\d{1,6})\s*(?:$|/)", re.IGNORECASE)
# Relationship kinds (SARIF §3.53.3) under which a CWE taxon says what the rule is about. "incomparable",
# "disjoint" and the ordering kinds (canPrecede, willFollow, ...) relate the rule to a CWE it is not.
_CWE_RELATIONSHIP_KINDS = frozenset({"relevant", "equal", "subset", "superset"})
_CONFIDENCE_TAG = re.compile(r"^\s*(very[- ]high|high|medium|low)[ _-]confidence\s*$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d+)\}")
_EMBEDDED_LINK = re.compile(r"(?<!\\)\[([^\]]+)\]\((\d+)\)")


def obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def arr(value: object) -> list:
    return value if isinstance(value, list) else []


def text_of(message: object) -> str:
    message = obj(message)
    for key in ("text", "markdown"):
        if isinstance(message.get(key), str) and message[key].strip():
            return message[key]
    return ""


def _index(value: object, length: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < length else None


def _find_component(tool: dict, reference: dict) -> dict | None:
    extensions = arr(tool.get("extensions"))
    position = _index(reference.get("index"), len(extensions))
    if position is not None:
        return obj(extensions[position])
    for key in ("guid", "name"):
        wanted = reference.get(key)
        if isinstance(wanted, str):
            for component in [obj(tool.get("driver"))] + [obj(e) for e in extensions]:
                if component.get(key) == wanted:
                    return component
    return None


def _matches(rule: dict, rule_id: str) -> bool:
    rule_key = rule.get("id")
    return isinstance(rule_key, str) and (rule_key == rule_id or rule_id.startswith(rule_key + "/"))


# Rule lookup by id, per tool component: logs with 100,000 results and no ruleIndex would otherwise scan every
# rule for every result. Entries hold the component itself, so a reused id() can never return a stale index.
_RULE_INDEX: dict[int, tuple[dict, dict[str, dict]]] = {}
_RULE_INDEX_LIMIT = 256


def _indexed_rule(component: dict, rule_id: str) -> dict | None:
    """The component's rule with id `rule_id`, or the rule a hierarchical id "a/b/c" extends ("a/b", "a")."""
    entry = _RULE_INDEX.get(id(component))
    if entry is None or entry[0] is not component:
        if len(_RULE_INDEX) >= _RULE_INDEX_LIMIT:
            _RULE_INDEX.clear()
        index: dict[str, dict] = {}
        for raw in arr(component.get("rules")):
            rule = obj(raw)
            key = rule.get("id")
            if isinstance(key, str):
                index.setdefault(key, rule)
        entry = (component, index)
        _RULE_INDEX[id(component)] = entry
    index = entry[1]
    candidate = rule_id
    while True:
        if candidate in index:
            return index[candidate]
        if "/" not in candidate:
            return None
        candidate = candidate.rsplit("/", 1)[0]


def defined_rule_ids(tool: dict) -> frozenset[str]:
    """The ids of every rule the tool's driver and extensions define: a rule id not among them (and not a
    hierarchical id extending one) resolves to no rule (resolve_rule)."""
    components = [obj(tool.get("driver"))] + [obj(e) for e in arr(tool.get("extensions"))]
    return frozenset(key for component in components for rule in arr(component.get("rules"))
                     if isinstance(key := obj(rule).get("id"), str))


def resolve_rule(result: dict, tool: dict) -> tuple[str, dict, dict]:
    """Return (rule id, reportingDescriptor or {}, the tool component that defines it) for a result.

    Follows `rule.toolComponent` into extensions, `rule.index` / `ruleIndex`, then searches by id (also
    hierarchical ids like "a/b" for rule "a") in that component, then in every component, then by guid.
    """
    driver = obj(tool.get("driver"))
    reference = obj(result.get("rule"))
    component = _find_component(tool, obj(reference.get("toolComponent"))) if reference.get(
        "toolComponent"
    ) else None
    component = component or driver
    rules = arr(component.get("rules"))
    given = result.get("ruleId") if isinstance(result.get("ruleId"), str) else reference.get("id")
    rule_id: str = given if isinstance(given, str) else ""
    rule: dict = {}
    for candidate_index in (reference.get("index"), result.get("ruleIndex")):
        position = _index(candidate_index, len(rules))
        if position is not None and (not rule_id or _matches(obj(rules[position]), rule_id)):
            rule = obj(rules[position])
            break
    if not rule and rule_id:
        # the driver once when it is the component (asking it again finds nothing new)
        components = [component] + ([driver] if driver is not component else []) + [
            obj(e) for e in arr(tool.get("extensions"))]
        rule, component = next(
            ((r, c) for c in components if (r := _indexed_rule(c, rule_id)) is not None),
            ({}, component),
        )
    guid = reference.get("guid") or result.get("ruleGuid")
    if not rule and isinstance(guid, str):
        rule = next((obj(r) for r in rules if obj(r).get("guid") == guid), {})
    if not rule_id:
        found = rule.get("id")
        rule_id = found if isinstance(found, str) else "unknown-rule"
    return rule_id, rule, component


def _substitute(template: str, arguments: list) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        position = int(match.group(1))
        return str(arguments[position]) if position < len(arguments) else token

    return _PLACEHOLDER.sub(replace, template)


def message_text(result: dict, rule: dict, component: dict, driver: dict) -> str:
    """The result's message: text, else markdown, else the rule's messageStrings[message.id], with {n}
    arguments substituted and `[label](n)` location links reduced to their label."""
    message = obj(result.get("message"))
    text = message.get("text")
    if "arguments" not in message and type(text) is str and text.strip():
        return _finish_message(text, rule)  # the usual message: plain text, no arguments to substitute
    arguments = arr(message.get("arguments"))
    template = text_of(message)
    message_id = message.get("id")
    if not template and isinstance(message_id, str):
        for strings in (rule.get("messageStrings"), component.get("globalMessageStrings"),
                        driver.get("globalMessageStrings")):
            template = text_of(obj(strings).get(message_id))
            if template:
                break
    if template and arguments:
        template = _substitute(template, arguments)
    return _finish_message(template, rule)


def _finish_message(template: str, rule: dict) -> str:
    """`[label](n)` location links reduced to their label, stripped; else the rule's short or full description."""
    if "](" in template:  # a link needs it: most messages have none and skip the search
        template = _EMBEDDED_LINK.sub(r"\1", template)
    template = template.strip()
    return template or text_of(rule.get("shortDescription")) or text_of(rule.get("fullDescription"))


def tags_of(*property_owners: dict) -> list[str]:
    tags: list[str] = []
    for owner in property_owners:
        for tag in arr(obj(owner.get("properties")).get("tags")):
            if isinstance(tag, str) and tag not in tags:
                tags.append(tag)
    return tags


def _cwe_numbers(value: object) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value] if value > 0 else []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdigit():
            return [int(stripped)] if int(stripped) > 0 else []
        return [int(m) for m in _CWE.findall(stripped) if int(m) > 0]
    return [number for item in arr(value) for number in _cwe_numbers(item)]


def _taxon_ids(references: list, run: dict) -> list[str]:
    """Ids of the taxa that `references` (reportingDescriptorReferences) point at in a CWE taxonomy."""
    taxonomies = [obj(t) for t in arr(run.get("taxonomies"))]
    found: list[str] = []
    for reference in map(obj, references):
        component_ref = obj(reference.get("toolComponent"))
        position = _index(component_ref.get("index"), len(taxonomies))
        taxonomy = taxonomies[position] if position is not None else next(
            (t for t in taxonomies if component_ref.get("guid") and t.get("guid") == component_ref.get("guid")),
            {},
        )
        name = component_ref.get("name") or taxonomy.get("name")
        if not isinstance(name, str) or name.strip().upper() != "CWE":
            continue
        taxa = arr(taxonomy.get("taxa"))
        taxon_id = reference.get("id")
        taxon_position = _index(reference.get("index"), len(taxa))
        if not isinstance(taxon_id, str) and taxon_position is not None:
            taxon_id = obj(taxa[taxon_position]).get("id")
        if isinstance(taxon_id, str):
            found.append(taxon_id)
    return found


def _relevant_relationship(relationship: dict) -> bool:
    kinds = relationship.get("kinds", ["relevant"])  # SARIF's default kinds: ["relevant"]
    return isinstance(kinds, list) and any(isinstance(k, str) and k in _CWE_RELATIONSHIP_KINDS for k in kinds)


def cwe_ids(result: dict, rule: dict, run: dict, rule_id: str = "") -> list[int]:
    """CWE numbers from a rule id that is a CWE id ("CWE-79", "CWE-79/variant"), tags, `cwe` properties, CWE-taxonomy
    relationships of a kind that says the rule is that weakness (not "incomparable", "disjoint" or an ordering)
    and result taxa, in first-seen order."""
    candidates = rule_id_cwe(rule_id) + rule_id_cwe(rule.get("id"))
    candidates += _cwe_numbers(tags_of(result, rule))
    for owner in (result, rule):
        properties = obj(owner.get("properties"))
        for key in ("cwe", "cwes", "cwe_id", "cwe_ids", "CWE"):
            candidates += _cwe_numbers(properties.get(key))
    relationship_targets = [obj(r).get("target") for r in arr(rule.get("relationships"))
                            if _relevant_relationship(obj(r))]
    for taxon_id in _taxon_ids(relationship_targets + arr(result.get("taxa")), run):
        candidates += _cwe_numbers(taxon_id)
    return list(dict.fromkeys(candidates))


def rule_id_cwe(identifier: object) -> list[int]:
    """[n] for a rule id that is a CWE id ("CWE-79", "CWE-79/variant"), else []."""
    match = _CWE_RULE_ID.match(identifier) if isinstance(identifier, str) else None
    return [int(match.group(1))] if match and int(match.group(1)) > 0 else []


def rule_id_cves(rule_id: str) -> list[str]:
    """The CVE ids a rule id names, upper-cased, in order (repeats kept)."""
    return [m.upper() for m in _CVE.findall(rule_id)]


def cve_ids(rule_id: str, rule: dict, result: dict) -> list[str]:
    """CVE ids named by the rule id, rule name, deprecated ids, tags or `cve` properties (never free text)."""
    fields: list[Any] = [rule_id, rule.get("id"), rule.get("name"), *arr(rule.get("deprecatedIds"))]
    fields += tags_of(result, rule)
    for owner in (result, rule):
        properties = obj(owner.get("properties"))
        for key in ("cve", "cves", "CVE"):
            value = properties.get(key)
            fields += arr(value) if isinstance(value, list) else [value]
    found = [m.upper() for value in fields if isinstance(value, str) for m in _CVE.findall(value)]
    return list(dict.fromkeys(found))


def _confidence_word(value: object) -> Confidence | None:
    return CONFIDENCE_WORDS.get(value.strip().lower()) if isinstance(value, str) else None


def confidence_of(result: dict, rule: dict, tool_name: str) -> Confidence:
    """Order: a `*confidence` property (result, then rule; Bandit's issue_confidence), a "<LEVEL> CONFIDENCE"
    tag (Semgrep), the rule's `precision` (CodeQL convention: very-high/high high, medium, low), else medium."""
    for properties in (obj(result.get("properties")), obj(rule.get("properties"))):
        for key, value in properties.items():
            if key.lower().endswith("confidence") and _confidence_word(value):
                return _confidence_word(value)  # type: ignore[return-value]
    for tag in tags_of(result, rule):
        match = _CONFIDENCE_TAG.match(tag)
        if match:
            return CONFIDENCE_WORDS[match.group(1).lower().replace("_", "-")]
    if tool_name not in CONSTANT_PRECISION_TOOLS:
        for properties in (obj(result.get("properties")), obj(rule.get("properties"))):
            word = _confidence_word(properties.get("precision"))
            if word:
                return word
    return "medium"


def rule_name(rule: dict, rule_id: str) -> str | None:
    name = rule.get("name")
    if isinstance(name, str) and name.strip() and name != rule_id:
        return name
    short = text_of(rule.get("shortDescription"))
    return short if short and short != rule_id else None  # a description that only repeats the id names nothing


def help_uri(rule: dict) -> str | None:
    uri = rule.get("helpUri")
    return uri if isinstance(uri, str) and uri.strip() else None



_SUPPRESSION_KINDS = frozenset({"inSource", "external"})
_SUPPRESSION_STATUSES = frozenset({"accepted", "underReview", "rejected"})
_SUPPRESSION_PROPERTIES = ("until", "reviewer", "reason")


def suppression_records(result: dict) -> list[dict[str, str]]:
    """The result's suppressions as plain strings (kind, status, justification, and suture's own `until`,
    `reviewer` and `reason` properties), for keeping with the finding. A kind SARIF does not define is kept as
    "unspecified"; one whose status SARIF does not define is left out."""
    records: list[dict[str, str]] = []
    if "suppressions" not in result:
        return records
    for raw in arr(result.get("suppressions")):
        suppression = obj(raw)
        kind, status = suppression.get("kind"), suppression.get("status")
        if status is not None and status not in _SUPPRESSION_STATUSES:
            continue
        record = {"kind": kind if kind in _SUPPRESSION_KINDS else "unspecified"}
        if status in _SUPPRESSION_STATUSES:
            record["status"] = status
        justification = suppression.get("justification")
        if isinstance(justification, str) and justification.strip():
            record["justification"] = justification
        properties = obj(suppression.get("properties"))
        record.update({key: properties[key] for key in _SUPPRESSION_PROPERTIES if isinstance(properties.get(key), str)})
        records.append(record)
    return records


def suppression_label(kind: object) -> str:
    """How a suppression of `kind` is described in a skip reason: only `inSource` is in the source."""
    if kind == "inSource":
        return "suppressed in source"
    if kind == "external":
        return "suppressed outside the source"
    return "suppressed"
