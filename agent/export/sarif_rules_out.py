"""The SARIF reportingDescriptor (rule) suture writes for one rule of one tool, as GitHub code scanning reads it.

GitHub takes a rule's `shortDescription` as the alert title, `fullDescription` and `help` for the help panel,
and shows `security-severity` (with the `security` tag) as the alert's severity. Every field is built from what
the findings of the rule hold, so re-ingesting suture's output gives back the same rule name, CWE ids and tags.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models import Finding

# A representative CVSS-like score per severity, for findings whose scanner gave none (GitHub's bands:
# >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low).
SEVERITY_SCORE = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0, "info": 0.0}
_CWE_TAG = re.compile(r"(?<![a-z0-9])cwe[-_: ]?0*(\d{1,6})(?!\d)", re.IGNORECASE)


def score_of(finding: Finding) -> float:
    return finding.security_severity if finding.security_severity is not None else SEVERITY_SCORE[finding.severity]


def cwe_tag(number: int) -> str:
    return f"external/cwe/cwe-{number:03d}" if number < 100 else f"external/cwe/cwe-{number}"


def common_cwes(findings: list[Finding]) -> list[int]:
    """The CWE ids every finding of a rule shares, in the first finding's order (written on the rule)."""
    shared = set(findings[0].cwe).intersection(*(set(f.cwe) for f in findings[1:]))
    return [number for number in findings[0].cwe if number in shared]


def rule_tags(findings: list[Finding]) -> list[str]:
    """`security`, the CWE tags every finding shares, and the tags the scanner gave (all of them, as written)."""
    tags = ["security"]
    named = {int(m) for tag in findings[0].tags for m in _CWE_TAG.findall(tag)}
    tags += [cwe_tag(n) for n in common_cwes(findings) if n not in named]
    for tag in findings[0].tags:
        if tag not in tags:
            tags.append(tag)
    return tags


def _descriptions(first: Finding, cwes: list[int]) -> tuple[str, str, str, str]:
    """shortDescription, fullDescription, help text and help markdown."""
    tool = first.tool_name or first.tool
    title = first.rule_name or first.rule_id
    weakness = ", ".join(f"CWE-{n}" for n in cwes)
    full = f"{tool} rule {first.rule_id}" + (f" ({first.rule_name})" if first.rule_name else "")
    full += f": {weakness}." if weakness else "."
    links = [f"https://cwe.mitre.org/data/definitions/{n}.html" for n in cwes]
    if first.help_uri:
        links.insert(0, first.help_uri)
    text = full + (" See " + ", ".join(links) + "." if links else "")
    markdown = f"**{tool}** rule `{first.rule_id}`" + (f" ({first.rule_name})" if first.rule_name else "")
    markdown += "\n\n" + "\n".join(f"- [CWE-{n}](https://cwe.mitre.org/data/definitions/{n}.html)" for n in cwes)
    if first.help_uri:
        markdown += f"\n- [{tool} documentation]({first.help_uri})"
    return title, full, text, markdown.strip()


def rule_descriptor(findings: list[Finding]) -> dict[str, Any]:
    """The rule for `findings` (all of one tool and rule id): id, name, descriptions, help, default level,
    `security` and CWE tags, and `security-severity` (the highest of its findings, GitHub's convention)."""
    first = findings[0]
    cwes = common_cwes(findings)
    short, full, text, markdown = _descriptions(first, cwes)
    top = max(score_of(f) for f in findings)
    rule: dict[str, Any] = {
        "id": first.rule_id,
        "name": first.rule_name or first.rule_id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": markdown},
        "properties": {"tags": rule_tags(findings), "security-severity": f"{top:.1f}"},
    }
    if first.help_uri:
        rule["helpUri"] = first.help_uri
    return rule
