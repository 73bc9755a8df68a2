"""The per-rule label memo gives each result exactly what a full, per-result reading of the SARIF gives."""

from agent.ingest.sarif import parse_sarif


def _log(results: list[dict]) -> dict:
    rule = {"id": "R1", "name": "sqli", "helpUri": "https://example.invalid/r1",
            "properties": {"tags": ["security", "external/cwe/cwe-79"], "precision": "low"}}
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner", "rules": [rule]}},
                                          "results": results}]}


def _result(line: int, **extra: object) -> dict:
    return {"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "app.py"}, "region": {"startLine": line, "snippet": {"text": f"x{line}()"}}}}],
        **extra}


def test_results_sharing_a_rule_keep_their_own_labels():
    results = [
        _result(1),  # only the rule speaks
        _result(2, level="error"),  # own level: own severity
        _result(3, properties={"tags": ["CWE-89", "HIGH CONFIDENCE"], "security-severity": "9.1"}),
        _result(4, properties={"issue_confidence": "HIGH"}),  # own properties, no own CWE/CVE/tags
        _result(5, taxa=[{"id": "CWE-22", "toolComponent": {"name": "CWE"}}]),
        _result(6),  # the memoized answer again
        _result(7, ruleId="R1/CVE-2024-12345"),  # hierarchical id: same rule object, another rule id
    ]
    findings = {f.location.start_line: f for f in parse_sarif(_log(results)).findings}
    plain = findings[1]
    assert (plain.cwe, plain.severity, plain.confidence, plain.tags) == ([79], "medium", "low", ["security",
                                                                                                 "external/cwe/cwe-79"])
    assert plain.rule_name == "sqli" and plain.help_uri == "https://example.invalid/r1" and plain.cve == []
    assert findings[2].severity == "high" and findings[2].cwe == [79]
    assert findings[3].cwe == [89, 79] and findings[3].severity == "critical" and findings[3].confidence == "high"
    assert findings[3].tags == ["security", "external/cwe/cwe-79", "CWE-89", "HIGH CONFIDENCE"]
    assert findings[4].confidence == "high" and findings[4].cwe == [79]
    assert findings[5].cwe == [79, 22]
    assert findings[6].model_dump(include={"cwe", "cve", "tags", "severity", "confidence"}) == plain.model_dump(
        include={"cwe", "cve", "tags", "severity", "confidence"})
    assert findings[7].cve == ["CVE-2024-12345"] and findings[7].rule_id == "R1/CVE-2024-12345"
    findings[1].tags.append("mutated")  # findings never share a list with the memo or with each other
    assert "mutated" not in findings[6].tags


def test_ids_a_rule_id_names_stay_with_their_result_and_run():
    """The rule's own ids are worked out once per rule and run; what each result's rule id names is its own."""
    def run(tags: list[str], results: list[dict]) -> dict:
        rule = {"id": "CWE-79", "properties": {"tags": tags}}
        return {"tool": {"driver": {"name": "scanner", "rules": [rule]}}, "results": results}

    first = [_result(1, ruleId="CVE-2024-0001"),  # rules the run does not define (Trivy: one per CVE)
             _result(2, ruleId="CWE-22"),
             _result(3, ruleId="CVE-2024-0002 CVE-2024-0001"),
             _result(4, ruleId="CWE-79"),
             _result(5, ruleId="CWE-79/CVE-2023-9999")]  # hierarchical: the CWE-79 rule, its own CVE
    second = [_result(1, ruleId="CWE-79"), _result(2, ruleId="CVE-2024-0003")]
    log = {"version": "2.1.0", "runs": [run(["CWE-89", "CVE-2020-0001"], first), run(["CWE-20"], second)]}
    one, two = ({f.location.start_line: (f.cwe, f.cve) for f in r.findings} for r in parse_sarif(log).runs)
    assert one == {1: ([], ["CVE-2024-0001"]), 2: ([22], []), 3: ([], ["CVE-2024-0002", "CVE-2024-0001"]),
                   4: ([79, 89], ["CVE-2020-0001"]), 5: ([79, 89], ["CVE-2023-9999", "CVE-2020-0001"])}
    assert two == {1: ([79, 20], []), 2: ([], ["CVE-2024-0003"])}
