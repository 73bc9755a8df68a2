"""A first, transparent ranking of findings: severity × scanner confidence × CWE class, test code demoted.

Works for any scanner's findings. Every score is the sum of named factors, each with a reason in words, so a
person can see why one finding sits above another. The full business-risk layer (asset criticality, ownership,
exploitability feeds, lanes and SLAs) builds on these factors.
"""

from __future__ import annotations

import re

from agent.models import Factor, Finding, Rank

SEVERITY_POINTS = {"critical": 50.0, "high": 40.0, "medium": 25.0, "low": 10.0, "info": 2.0}
CONFIDENCE_FACTOR = {"high": 1.0, "medium": 0.8, "low": 0.5}

# CWE classes that are routinely exploited in web services (CWE Top 25 injection, deserialization, traversal,
# SSRF, auth). Points reflect how directly the class leads to compromise.
CWE_POINTS: dict[int, tuple[float, str]] = {
    78: (25, "OS command injection"), 77: (25, "command injection"), 89: (25, "SQL injection"),
    94: (25, "code injection"), 95: (25, "eval injection"), 502: (22, "unsafe deserialization"),
    22: (20, "path traversal"), 23: (20, "path traversal"), 918: (20, "server-side request forgery"),
    611: (18, "XML external entities"), 79: (18, "cross-site scripting"), 798: (18, "hard-coded credentials"),
    259: (18, "hard-coded password"), 287: (18, "broken authentication"), 862: (16, "missing authorization"),
    295: (15, "TLS certificate not verified"), 330: (12, "weak randomness"), 338: (12, "weak PRNG"),
    327: (10, "broken cryptography"), 328: (10, "weak hash"), 916: (12, "weak password hashing"),
    352: (12, "CSRF"), 601: (10, "open redirect"), 400: (6, "resource exhaustion"), 703: (2, "error handling"),
}
DEFAULT_CWE_POINTS = 5.0

# Bandit's B401-B415 "blacklist import" checks report `import subprocess` and the like: context, not a flaw.
_BANDIT_IMPORT_RULE = re.compile(r"^B4(0[1-9]|1[0-9])$")
_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|spec|__tests__)(/|$)|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$", re.IGNORECASE
)
_EXAMPLE_PATH = re.compile(r"(^|/)(examples?|samples?|demo|docs?)(/|$)", re.IGNORECASE)
_VENDOR_PATH = re.compile(r"(^|/)(vendor|vendored|third_party|node_modules|site-packages|dist|build)(/|$)", re.IGNORECASE)


def path_kind(path: str) -> str | None:
    """'test', 'example' or 'vendored' when the path says so, else None (production code)."""
    if _TEST_PATH.search(path):
        return "test"
    if _VENDOR_PATH.search(path):
        return "vendored"
    if _EXAMPLE_PATH.search(path):
        return "example"
    return None


def score_finding(finding: Finding) -> Rank:
    factors: list[Factor] = []
    sev = SEVERITY_POINTS[finding.severity]
    sev_reason = f"{finding.severity} severity"
    if finding.security_severity is not None:
        sev_reason += f" (security-severity {finding.security_severity:g})"
    factors.append(Factor(name="severity", points=sev, reason=sev_reason))

    conf = CONFIDENCE_FACTOR[finding.confidence]
    if conf < 1.0:
        factors.append(Factor(
            name="confidence", points=round(-sev * (1 - conf), 1),
            reason=f"{finding.confidence} scanner confidence",
        ))

    cwe_points, cwe_reason = DEFAULT_CWE_POINTS, "no commonly exploited CWE class"
    for cwe in finding.cwe:
        points, label = CWE_POINTS.get(cwe, (DEFAULT_CWE_POINTS, f"CWE-{cwe}"))
        if points > cwe_points or cwe_reason.startswith("no "):
            cwe_points, cwe_reason = points, f"CWE-{cwe} {label}"
    factors.append(Factor(name="cwe_class", points=cwe_points, reason=cwe_reason))

    if finding.flow:
        factors.append(Factor(name="data_flow", points=5, reason=f"scanner traced a {len(finding.flow)}-step flow"))

    if finding.tool == "bandit" and _BANDIT_IMPORT_RULE.match(finding.rule_id):
        factors.append(Factor(name="import_only", points=-20,
                              reason="flags an import, not a use of the module"))

    kind = path_kind(finding.location.path)
    if kind is not None:
        factors.append(Factor(name="code_kind", points=-30, reason=f"only in {kind} code"))

    raw = sum(f.points for f in factors)
    score = max(0.0, min(100.0, round(raw, 1)))
    top = sorted(factors, key=lambda f: -abs(f.points))[:3]
    reason = "; ".join(f"{f.reason} ({f.points:+g})" for f in top)
    return Rank(finding_id=finding.id, score=score, factors=factors, reason=reason)


def rank_findings(findings: list[Finding]) -> list[tuple[Finding, Rank]]:
    """Findings with their ranks, best first; ties broken by path and line so the order is stable."""
    ranked = [(f, score_finding(f)) for f in findings]
    ranked.sort(key=lambda fr: (-fr[1].score, fr[0].location.path, fr[0].location.start_line, fr[0].id))
    return ranked
