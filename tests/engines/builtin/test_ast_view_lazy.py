"""`AstView` walks a module lazily (by the lines asked about) and `ast_scopes` / `ast_statement_scopes` read scopes
lazily: their answers must be those of one walk of the whole tree, whatever is asked first.

Checked on modules with the shapes that have nodes off their statement's lines or scopes of their own: decorators,
`match`, `try`/`except*` (handlers before `else`/`finally`), nested functions and classes, lambdas,
comprehensions, walrus, `global`/`nonlocal`, type comments, `with` items and parameters (nodes without lines).
"""

from __future__ import annotations

import ast
import random
import textwrap

import pytest

from agent.code.nodes import children
from agent.engines.builtin.fixers.ast_scopes import Scopes, Unsure
from agent.engines.builtin.fixers.ast_statement_scopes import StatementScopes, statement_bindings_suffice
from agent.engines.builtin.fixers.ast_view import AstView

TRICKY = textwrap.dedent('''\
    import os, subprocess as sp
    from random import choice as pick
    import xml.etree.ElementTree as ET

    @decorate(lambda v: [w for w in v if (z := w)])
    @other.attr(
        key=os.path.join("a", "b"),
    )
    def outer(a, b: "int" = pick([1, 2]), *args, c=lambda q: q + 1, **kw) -> sp.Popen:  # type: (int) -> None
        x = [y for y in a if y]
        def inner(d=x):
            nonlocal x
            x = d
            return sp.run(d, shell=True)
        class K(Base, metaclass=M):
            attr = choice = 3
            def method(self): return attr
        with open(a) as fh, ctx() as (p, q):
            pass
        try:
            import yaml
        except* ValueError as err:
            os.system(err)
        except* (TypeError, KeyError):
            pass
        else:
            y = 1
        finally:
            z = 2
        match a:
            case [1, *rest] if rest:
                return rest
            case {"k": v, **others}:
                return others
            case K(attr=n) | None:
                pass
        for i, (j, *k) in enumerate(a):
            if i: break
        else:
            pass
        while (n := len(a)) > 10:
            a = a[1:]
        return inner

    async def coroutine():
        async with lock as l:
            async for item in aiter():
                await item
        return [await v async for v in gen()]

    global_name = 1
    def g():
        global global_name
        global_name = ET.parse("x")
    x = {**base, 'k': 1}
    print(f"{x!r:>{width}}" f'{y}' "plain")
    if a: b = 1; c = pick(2)
    elif d: pass
    else: e = sp.call("ls", shell=True)
    del x, y[0]
    ''')

PLAIN = textwrap.dedent('''\
    import os

    def f(
        a,
        b=1,
    ):
        def g(): return a
        return g

    class C:
        x = 1
        def m(self, y=x):
            return [x for _ in y]

    try:
        import yaml
    except ImportError:
        yaml = None
    else:
        import hashlib
    finally:
        import random
        random.choice([1])

    def h(text: os.PathLike, *, key: "os.PathLike" = None):
        import random as r
        for random in text:
            r.random(random)
        with open(text) as (fh, other), ctx():
            fh.read()
        return lambda random=random: random.choice(text)
    ''')


def _variants() -> dict[str, str]:
    no_declarations = TRICKY.replace("        nonlocal x", "").replace("    global global_name", "")
    statement_only = no_declarations.replace("if (z := w)", "if w").replace("while (n := len(a)) > 10", "while a") \
        .replace("global_name", "module_name")
    match_block = statement_only[statement_only.index("    match a:"):statement_only.index("    for i, (j")]
    return {"tricky": TRICKY, "no global/nonlocal": no_declarations, "statement bindings": statement_only,
            "statement bindings, no match": statement_only.replace(match_block, ""), "plain": PLAIN,
            "plain, walrus in a string": PLAIN + 'S = ":="\n',
            "plain, walrus": PLAIN.replace("    for random in text:", "    if (m := len(text)) > 1:\n        r.random(m)\n"
                                           "    for random in text:")}


def _whole_walk(tree: ast.Module) -> tuple[list[ast.AST], dict[int, ast.AST]]:
    preorder, parent = [], {}
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        preorder.append(node)
        below = children(node)
        for child in below:
            parent[id(child)] = node
        below.reverse()
        stack += below
    return preorder, parent


TYPES = [ast.Call, ast.Compare, ast.Assign, (ast.Import, ast.ImportFrom), ast.stmt, ast.FunctionDef, ast.expr,
         ast.Name, (ast.Try, ast.ExceptHandler), ast.AST, ast.arg, ast.keyword, ast.Attribute, ast.alias,
         ast.withitem, ast.arguments, ast.comprehension, ast.match_case, ast.pattern]


@pytest.mark.parametrize("name", list(_variants()))
@pytest.mark.parametrize("seed", range(4))
def test_lazy_walk_gives_the_whole_walks_nodes_order_and_parents(name: str, seed: int) -> None:
    source = _variants()[name]
    tree = ast.parse(source)
    preorder, parent = _whole_walk(tree)
    lines = len(source.splitlines())
    spans = [(n.lineno, n.end_lineno) for n in preorder if isinstance(n, ast.stmt)]
    spans += [(line, line) for line in range(1, lines + 3)] + [(line, line + 3) for line in range(1, lines)]
    spans += [(1, 10**9)]
    rng = random.Random(seed)
    jobs: list[tuple[str, object, object]] = [("lines", t, s) for s in spans for t in TYPES]
    jobs += [("parent", node, None) for node in preorder]
    rng.shuffle(jobs)
    view = AstView(source, tree)
    for kind, what, span in jobs:
        if kind == "parent":
            assert view.parent_of(what) is parent.get(id(what)), (type(what).__name__, getattr(what, "lineno", 0))
            continue
        first, last = span  # type: ignore[misc]
        got = view.nodes_on_lines(what, first, last)  # type: ignore[arg-type]
        want = [n for n in preorder if isinstance(n, what) and hasattr(n, "lineno")  # type: ignore[arg-type]
                and n.lineno <= last and n.end_lineno >= first]
        assert [id(n) for n in got] == [id(n) for n in want], (what, first, last)
    assert view.parent_of(tree) is None and view.parent_of(None) is None and view.parent_of(ast.Load()) is None
    assert view.parent_of(ast.parse("x = 1").body[0]) is None  # a node of another tree


def test_a_try_statements_handlers_come_before_its_else_and_finally() -> None:
    source = "try:\n    a = 1\nexcept E:\n    b = 2\nelse:\n    c = 3\nfinally:\n    d = 4\n"
    view = AstView(source, ast.parse(source))
    assert [n.targets[0].id for n in view.nodes_on_lines(ast.Assign, 1, 8)] == ["a", "b", "c", "d"]


def _outcome(call, *args):
    try:
        return call(*args)
    except Unsure:
        return "unsure"


def _bindings(found) -> list[tuple]:
    return [(b.name, b.kind, id(b.node), b.done, id(b.value)) for b in found]


_CHECKS = {
    "qualified names": lambda s, node: s.qualified_names(node),
    "referents": lambda s, node: _bindings(s.referents(node, node.id)),
    "contains": lambda s, node: s.contains(s.scope(node), node.id),
    "contains other": lambda s, node: s.contains(s.scope(node), f"{node.id}_params"),
    "resolve": lambda s, node: _bindings(s.resolve(s.scope(node), node.id)),
    "bindings": lambda s, node: _bindings(s.scope(node).bindings.get(node.id, [])),
    "accesses": lambda s, node: [id(r) for r in s.accesses(s.scope(node), node.id)],  # goes over to `Scopes`
}


@pytest.mark.parametrize("name", list(_variants()))
@pytest.mark.parametrize("seed", range(3))
def test_lazy_scopes_answer_as_one_eager_walk(name: str, seed: int) -> None:
    """One view asked about every name in a random order (bodies walked as lookups reach them)."""
    source = _variants()[name]
    tree = ast.parse(source)
    preorder, parent = _whole_walk(tree)
    eager = Scopes(tree, lambda node: parent.get(id(node)), lazy=False)
    lazy = AstView(source, tree).scopes
    assert isinstance(lazy, StatementScopes) == statement_bindings_suffice(source)
    nodes = [n for n in preorder if isinstance(n, (ast.Name, ast.Attribute))]
    random.Random(seed).shuffle(nodes)
    for node in nodes:
        checks = _CHECKS.values() if isinstance(node, ast.Name) else [_CHECKS["qualified names"]]
        for check in checks:
            assert _outcome(check, lazy, node) == _outcome(check, eager, node), node.lineno


@pytest.mark.parametrize("name", [n for n in _variants() if statement_bindings_suffice(_variants()[n])])
def test_statement_scopes_answer_as_one_eager_walk_before_they_go_over(name: str) -> None:
    """A fresh `StatementScopes` for each name and check: the answers read off the statements (a lookup it
    cannot answer goes over to `Scopes` and stays there, so each starts anew)."""
    source = _variants()[name]
    tree = ast.parse(source)
    preorder, parent = _whole_walk(tree)
    eager = Scopes(tree, lambda node: parent.get(id(node)), lazy=False)
    own = 0
    for node in preorder:
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        for what, check in _CHECKS.items():
            if what != "qualified names" and not isinstance(node, ast.Name):
                continue
            fresh = StatementScopes(tree, lambda n: parent.get(id(n)))
            assert _outcome(check, fresh, node) == _outcome(check, eager, node), (node.lineno, what)
            own += fresh._full is None
    assert own > 100  # most answers came from the statements alone


def test_one_string_literal_is_counted_without_the_tokenizer_as_the_tokenizer_counts() -> None:
    literals = ['"a"', "'a'", 'r"\\""', 'b"x\\\ny"', '"""a"" " \'b\' """', "'''x'''", 'f"{x!r:>{w}}"', '"a" "b"',
                '"a"\n"b"', "'a' # c\n'b'", '"""a""" """b"""', 'u"x" f"{y}"']
    for literal in literals:
        source = f"v = ({literal})\n"
        tree = ast.parse(source)
        value = tree.body[0].value  # type: ignore[attr-defined]
        expected = 1 if literal in literals[:7] else 2
        assert AstView(source, tree).string_tokens(value) == expected, literal
