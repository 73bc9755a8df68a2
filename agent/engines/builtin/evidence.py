"""Static evidence about whether a finding is real, without a model.

`collect_evidence` looks at the finding's lines and path and reports facts, each with the side it supports. A
fact is *strong* only when it proves the finding harmless; anything short of proof is weak or speaks for "real".

Strong, for injection-class findings (CWE 77, 78, 89, 94, 95 and the matching bandit rules, not B607 / B609
whose risk is not the input's content), from `agent.code.sinks` (the known sink call on the lines, else every
call there, else the statement):
* `constant_input` — every input that reaches the sink is constant (for a command: every argument of the
  process, `input=` included): literals, their concatenation, f-strings without fields, `%` / `.format` over
  constants, names bound exactly once to such a constant (a list changed in place is not constant);
* `safe_input` — not constant, but provably unable to carry an injection: numbers (`int(x)`, `len(x)`), lookups
  in a constant table, placeholders joined (`",".join("?" * len(ids))`), or a name checked against a constant
  allow-list by an `if` that dominates the sink.
Strong for their own rule family: `not_for_security` (`usedforsecurity=False` on a hash), `safe_yaml_loader`
(`Loader=yaml.SafeLoader` / `CSafeLoader` / `BaseLoader`), `delay_only` (a random value that only sets a sleep).
Strong whatever the rule: `dead_code` — a branch constant folding shows never runs (`if False:`, `if 0:`,
`if TYPE_CHECKING:`, `while False:`, the `else:` of `if True:`); `test_code` — a test module (`test_*.py`,
`*_test.py`, `conftest.py`, or under a `tests/` folder).

Supporting a true positive (they block an input-based dismissal): `interpolated_input` (non-constant values
formatted into the sink's input), `shell_program` (an argument vector whose program is a shell or interpreter —
`["sh", "-c", f"echo {x}"]`, `cmd /c`, `powershell -Command`, `python -c`, `env sh -c` — handed a non-constant
element: no `shell=True` is no evidence of safety), `data_flow` (the scanner traced two or more steps), and
`live_credential` (a recognized live-credential format on the lines, `agent.context.redact.live_credentials`),
which blocks every dismissal, even in test code.

Weak (never a dismissal on their own): `format_without_fields`, constant input to a non-injection finding,
`example_code`, `vendored_code`, `generated_code`, and test-like folders (`test/`, `testing/`) that may ship.

`verdict_from_evidence` turns that into a verdict (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from agent.code.file_facts import FileFacts, facts_from_source
from agent.code.path_kind import classify_path
from agent.code.sinks import SinkFacts
from agent.context.redact import live_credentials
from agent.models import Finding, Verdict

Supports = Literal["false_positive", "true_positive"]

INJECTION_CWES = frozenset({77, 78, 89, 94, 95})
INJECTION_RULE_IDS = frozenset({"B102", "B307", "B601", "B602", "B603", "B604", "B605", "B606", "B608",
                                "B610", "B611"})
WEAK_HASH_RULES = frozenset({"B303", "B324"})
WEAK_HASH_CWES = frozenset({327, 328, 916})
RANDOM_RULES = frozenset({"B311"})
RANDOM_CWES = frozenset({330, 338})
SAFE_YAML_LOADERS = frozenset({"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.loader.SafeLoader",
                               "yaml.loader.BaseLoader", "yaml.cyaml.CSafeLoader"})
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "sleep", "gevent.sleep", "eventlet.sleep", "trio.sleep"})
LOCATION_KINDS = frozenset({"dead_code", "test_code"})  # the code never runs in production, whatever its input


@dataclass(frozen=True)
class Evidence:
    """One fact about a finding. `strong`: enough on its own for a false-positive verdict."""

    kind: str
    detail: str
    supports: Supports
    strong: bool = False


def path_evidence(path: str, source: str = "") -> list[Evidence]:
    """Evidence from where the code lives (agent.code.path_kind): test code is strong evidence only when the path
    proves it (a test module, conftest.py, a tests/ folder); test/, testing/ and spec/ folders may ship with the
    package, and example, vendored and generated code may still run, so those are weak."""
    return list(_path_evidence(path, "\n".join(source.splitlines()[:5])))


@lru_cache(maxsize=1 << 16)
def _path_evidence(path: str, head: str) -> tuple[Evidence, ...]:
    """`path_evidence` of a path and the file's first five lines (memoized: many findings share a file)."""
    info = classify_path(path, head)
    if info.kind == "test":
        if info.certain:
            return (Evidence("test_code", f"{path} is test code", "false_positive", strong=True),)
        return (Evidence("test_code", f"{path} is in a test folder that may ship with the package", "false_positive"),)
    detail = _LOCATION_DETAIL.get(info.kind)
    return (Evidence(f"{info.kind}_code", f"{path} is {detail}", "false_positive"),) if detail else ()


_LOCATION_DETAIL = {"example": "example code", "vendored": "vendored third-party code", "generated": "generated code"}


# Rules whose risk is not the argument's content, so a constant argument is no evidence against them:
# bandit B607 flags a program started by a partial path (PATH hijacking), whatever its arguments are; B609 a
# wildcard in a command, which a constant command carries just the same.
NOT_ABOUT_INPUT_RULE_IDS = frozenset({"B607", "B609"})


def rule_class(finding: Finding) -> tuple[bool, bool, bool, bool]:
    """All `file_evidence` reads of a finding's rule and CWEs: (injection class, weak-hash family, random family,
    bandit B506). Besides these it reads the finding's path, lines, flow, and its snippet when the file's text is
    unknown."""
    return _rule_class(finding.rule_id, tuple(finding.cwe))


@lru_cache(maxsize=1 << 16)
def _rule_class(rule_id: str, cwes: tuple[int, ...]) -> tuple[bool, bool, bool, bool]:
    """`rule_class` of a rule id and its CWEs (memoized: a scan has few distinct rules)."""
    rule, cwe = rule_id.upper(), set(cwes)
    return (rule not in NOT_ABOUT_INPUT_RULE_IDS and (bool(cwe & INJECTION_CWES) or rule in INJECTION_RULE_IDS),
            rule in WEAK_HASH_RULES or bool(cwe & WEAK_HASH_CWES), rule in RANDOM_RULES or bool(cwe & RANDOM_CWES),
            rule == "B506")


def source_evidence(facts: FileFacts, finding: Finding) -> list[Evidence]:
    """Evidence from the code at the finding's lines, read from the file's facts (parsed once per file)."""
    first, last = finding.location.start_line, finding.location.last_line
    found: list[Evidence] = []
    dead = facts.dead_code(first)
    if dead is not None:
        found.append(Evidence("dead_code", dead, "false_positive", strong=True))
    sink = facts.sink(first, last)
    if sink is not None:
        found.extend(_sink_evidence(sink, rule_class(finding), first))
    flow = finding.flow
    if len(flow) >= 2 and len({(s.location.path, s.location.start_line) for s in flow}) >= 2:
        found.append(Evidence("data_flow", f"the scanner traced a data flow of {len(flow)} steps into the sink",
                              "true_positive"))
    return found


def _sink_evidence(sink: SinkFacts, rule: tuple[bool, bool, bool, bool], first: int) -> list[Evidence]:
    """The evidence from the sink on the lines, for a finding of `rule` (its `rule_class`)."""
    found: list[Evidence] = []
    injection, weak_hash, random, b506 = rule
    if sink.shell:
        found.append(Evidence("shell_program", f"{sink.where} on line {first} starts `{sink.shell}`, which runs "
                              "a non-constant argument as code (no shell=True is no evidence of safety)",
                              "true_positive"))
    if sink.no_fields:
        found.append(Evidence("format_without_fields",
                              f"the formatting in `{sink.code}` interpolates nothing", "false_positive"))
    if sink.constant:
        found.append(Evidence("constant_input", f"the input to {sink.where} on line {first} is the constant "
                              f"`{sink.code}`", "false_positive", strong=injection))
    elif sink.safe:
        found.append(Evidence("safe_input", f"the input to {sink.where} on line {first} cannot carry an "
                              f"injection: {sink.safe}", "false_positive", strong=injection))
    elif sink.interpolated:
        found.append(Evidence("interpolated_input", f"the input to {sink.where} on line {first}, "
                              f"`{sink.code}`, interpolates values that are not constants", "true_positive"))
    keywords = sink.keywords
    if weak_hash and "usedforsecurity=False" in keywords:
        found.append(Evidence("not_for_security", f"{sink.where} on line {first} passes usedforsecurity=False",
                              "false_positive", strong=True))
    if keywords and (b506 or "yaml" in sink.callee):
        loaders = {k.split("=", 1)[1] for k in keywords if k.startswith("Loader=")}
        if loaders and loaders <= SAFE_YAML_LOADERS:
            found.append(Evidence("safe_yaml_loader", f"{sink.where} on line {first} uses the safe loader "
                                  f"{min(loaders)}", "false_positive", strong=True))
    if random and sink.callee in SLEEPS:
        found.append(Evidence("delay_only", f"the random value on line {first} only sets the delay of "
                              f"`{sink.callee}`", "false_positive", strong=True))
    return found


def credential_kinds(facts: FileFacts, first: int, last: int) -> list[str] | None:
    """The kinds of recognized live-credential formats on lines `first`..`last` of the file (None without
    readable source), memoized with the file's facts."""
    def kinds_in(text: str) -> list[str]:
        return sorted({kind for kind, _ in live_credentials("\n".join(facts.lines(text)[first - 1:last]))})

    return facts.answer(f"cred:{first}:{last}", kinds_in)


def credential_evidence(facts: FileFacts, finding: Finding) -> list[Evidence]:
    """A recognized live-credential format on the finding's lines (from the file's text, or its snippet)."""
    first, last = finding.location.start_line, finding.location.last_line
    kinds = credential_kinds(facts, first, last) if facts.source_known else None
    if kinds is None:
        kinds = sorted({kind for kind, _ in live_credentials(finding.location.snippet or "")})
    if not kinds:
        return []
    return [Evidence("live_credential", f"line {first} holds a live-looking credential ({', '.join(kinds)})",
                     "true_positive")]


def file_evidence(facts: FileFacts, finding: Finding) -> list[Evidence]:
    """All static evidence about `finding` from its file's facts: source evidence (when the file parsed) first,
    then credentials, then path evidence."""
    found = path_evidence(finding.location.path, facts.header)
    source = source_evidence(facts, finding) if facts.parsed else []
    return source + credential_evidence(facts, finding) + found


def collect_evidence(source: str, finding: Finding, path: str) -> list[Evidence]:
    """All static evidence about `finding` in `source` (the text of `path`)."""
    return file_evidence(facts_from_source(source, path=path), finding)


def verdict_from_evidence(evidence: list[Evidence]) -> Verdict | None:
    """A verdict only when evidence proves it.

    false_positive (0.85; 0.9 with two strong facts) when the code never runs in production (dead code, test
    code) and no live credential is on the lines, or when strong input evidence (constant or safe input to an
    injection sink, a safe loader, a hash not for security, a random sleep) stands and nothing supports a true
    positive; uncertain (0.5) when strong evidence is contradicted, or only weak evidence speaks for a false
    positive; None otherwise.
    """
    strong = [e for e in evidence if e.strong and e.supports == "false_positive"]
    against = [e for e in evidence if e.supports == "true_positive"]
    location = [e for e in strong if e.kind in LOCATION_KINDS]
    credential = [e for e in against if e.kind == "live_credential"]
    weak = [e for e in evidence if e.supports == "false_positive" and not e.strong]
    lines = "; ".join(e.detail for e in evidence)
    if (location and not credential) or (strong and not against):
        return Verdict(verdict="false_positive", confidence=0.9 if len(strong) > 1 else 0.85,
                       rationale=f"Static evidence: {lines}.")
    if strong:
        return Verdict(verdict="uncertain", confidence=0.5, rationale=f"Conflicting static evidence: {lines}.")
    if weak and not against and any(e.kind.endswith("_code") for e in weak):
        return Verdict(verdict="uncertain", confidence=0.5,
                       rationale=f"Static evidence: {lines}. Such code may still ship or run in CI; a person "
                       "should judge.")
    return None
