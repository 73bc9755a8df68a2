"""Driving a flagged call site up to the flagged call, for templates whose test stops the function there.

Some fixer classes are proved without letting the function run past the flagged call: the test replaces the
library function the call reaches (requests' `Session.request`, `tempfile.mktemp`/`mkstemp`) with a stub that
records the call and raises `_Stopped` (a BaseException, so the code's own `except Exception` lets it through).
The function's arguments then only have to get it to the call; what it does after never runs. From the call site
(a module-level function holding the flagged call, any import style) this module works out how to call it:
- a parameter read before the call (on an earlier line, or on the call's line outside the call) decides whether
  and how the call is reached, so a generic test cannot choose it: declined unless it has a default;
- a required parameter used only inside the call's arguments, as a whole argument or text pasted into one
  (an f-string, `+`, `%`, `.format`, a literal dict/list/tuple/set), gets the template's text value;
- any other required parameter, not read before the call, gets None (it is never read in the test).
Declined as well: coroutines and generators (calling them runs nothing), decorated functions (a decorator may
change how the function is called or run it elsewhere), `*args`/`**kwargs` that reach the call.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from agent.engines.builtin.regression.site import RegressionDecline, callee, parsed_module
from agent.models import Finding


@dataclass(frozen=True)
class StoppedCall:
    """A module-level function whose flagged call a test can reach: `arguments` is the text between the
    parentheses of the test's call (built with the template's text value)."""

    module: str
    function: str
    call: ast.Call
    arguments: str


def stopped_call(source: str, finding: Finding, names: set[str], text: str) -> StoppedCall | RegressionDecline:
    """The call named one of `names` on the finding's lines and how to call its function (module doc); `text` is
    the Python literal given to parameters that reach the call as text."""
    parsed = parsed_module(source, finding)
    if isinstance(parsed, RegressionDecline):
        return parsed
    module, tree = parsed
    first, last = finding.location.start_line, finding.location.last_line
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        calls = [n for n in ast.walk(function) if isinstance(n, ast.Call) and callee(n) in names
                 and n.lineno <= last and first <= (n.end_lineno or n.lineno)]
        if calls:  # a call starting on the finding's lines, else one spanning them (an argument was flagged)
            return _arguments(module, function, min(calls, key=lambda n: (n.lineno < first, -n.lineno)), text)
    return RegressionDecline("the flagged call is not inside a module-level function a test could call "
                             "(a method, a nested function, or code run at import time)")


def _arguments(module: str, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, text: str,
               given: dict[str, str] | None = None, built: ast.expr | None = None) -> StoppedCall | RegressionDecline:
    """How to call `function` up to `call`: parameters in `given` get those values (and may be read anywhere);
    `built` is an expression assigned before the call whose value the call uses (a query built on the line
    before), where text-positioned parameters count as reaching the call."""
    name = function.name
    if isinstance(function, ast.AsyncFunctionDef):
        return RegressionDecline(f"{name} is a coroutine function")
    if function.decorator_list:
        return RegressionDecline(f"{name} is decorated; the decorator may change how it is called")
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(function)):
        return RegressionDecline(f"{name} is a generator; calling it runs none of its code")
    a = function.args
    positional = [p.arg for p in [*a.posonlyargs, *a.args]]
    required = positional[: len(positional) - len(a.defaults)]
    required_kw = [p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    roots: list[ast.expr] = [*call.args, *(k.value for k in call.keywords), *([built] if built is not None else [])]
    reaching = {id(n): root for root in roots for n in ast.walk(root)}
    star = {s.arg for s in (a.vararg, a.kwarg) if s is not None}
    values: dict[str, str] = dict(given or {})
    for param in [*required, *required_kw, *star]:
        if param in values:
            continue
        read_before = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == param
                       and id(n) not in reaching and n.lineno <= call.lineno]
        if read_before:
            return RegressionDecline(f"{name} reads its parameter {param} before the flagged call (line "
                                     f"{read_before[0].lineno}), so a generic test cannot choose it")
        uses = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == param and id(n) in reaching]
        if uses and param in star:
            return RegressionDecline(f"*{param} reaches the flagged call; a generic test cannot choose it")
        if uses and not all(_as_text(reaching[id(n)], n) for n in uses):
            return RegressionDecline(f"{name}'s parameter {param} reaches the flagged call as something other "
                                     "than text, so a generic test cannot choose it")
        values[param] = text if uses else "None"
    parts = [values[p] for p in required] + [f"{p}={values[p]}" for p in required_kw]
    parts += [f"{p}={v}" for p, v in (given or {}).items() if p not in required and p not in required_kw]
    return StoppedCall(module, name, call, ", ".join(parts))


TEXT_NODES = (ast.JoinedStr, ast.FormattedValue, ast.BinOp, ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Call)


def _as_text(root: ast.expr, name: ast.Name) -> bool:
    """True when `name` is `root` itself or text pasted into it (f-string, `+`, `%`, `.format(...)`), possibly
    inside a literal dict, list, tuple or set (headers, a JSON body): places where any text will do."""
    parents = {id(child): node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}
    node: ast.AST = name
    while node is not root:
        parent = parents.get(id(node))
        if parent is None or not isinstance(parent, TEXT_NODES):
            return False
        if isinstance(parent, ast.BinOp) and not isinstance(parent.op, ast.Add | ast.Mod):
            return False
        if isinstance(parent, ast.FormattedValue) and node is not parent.value:
            return False
        if isinstance(parent, ast.Call) and not (isinstance(parent.func, ast.Attribute)
                                                 and parent.func.attr == "format" and node is not parent.func):
            return False
        node = parent
    return True


STOPPED_CLASS = '''

class _Stopped(BaseException):
    """Raised by the stub instead of the real call; not an Exception, so the code's own handlers let it through."""
'''
