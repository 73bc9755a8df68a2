"""Regression template for sql_parameterize: text a caller controls must not become part of the SQL text.

The function is handed `x' OR '1'='1` for every parameter that is pasted into the query (an f-string, `+`, `%`,
`.format`, in the `.execute(...)` call itself or in the query variable built before it), and its database is
replaced by a stand-in that records the statement given to `.execute`/`.executemany` and stops the function
there (agent.engines.builtin.regression.stopped). The test fails when the payload is in the SQL text and passes
when it is bound as a parameter. No database is needed, so the test runs on any driver the fixer knows.

Where the database comes from, followed back from the `.execute` call's receiver (`cur.execute`,
`conn.cursor().execute`, `get_db().execute`, `sqlite3.connect(PATH).execute`): a parameter of the function gets
the stand-in as its argument; a name bound at module level (a connection, an imported driver module, a
`get_db` function) is replaced in the module for the test; a local variable (`cur = conn.cursor()`,
`with conn.cursor() as cur`) is followed to what it was made from. Declined: receivers on `self`, builtins, and
anything else this cannot follow; the rules of stopped.py for the other parameters.
"""

from __future__ import annotations

import ast

from agent.engines.builtin.regression.site import RegressionDecline, callee, parsed_module
from agent.engines.builtin.regression.stopped import STOPPED_CLASS, StoppedCall, _arguments
from agent.models import Finding

PAYLOAD = "x' OR '1'='1"
EXECUTE = {"execute", "executemany"}


def sql_test(source: str, finding: Finding) -> str | RegressionDecline:
    parsed = parsed_module(source, finding)
    if isinstance(parsed, RegressionDecline):
        return parsed
    module, tree = parsed
    top = _module_names(tree)
    first, last = finding.location.start_line, finding.location.last_line
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for call in [n for n in ast.walk(function) if isinstance(n, ast.Call) and callee(n) in EXECUTE]:
            built = _built_query(function, call)
            span = [(call.lineno, call.end_lineno or call.lineno)]
            if built is not None:
                span.append((built.lineno, built.end_lineno or built.lineno))
            if any(start <= last and first <= end for start, end in span):
                return _test(module, function, call, built, top)
    return RegressionDecline("the flagged query is not run by an .execute call inside a module-level function "
                             "a test could call")


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level: imports, assignments, functions and classes."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _built_query(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> ast.expr | None:
    """The value of `query = ...` when the call runs `query`, a variable assigned once before it."""
    arg = call.args[0] if call.args else None
    if not isinstance(arg, ast.Name):
        return None
    values = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == arg.id for t in n.targets)]
    return values[0] if len(values) == 1 and values[0].lineno < call.lineno else None


def _root(node: ast.expr) -> ast.Name | None:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node if isinstance(node, ast.Name) else None


def _local_source(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    """What a local variable was made from: `name = <expr>` or `with <expr> as name`, bound once."""
    made = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
    made += [item.context_expr for n in ast.walk(function) if isinstance(n, ast.With)
             for item in n.items if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name]
    return made[0] if len(made) == 1 else None


def _test(module: str, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, built: ast.expr | None,
          top: set[str]) -> str | RegressionDecline:
    params = {a.arg for a in [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]}
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    for _ in range(4):
        root = _root(receiver) if receiver is not None else None
        if root is None or root.id == "self":
            return RegressionDecline("cannot tell where the database of the .execute call comes from")
        if root.id in params:
            site = _arguments(module, function, call, repr(PAYLOAD), given={root.id: "database"}, built=built)
            return site if isinstance(site, RegressionDecline) else _text(site, None)
        receiver = _local_source(function, root.id)
        if receiver is None:
            if root.id not in top:
                return RegressionDecline(f"cannot tell where {root.id}, the database of the .execute call, "
                                         "comes from")
            site = _arguments(module, function, call, repr(PAYLOAD), built=built)
            return site if isinstance(site, RegressionDecline) else _text(site, root.id)
    return RegressionDecline("cannot tell where the database of the .execute call comes from")


def _text(site: StoppedCall, module_name_replaced: str | None) -> str:
    replace = (f'    monkeypatch.setattr(module_under_test, "{module_name_replaced}", database)\n'
               if module_name_replaced else "")
    return f'''"""Security regression test written by suture (builtin template for sql_parameterize, CWE-89).

Text a caller controls must not become part of the SQL statement: bound as a parameter, `x' OR '1'='1` is a
value; pasted into the SQL text, it rewrites the query. The database is replaced by a stand-in that records the
statement and stops {site.function} there.
"""

import pytest

import {site.module} as module_under_test
from {site.module} import {site.function}

PAYLOAD = {PAYLOAD!r}
{STOPPED_CLASS}

class _Database:
    """Stands in for the database module, connection or cursor: anything called or asked for gives the stand-in
    back, except execute/executemany, which record the statement and stop the function."""

    def __init__(self):
        self.statements = []

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, statement, *args, **kwargs):
        self.statements.append(str(statement))
        raise _Stopped

    executemany = execute


def test_{site.function}_binds_input_as_a_parameter(monkeypatch):
    database = _Database()
{replace}    with pytest.raises(_Stopped):
        {site.function}({site.arguments})
    assert PAYLOAD not in database.statements[0], "the input was pasted into the SQL text"
'''
