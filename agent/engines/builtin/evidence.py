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

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

import libcst as cst

from agent.engines.builtin.fixers.base import ParsedSource, SourceParseError
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
_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}


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


def _fold(parsed: ParsedSource, node: cst.BaseExpression) -> bool | None:
    """The truth value of a condition when constant folding decides it, else None."""
    if isinstance(node, cst.Name) and node.value in {"True", "False", "None"}:
        return node.value == "True"
    if isinstance(node, (cst.Integer, cst.Float)):
        return bool(ast.literal_eval(node.value))
    if isinstance(node, cst.SimpleString):
        return bool(node.evaluated_value)
    if parsed.qualified_names(node) & _TYPE_CHECKING:
        return False  # true only for type checkers, never at run time
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        inner = _fold(parsed, node.expression)
        return None if inner is None else not inner
    if isinstance(node, cst.BooleanOperation):
        left, right = _fold(parsed, node.left), _fold(parsed, node.right)
        if isinstance(node.operator, cst.And):
            return False if False in (left, right) else (True if left and right else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    return None


def dead_code_evidence(parsed: ParsedSource, line: int) -> list[Evidence]:
    for node in parsed.nodes_on_lines(cst.SimpleStatementLine, line, line) + parsed.nodes_on_lines(
            cst.BaseCompoundStatement, line, line):
        for ancestor in parsed.ancestors(node):
            if isinstance(ancestor, (cst.If, cst.While)):
                truth = _fold(parsed, ancestor.test)
                in_body = parsed.overlaps(ancestor.body, line, line)
                if truth is False and in_body:
                    test = parsed.code(ancestor.test).strip()
                    return [Evidence("dead_code", f"line {line} only runs when `{test}` is true, which it never "
                                     "is at run time", "false_positive", strong=True)]
                if truth is True and isinstance(ancestor, cst.If) and not in_body and ancestor.orelse is not None:
                    return [Evidence("dead_code", f"line {line} is in the else branch of "
                                     f"`if {parsed.code(ancestor.test).strip()}:`, which never runs",
                                     "false_positive", strong=True)]
    return []


def _single_constant_binding(parsed: ParsedSource, name: cst.Name, seen: set[str]) -> cst.BaseExpression | None:
    scope = parsed.scope(name)
    if scope is None or name not in scope.accesses or name.value in seen:
        return None
    referents = {r for access in scope.accesses[name] for r in access.referents}
    if len(referents) != 1:
        return None
    referent = next(iter(referents))
    if len(referent.scope.assignments[name.value]) != 1:
        return None
    target = getattr(referent, "node", None)
    assign_target = parsed.parent(target) if target is not None else None
    statement = parsed.parent(assign_target) if assign_target is not None else None
    if isinstance(assign_target, cst.AssignTarget) and isinstance(statement, cst.Assign) and (
            len(statement.targets) == 1):
        return statement.value
    return None


def is_constant(parsed: ParsedSource, node: cst.BaseExpression, seen: frozenset[str] = frozenset()) -> bool:
    """True when the expression's value is fixed in the source (see the module docstring for what counts)."""
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        if node.value in {"True", "False", "None"}:
            return True
        bound = _single_constant_binding(parsed, node, set(seen))
        return bound is not None and is_constant(parsed, bound, seen | {node.value})
    if isinstance(node, cst.ConcatenatedString):
        return is_constant(parsed, node.left, seen) and is_constant(parsed, node.right, seen)
    if isinstance(node, cst.FormattedString):
        return all(isinstance(p, cst.FormattedStringText) or is_constant(parsed, p.expression, seen)
                   for p in node.parts)
    if isinstance(node, cst.BinaryOperation):
        return is_constant(parsed, node.left, seen) and is_constant(parsed, node.right, seen)
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(is_constant(parsed, e.value, seen) for e in node.elements)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return is_constant(parsed, node.func.value, seen) and all(
            is_constant(parsed, a.value, seen) for a in node.args)
    return False


def _sink_input(parsed: ParsedSource, first: int, last: int) -> tuple[str, cst.BaseExpression] | None:
    """(description, expression) of what flows into the sink on the finding's lines."""
    calls = [c for c in parsed.nodes_on_lines(cst.Call, first, last) if first <= parsed.span(c).start.line <= last]
    ids = {id(c) for c in calls}
    outer = [c for c in calls if not any(id(a) in ids for a in parsed.ancestors(c))]
    for call in outer:
        if call.args and not call.args[0].star:
            return f"`{parsed.code(call.func).strip()}`", call.args[0].value
    for statement in parsed.nodes_on_lines(cst.SimpleStatementLine, first, first):
        for small in statement.body:
            value = getattr(small, "value", None)
            if isinstance(value, cst.BaseExpression):
                return "the statement", value  # e.g. a query string built on an assignment line
    return None


def _has_no_fields(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.FormattedString):
        return all(isinstance(p, cst.FormattedStringText) for p in node.parts)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        right = node.right
        return isinstance(right, (cst.Tuple, cst.Dict)) and not getattr(right, "elements", None)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return not node.args
    return False


# Rules whose risk is not the argument's content, so a constant argument is no evidence against them:
# bandit B607 flags a program started by a partial path (PATH hijacking), whatever its arguments are.
NOT_ABOUT_INPUT_RULE_IDS = frozenset({"B607"})


def is_injection_class(finding: Finding) -> bool:
    if finding.rule_id.upper() in NOT_ABOUT_INPUT_RULE_IDS:
        return False
    return bool(set(finding.cwe) & INJECTION_CWES) or finding.rule_id.upper() in INJECTION_RULE_IDS


def source_evidence(parsed: ParsedSource, finding: Finding) -> list[Evidence]:
    first, last = finding.location.start_line, finding.location.last_line
    found = dead_code_evidence(parsed, first)
    sink = _sink_input(parsed, first, last)
    if sink is not None:
        where, value = sink
        code = parsed.code(value).strip()
        if _has_no_fields(value):
            found.append(Evidence("format_without_fields",
                                  f"the formatting in `{code}` interpolates nothing", "false_positive"))
        if is_constant(parsed, value):
            found.append(Evidence("constant_input", f"the input to {where} on line {first} is the constant "
                                  f"`{code}`", "false_positive", strong=is_injection_class(finding)))
        elif isinstance(value, (cst.FormattedString, cst.BinaryOperation, cst.Call)) and (
                _literal_parts(value)):
            found.append(Evidence("interpolated_input", f"the input to {where} on line {first}, `{code}`, "
                                  "interpolates values that are not constants", "true_positive"))
    if len({(s.location.path, s.location.start_line) for s in finding.flow}) >= 2:
        found.append(Evidence("data_flow", f"the scanner traced a data flow of {len(finding.flow)} steps into "
                              "the sink", "true_positive"))
    return found


def _literal_parts(node: cst.BaseExpression) -> bool:
    """True when the expression builds a string from literals plus something else (formatting, concatenation)."""
    return any(isinstance(n, (cst.SimpleString, cst.FormattedStringText)) for n in _walk(node))


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def collect_evidence(source: str, finding: Finding, path: str) -> list[Evidence]:
    """All static evidence about `finding` in `source` (the text of `path`)."""
    found = path_evidence(path, source)
    try:
        parsed = ParsedSource(source)
    except SourceParseError:
        return found
    return source_evidence(parsed, finding) + found


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
