"""Turn TLS certificate verification back on for `requests` and `httpx`.

Handles: calls that pass the literal `verify=False` (or `verify=0`) where the callee is a `requests.*` or `httpx.*`
function or class (`requests.get`, `requests.request`, `httpx.Client`, ...), or an HTTP method
(`get/post/put/patch/delete/head/options/request/send/stream`) on some object in a module that imports requests
or httpx (a `Session`/`Client` instance): the argument is removed, so the libraries' default (verify against the
system/certifi bundle) applies. Also `<obj>.verify = False` assignments in such modules: the value becomes `True`.

Declines: `verify=` set from a variable or expression (a person must decide where that setting comes from), a CA
bundle path (that already verifies), and calls with `**kwargs` that may carry `verify`.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    FixResult,
    ParsedSource,
    Rewrite,
    call_names,
    combine,
    is_name,
    keyword_arg,
    without_arg,
)

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"})
LIBRARIES = ("requests", "httpx")


def _is_false(node: cst.BaseExpression) -> bool:
    return is_name(node, "False") or (isinstance(node, cst.Integer) and node.value == "0")


def _imports_http_library(parsed: ParsedSource) -> bool:
    return any(parsed.imports_module(lib) for lib in LIBRARIES)


class TlsVerifyFixer(CallFixer):
    """requests/httpx verify=False and `.verify = False` -> certificate verification on (module docstring)."""

    name = "tls_verify"
    summary = "Remove verify=False so requests/httpx check TLS certificates again"
    cwe = (295,)
    rule_ids = ("B501",)
    references = (
        "https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification",
        "https://www.python-httpx.org/advanced/ssl/",
        "https://cwe.mitre.org/data/definitions/295.html",
    )
    review_guidance = (
        "Requests to hosts with self-signed or internal-CA certificates will now fail with an SSL error: "
        "point verify= (or REQUESTS_CA_BUNDLE / SSL_CERT_FILE) at the internal CA bundle instead of disabling "
        "verification."
    )
    target_description = "requests/httpx call with verify= or `.verify = False` assignment"
    text_needs = ("verify",)  # its targets: calls passing verify=, `.verify =` assignments

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        if keyword_arg(call, "verify") is None:
            return False
        if any(n.split(".")[0] in LIBRARIES for n in call_names(parsed, call)):
            return True
        return (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value in HTTP_METHODS
            and _imports_http_library(parsed)
        )

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        verify = keyword_arg(call, "verify")
        assert verify is not None
        value = parsed.code(verify.value).strip()
        if _is_false(verify.value):
            return Rewrite(call, without_arg(call, verify), f"removed verify={value}")
        if is_name(verify.value, "True") or isinstance(verify.value, (cst.SimpleString, cst.FormattedString)):
            return Decline(f"verify={value} already verifies certificates")
        return Decline(
            f"verify= is set from `{value}`; a person must decide where that setting comes from "
            "and whether it can be switched off"
        )

    def _plan_assignment(self, parsed: ParsedSource, assign: cst.Assign) -> Rewrite | Decline:
        if not _is_false(assign.value):
            return Decline(
                f"`.verify` is assigned `{parsed.code(assign.value).strip()}`, not the constant False"
            )
        return Rewrite(assign.value, cst.Name("True"), "set .verify = True instead of False")

    def _verify_assignments(self, parsed: ParsedSource, first_line: int, last_line: int) -> list[cst.Assign]:
        if not _imports_http_library(parsed):
            return []
        return [
            assign for assign in parsed.nodes_on_lines(cst.Assign, first_line, last_line)
            if len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Attribute)
            and assign.targets[0].target.attr.value == "verify"
        ]

    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return bool(self.targets(parsed, first_line, last_line) or self._verify_assignments(parsed, first_line,
                                                                                            last_line))

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        plans: list[tuple[cst.CSTNode, Rewrite | Decline]] = [
            (c, self.plan(parsed, c)) for c in self.targets(parsed, first_line, last_line)
        ]
        plans += [(a, self._plan_assignment(parsed, a)) for a in self._verify_assignments(parsed, first_line,
                                                                                         last_line)]
        if not plans:
            return FixResult(None, self.not_found(first_line, last_line))
        return combine(parsed, plans)

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return any(isinstance(self.plan(parsed, c), Rewrite) for c in self.targets(parsed, first_line, last_line)) \
            or any(isinstance(self._plan_assignment(parsed, a), Rewrite)
                   for a in self._verify_assignments(parsed, first_line, last_line))

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        if view.keyword(call, "verify") is None:
            return False
        if any(n.split(".")[0] in LIBRARIES for n in view.call_names(call)):
            return True
        return isinstance(call.func, ast.Attribute) and call.func.attr in HTTP_METHODS and \
            any(view.imports_module(lib) for lib in LIBRARIES)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        verify = view.keyword(call, "verify")
        assert verify is not None
        return _ast_is_false(view, verify.value)

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        calls = super().would_rewrite(view, first_line, last_line)
        if calls or any(view.imports_module(lib) for lib in LIBRARIES) and any(
                _ast_is_false(view, a.value) for a in view.nodes_on_lines(ast.Assign, first_line, last_line)
                if len(a.targets) == 1 and isinstance(a.targets[0], ast.Attribute) and a.targets[0].attr == "verify"):
            return True
        return calls


def _ast_is_false(view: AstView, node: ast.AST) -> bool:
    return view.is_name(node, "False") or (isinstance(node, ast.Constant) and type(node.value) is int
                                           and view.segment(node) == "0")
