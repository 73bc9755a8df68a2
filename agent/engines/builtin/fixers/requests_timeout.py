"""Give `requests` calls a timeout, so a silent server cannot hang the caller forever.

Handles: the module-level functions `requests.get/post/put/patch/delete/head/options/request` (any import style:
`import requests as r`, `from requests import get`) called without `timeout=`: `timeout=30` is added (seconds,
for connecting and for each read). requests itself has no default timeout.

Declines: `timeout=None` written out (someone chose to wait forever; a person must decide), calls with
`**kwargs` (they may carry a timeout), and calls on a `Session` object (its type cannot be told from the code at
the line; bandit does not report those either).
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    is_name,
    keyword_arg,
    with_keyword,
)

FUNCTIONS = frozenset(f"requests.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "options",
                                                "request"))
DEFAULT_TIMEOUT = "30"


class RequestsTimeoutFixer(CallFixer):
    """requests.get/post/... without timeout= -> timeout=30 (module docstring)."""

    name = "requests_timeout"
    summary = "Give requests calls a timeout so an unresponsive server cannot block the caller forever"
    cwe = (400, 1088)
    rule_ids = ("B113",)
    references = (
        "https://requests.readthedocs.io/en/latest/user/advanced/#timeouts",
        "https://cwe.mitre.org/data/definitions/1088.html",
    )
    review_guidance = (
        f"timeout={DEFAULT_TIMEOUT} seconds applies to connecting and to each wait for data, not to the whole "
        "download. Slow endpoints (large uploads, long polls) may need a larger value; requests now raises "
        "requests.exceptions.Timeout (a RequestException) where it used to wait."
    )
    target_description = "requests.get/post/put/patch/delete/head/options/request call without timeout="
    text_needs = ("requests",)  # its targets: requests.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & FUNCTIONS)

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        timeout = keyword_arg(call, "timeout")
        if timeout is not None:
            if is_name(timeout.value, "None"):
                return Decline("the call passes timeout=None explicitly; a person must decide how long to wait")
            return Decline(f"the call already passes timeout={parsed.code(timeout.value).strip()}")
        if has_star_args(call):
            return Decline("the call passes *args or **kwargs, which may carry a timeout")
        return Rewrite(call, with_keyword(call, "timeout", DEFAULT_TIMEOUT),
                       f"added timeout={DEFAULT_TIMEOUT} to {parsed.code(call.func).strip()}")

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & FUNCTIONS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        return view.keyword(call, "timeout") is None and not view.has_star(call)
