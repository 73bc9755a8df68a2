"""CWE classes that matter for triage: the 2024 CWE Top 25 and the classes most often exploited in the wild.

"Commonly exploited": the weakness classes behind most CISA KEV entries and remote code execution
(injection, deserialization, traversal, SSRF, XXE, upload, missing authentication). Points: commonly exploited
20, other Top 25 12, weak crypto / randomness / TLS 8, any other CWE 3, none 0.
"""

from __future__ import annotations

NAMES: dict[int, str] = {
    20: "improper input validation", 22: "path traversal", 23: "path traversal", 77: "command injection",
    78: "OS command injection", 79: "cross-site scripting", 89: "SQL injection", 94: "code injection",
    95: "eval injection", 119: "memory buffer error", 125: "out-of-bounds read", 190: "integer overflow",
    200: "information exposure", 259: "hard-coded password", 269: "improper privilege management",
    287: "broken authentication", 295: "TLS certificate not verified", 306: "missing authentication",
    327: "broken cryptography", 328: "weak hash", 330: "weak randomness", 338: "weak PRNG",
    352: "CSRF", 400: "resource exhaustion", 416: "use after free", 434: "unrestricted upload",
    476: "NULL dereference", 502: "unsafe deserialization", 601: "open redirect", 611: "XML external entities",
    703: "error handling", 787: "out-of-bounds write", 798: "hard-coded credentials", 862: "missing authorization",
    863: "incorrect authorization", 916: "weak password hashing", 918: "server-side request forgery",
}
COMMONLY_EXPLOITED = frozenset({77, 78, 89, 94, 95, 502, 22, 23, 918, 611, 434, 306, 287, 416, 787})
TOP_25_2024 = frozenset({79, 787, 89, 352, 22, 125, 78, 416, 862, 434, 94, 20, 77, 287, 269, 502, 200, 863, 918,
                         119, 476, 798, 190, 400, 306})
WEAK_CRYPTO = frozenset({295, 326, 327, 328, 330, 338, 916, 259, 321})
# Classes whose successful exploitation gives the attacker control (SSVC "technical impact: total").
TOTAL_IMPACT = frozenset({77, 78, 94, 95, 89, 502, 434, 287, 306, 798, 259, 611})


def cwe_points(cwes: list[int]) -> tuple[float, str]:
    """(points, reason) for the most dangerous CWE class among `cwes`."""
    best: tuple[float, str] = (0.0, "no CWE given")
    for cwe in cwes:
        name = NAMES.get(cwe, "weakness")
        if cwe in COMMONLY_EXPLOITED:
            cand = (20.0, f"CWE-{cwe} {name}: commonly exploited")
        elif cwe in TOP_25_2024:
            cand = (12.0, f"CWE-{cwe} {name}: CWE Top 25")
        elif cwe in WEAK_CRYPTO:
            cand = (8.0, f"CWE-{cwe} {name}")
        else:
            cand = (3.0, f"CWE-{cwe} {name}")
        if cand[0] > best[0]:
            best = cand
    return best
