"""Static evidence about whether a finding is real, without a model.

`collect_evidence` looks at the finding's lines and path and reports facts, each with the side it supports:

* `constant_input` — the sink's input (the first argument of the outermost call on the finding's lines, or the
  value of the statement there when no call is) is a constant: string/number literals, their concatenation,
  f-strings without fields, `%`/`.format` applied to constants, and names bound exactly once (in their scope, by a
  plain `name = <constant>`) to such a constant. Strong for injection-class findings (CWE 77, 78, 89, 94, 95 and
  the matching bandit rules): nothing an attacker controls reaches the sink.
* `format_without_fields` — an f-string or `%`/`.format` call at the sink that interpolates nothing.
* `interpolated_input` — the sink's input interpolates a non-constant value (supports true positive).
* `data_flow` — the scanner traced a data flow of two or more steps into the sink (supports true positive).
* `dead_code` — the finding's line is in a branch that constant folding shows never runs: `if False:`,
  `if 0:`, `if TYPE_CHECKING:`, `while False:`, the `else:` of `if True:` (strong).
* `test_code`, `example_code`, `vendored_code`, `generated_code` — judged by path (tests/, test_*.py,
  *_test.py, conftest.py; examples/; vendor/, third_party/, site-packages/; migrations/, *_pb2.py) or a
  "generated" / "do not edit" comment in the first lines. Weak: such code may still ship or run in CI.

`verdict_from_evidence` turns that into a verdict only when the evidence is strong (see its docstring).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from agent.code.file_facts import FileFacts, facts_from_source
from agent.models import Finding, Verdict

Supports = Literal["false_positive", "true_positive"]

INJECTION_CWES = frozenset({77, 78, 89, 94, 95})
INJECTION_RULE_IDS = frozenset({"B102", "B307", "B601", "B602", "B603", "B604", "B605", "B606", "B608",
                                "B609", "B610", "B611"})
TEST_DIRS = frozenset({"tests", "test", "testing"})
EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "demo", "demos"})
VENDOR_DIRS = frozenset({"vendor", "vendored", "_vendor", "third_party", "thirdparty", "site-packages",
                         "node_modules"})
GENERATED_DIRS = frozenset({"migrations"})
_GENERATED_HEADER = re.compile(r"#.*(\bgenerated\b|do not edit|@generated)", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    """One fact about a finding. `strong`: enough on its own for a false-positive verdict."""

    kind: str
    detail: str
    supports: Supports
    strong: bool = False


def path_evidence(path: str, source: str = "") -> list[Evidence]:
    """Evidence from where the code lives: test, example, vendored or generated code."""
    pure = PurePosixPath(path)
    dirs = {part.lower() for part in pure.parts[:-1]}
    name = pure.name
    found: list[Evidence] = []
    if dirs & TEST_DIRS or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        found.append(Evidence("test_code", f"{path} is test code", "false_positive"))
    if dirs & EXAMPLE_DIRS:
        found.append(Evidence("example_code", f"{path} is example code", "false_positive"))
    if dirs & VENDOR_DIRS:
        found.append(Evidence("vendored_code", f"{path} is vendored third-party code", "false_positive"))
    header = "\n".join(source.splitlines()[:5])
    if dirs & GENERATED_DIRS or name.endswith(("_pb2.py", "_pb2_grpc.py")) or _GENERATED_HEADER.search(header):
        found.append(Evidence("generated_code", f"{path} is generated code", "false_positive"))
    return found


# Rules whose risk is not the argument's content, so a constant argument is no evidence against them:
# bandit B607 flags a program started by a partial path (PATH hijacking), whatever its arguments are.
NOT_ABOUT_INPUT_RULE_IDS = frozenset({"B607"})


def is_injection_class(finding: Finding) -> bool:
    if finding.rule_id.upper() in NOT_ABOUT_INPUT_RULE_IDS:
        return False
    return bool(set(finding.cwe) & INJECTION_CWES) or finding.rule_id.upper() in INJECTION_RULE_IDS


def source_evidence(facts: FileFacts, finding: Finding) -> list[Evidence]:
    """Evidence from the code at the finding's lines, read from the file's facts (parsed once per file)."""
    first, last = finding.location.start_line, finding.location.last_line
    found: list[Evidence] = []
    dead = facts.dead_code(first)
    if dead is not None:
        found.append(Evidence("dead_code", dead, "false_positive", strong=True))
    sink = facts.sink(first, last)
    if sink is not None:
        if sink.no_fields:
            found.append(Evidence("format_without_fields",
                                  f"the formatting in `{sink.code}` interpolates nothing", "false_positive"))
        if sink.constant:
            found.append(Evidence("constant_input", f"the input to {sink.where} on line {first} is the constant "
                                  f"`{sink.code}`", "false_positive", strong=is_injection_class(finding)))
        elif sink.interpolated:
            found.append(Evidence("interpolated_input", f"the input to {sink.where} on line {first}, "
                                  f"`{sink.code}`, interpolates values that are not constants", "true_positive"))
    if len({(s.location.path, s.location.start_line) for s in finding.flow}) >= 2:
        found.append(Evidence("data_flow", f"the scanner traced a data flow of {len(finding.flow)} steps into "
                              "the sink", "true_positive"))
    return found


def file_evidence(facts: FileFacts, finding: Finding) -> list[Evidence]:
    """All static evidence about `finding` from its file's facts: source evidence (when the file parsed) first,
    then path evidence."""
    found = path_evidence(finding.location.path, facts.header)
    if not facts.parsed:
        return found
    return source_evidence(facts, finding) + found


def collect_evidence(source: str, finding: Finding, path: str) -> list[Evidence]:
    """All static evidence about `finding` in `source` (the text of `path`)."""
    facts = facts_from_source(source)
    found = path_evidence(path, facts.header)
    if not facts.parsed:
        return found
    return source_evidence(facts, finding) + found


def verdict_from_evidence(evidence: list[Evidence]) -> Verdict | None:
    """A verdict only when evidence is strong.

    false_positive (0.85; 0.9 with two strong facts) when there is strong evidence (dead code, or a constant input
    to an injection-class sink) and nothing supports a true positive; uncertain (0.5) when only test / example /
    vendored / generated code speaks for a false positive, or strong evidence is contradicted; None otherwise.
    """
    strong = [e for e in evidence if e.strong and e.supports == "false_positive"]
    against = [e for e in evidence if e.supports == "true_positive"]
    weak = [e for e in evidence if e.kind in {"test_code", "example_code", "vendored_code", "generated_code"}]
    lines = "; ".join(e.detail for e in evidence)
    if strong and not against:
        return Verdict(verdict="false_positive", confidence=0.9 if len(strong) > 1 else 0.85,
                       rationale=f"Static evidence: {lines}.")
    if strong and against:
        return Verdict(verdict="uncertain", confidence=0.5, rationale=f"Conflicting static evidence: {lines}.")
    if weak and not against:
        return Verdict(verdict="uncertain", confidence=0.5,
                       rationale=f"Static evidence: {lines}. Such code may still ship or run in CI; a person "
                       "should judge.")
    return None
