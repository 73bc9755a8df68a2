"""What real producers' logs say about a finding (issue 18): a CWE given only in the rule id, CWE relationships that
do not make the rule that weakness, Fortify's numeric severity, and a suppression outside the source. Each test
reads the real corpus file (tests/data/shared/sarif-conformance, MANIFEST.md there) or the shape it shows."""

from __future__ import annotations

import json
from pathlib import Path

from agent.ingest.sarif import load_sarif, parse_sarif

DATA = Path(__file__).resolve().parents[1] / "data" / "shared" / "sarif-conformance"


def parsed(name: str):
    return parse_sarif(load_sarif(DATA / name), source_name=name)


def test_cwe_given_only_in_the_rule_id():
    by_rule = {f.rule_id: f.cwe for f in parsed("cwe-in-rule-id-https-root.sarif").findings}
    assert by_rule["CWE-79/unescaped-view-input"] == [79]
    assert by_rule["CWE-79/dom-xss-via-sanitizer-bypass"] == [79]
    assert by_rule["CWE-89/string-concat-query"] == [89]
    assert by_rule["CWE-1220/missing-tenant-scope"] == [1220]
    assert by_rule["NOVEL-prompt-injection-via-system-message"] == []


def test_cwe_rule_id_needs_the_id_to_start_with_it():
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [
        {"ruleId": rule_id, "message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}
        for rule_id in ("CWE-22", "cwe_078/shell", "not-CWE-79", "CWE-79x")]}]}
    assert [f.cwe for f in parse_sarif(log).findings] == [[22], [78], [], []]


def test_incomparable_cwe_relationships_are_not_the_rules_cwe():
    """Flawfinder's FF1002 is "incomparable" to CWE-119 and "relevant" to CWE-120: only 120 is its CWE."""
    log = load_sarif(DATA / "flawfinder-cwe-relationships.sarif")
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert [rel["kinds"] for rel in rules["FF1002"]["relationships"]] == [["incomparable"], ["relevant"]]
    by_rule = {f.rule_id: f.cwe for f in parse_sarif(log).findings}
    assert by_rule["FF1002"] == [120]
    assert by_rule["FF1001"] == [120]


def test_fortify_numeric_severity_is_read():
    """InstanceSeverity "2.0" on Fortify's 1-5 scale is low; the old code ignored it and said medium (the level
    default)."""
    [finding] = parsed("fortify-numeric-severity.sarif").findings
    assert finding.tool == "micro-focus-fortify-static-code-analyzer"
    assert finding.severity == "low"
    log = json.loads((DATA / "fortify-numeric-severity.sarif").read_text())
    log["runs"][0]["results"][0]["properties"]["InstanceSeverity"] = "4.5"
    assert parse_sarif(log).findings[0].severity == "high"
    del log["runs"][0]["results"][0]["properties"]["InstanceSeverity"]  # the rule's DefaultSeverity, 2.0
    assert parse_sarif(log).findings[0].severity == "low"


def test_numeric_severity_of_other_tools_is_not_read_as_fortifys():
    log = json.loads((DATA / "fortify-numeric-severity.sarif").read_text())
    log["runs"][0]["tool"]["driver"]["name"] = "OtherScanner"
    assert parse_sarif(log).findings[0].severity == "medium"


def test_external_suppressions_are_not_said_to_be_in_source():
    base = {"ruleId": "R", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [
        {**base, "suppressions": [{"kind": "external", "justification": "triaged in the tracker"}]},
        {**base, "suppressions": [{"kind": "inSource"}]}]}]}
    reasons = [s.reason for s in parse_sarif(log).skipped]
    assert reasons == ["suppressed outside the source: external (triaged in the tracker)",
                       "suppressed in source: inSource"]
