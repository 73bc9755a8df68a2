"""The facts layer's own walks (issue 12: one parse, walking only what a question needs) give what a walk of the
whole tree gives: imports in `ast.walk` order, the statements and calls at a line in pre-order, parents; a module
nested too deep to analyse has no facts instead of failing the run; the store hands back cached facts in bulk."""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path

from agent.code.calls import statement_at
from agent.code.facts_store import StoreFactsCache
from agent.code.file_facts import FACTS_VERSION, facts_from_source
from agent.code.line_index import LineIndex
from agent.code.nodes import children, statement_facts, subtree
from agent.code.scopes import ScopeMap
from agent.code.sinks import ModuleFacts
from agent.store import Store

MODULE = '''"""doc"""
import os
from flask import Flask
app = Flask(__name__)


@app.route("/a")  # a decorator call on its own line
@log(level=make_level("x"))
def a(name):
    import subprocess
    if name: os.system(name); print(name)
    try:
        from shlex import quote
    except ImportError:
        import pipes as quote
    match name:
        case "x" if check(name):
            run(quote(name)).wait()
        case _:
            pass
    return [f(x) for x in g(name)] if h() else k()


class View(Base, metaclass=meta()):
    x = compute()

    @staticmethod
    def get(q):
        global COUNT
        COUNT = len(q); return exec(
            build(q),
        )
'''


def test_imports_come_in_ast_walk_order_and_global_statements_are_seen():
    tree = ast.parse(MODULE)
    imports, declares = statement_facts(tree)
    assert imports == [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [type(n).__name__ for n in imports][:2] == ["Import", "ImportFrom"]
    assert declares
    assert not statement_facts(ast.parse("def f():\n    x = 1\n"))[1]


def assert_walks_match_a_whole_tree_walk(source: str) -> LineIndex:
    """The statements and calls at each line (and line range) and the parent of each node that `LineIndex` gives
    are those a walk of the whole tree gives."""
    tree = ast.parse(source)
    preorder: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:  # the reference: every node, pre-order
        node = stack.pop()
        preorder.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    parents = {id(c): p for p in preorder for c in ast.iter_child_nodes(p)}
    index = LineIndex(tree, lambda stmt: False)
    lines = source.count("\n") + 1
    for line in range(lines + 2):
        want = [n for n in preorder if isinstance(n, ast.stmt) and n.lineno <= line <= n.end_lineno]
        assert index.statements_on(line) == want, line
        for last in (line, line + 3):
            calls = [n for n in preorder if isinstance(n, ast.Call) and line <= n.lineno <= last]
            assert index.calls_between(line, last) == calls, (line, last)
    fresh = LineIndex(tree, lambda stmt: False)  # a parent asked for before any walk: its lines are walked first
    for node in preorder[1:]:
        if not isinstance(node, ast.expr_context | ast.operator | ast.cmpop | ast.unaryop | ast.boolop):
            assert fresh.parent_of(node) is parents[id(node)]
    return index


def test_statements_calls_and_parents_at_each_line_match_a_whole_tree_walk():
    index = assert_walks_match_a_whole_tree_walk(MODULE)
    decorated = [c for c in index.calls_between(7, 8)]
    assert [ast.unparse(c.func) for c in decorated] == ["app.route", "log", "make_level"]


def test_long_blocks_are_searched_by_bisection_to_the_same_answers():
    # blocks longer than line_index._BISECT_FROM: the module's, a class's, a function's, handlers, one-line
    # suites and `;`-joined statements among them, decorators spanning lines
    parts = ["import os"]
    for i in range(12):
        parts.append(f"@deco(\n    arg({i}))\ndef f{i}(x=g({i})):\n    a = h(x); b = k(a)\n    return a")
    methods = "\n".join(f"    def m{i}(self): return self.n({i})" for i in range(12))
    parts.append(f"class C(Base(1)):\n{methods}")
    body = "\n".join(f"        v{i} = call{i}(w)" for i in range(12))
    handlers = "\n".join(f"    except E{i}:\n        r(e{i}())" for i in range(10))
    parts.append(f"def big(w):\n    if w: x(1)\n    try:\n{body}\n{handlers}")
    parts.append("match os.name:\n" + "\n".join(f"    case 'n{i}':\n        q({i})" for i in range(10)))
    assert_walks_match_a_whole_tree_walk("\n".join(parts) + "\n")



def test_code_nested_too_deep_to_analyse_has_no_facts_instead_of_failing():
    source = "import os\n\ndef f(x):\n    os.system('ls ' + " + " + ".join(["x"] * 700) + ")\n    return x\n"

    def analyse() -> tuple:
        facts = facts_from_source(source)  # the queries are lazy: they too must run under the known limit
        return facts.parsed, facts.sink(4, 4), facts.dead_code(4), facts.statement(5)

    # on a thread of its own (a fresh stack, whatever depth the test runner calls from) and under Python's
    # default recursion limit (another library in the same worker may have raised it): the depth is known
    found: list = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        worker = threading.Thread(target=lambda: found.append(analyse()))
        worker.start()
        worker.join()
    finally:
        sys.setrecursionlimit(limit)
    [(parsed, sink, dead, statement)] = found
    assert parsed  # ast.parse copes; the analysis would recurse past Python's limit
    assert sink is None
    assert dead is None
    assert statement == (5, 5, 0, 0)


def test_the_store_hands_back_many_files_facts_at_once_and_only_for_their_digest(tmp_path: Path):
    store = Store.open(tmp_path / "s.db")
    cache = StoreFactsCache(store.engine)
    for i in range(3):
        cache.put_file_facts(f"m{i}.py", f"d{i}", FACTS_VERSION, {"n": i})
    cache.put_file_facts("m0.py", "old", FACTS_VERSION, {"n": -1})
    cache.put_file_facts("m1.py", "d1", FACTS_VERSION - 1, {"n": -2})
    cache.flush()
    with store.engine.begin() as conn:  # a row that does not read back is no facts
        conn.exec_driver_sql("UPDATE file_facts SET facts = '{broken' WHERE path = 'm2.py'")
    found = cache.get_many([("m0.py", "d0"), ("m1.py", "d1"), ("m2.py", "d2"), ("m3.py", "d3")], FACTS_VERSION)
    assert found == {("m0.py", "d0"): {"n": 0}, ("m1.py", "d1"): {"n": 1}}
    assert cache.get_many([], FACTS_VERSION) == {}
    cache.put_file_facts("m0.py", "d0", FACTS_VERSION, {"n": 10})  # written again: replaced, not duplicated
    cache.flush()
    assert cache.get_many([("m0.py", "d0")], FACTS_VERSION) == {("m0.py", "d0"): {"n": 10}}
    store.close()


SCOPED = '''import subprocess as sp
from os import path
CMD = "ls"


def outer(x, y=CMD):
    z = "a"
    def inner(q=z):
        w = [path.join(z, q) for z in x]
        return sp.run(CMD + z, shell=True), lambda v: v + w[0] + y
    class Local:
        z = "b"
        def get(self):
            return z
    return inner


class Top:
    CMD = "top"
    def m(self, k=CMD):
        return CMD, k, (n := 3), n
'''


def test_function_bodies_read_on_demand_resolve_names_as_reading_them_all_does():
    tree = ast.parse(SCOPED)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    lazy, eager = ScopeMap(tree, declares=False), ScopeMap(tree, declares=True)
    for name in reversed(names):  # inner bodies asked about first: their enclosing bodies are read on the way
        assert lazy.constant_binding(name) is eager.constant_binding(name), (name.id, name.lineno)
        assert lazy.binding_count(name) == eager.binding_count(name), (name.id, name.lineno)
        assert lazy.qualified_names(name) == eager.qualified_names(name), (name.id, name.lineno)
    run = next(n for n in names if n.id == "sp")
    assert lazy.qualified_names(run) == {"subprocess"}
    cmd_in_inner = next(n for n in names if n.id == "CMD" and n.lineno == 10)
    assert ast.unparse(lazy.constant_binding(cmd_in_inner)) == "'ls'"  # not Top's class attribute


SHAPES = '''import os
x = 1; y = f(x); z = (
    g(y)); w = 2
if x: a = 1; b = h(a)
else: c = 3
while y:
    try: d = k()
    except (E, F) as e: d = e; use(d)
    else:
        pass
    finally: done(d)
for i in range(3): total = i; report(total)
match x:
    case {"k": v, **rest} if v: found = v; show(found)
    case None | True:
        nothing()
    case [first, *others]:
        cmd = first
        run(cmd)
with open(p) as fh: data = fh.read()
async def co(*, key, opt=None):
    async with lock: value = await get(key)
    return {**value, "k": 1}
@decorated
class K: attr = 1; other = attr
'''


def test_the_statement_at_a_line_comes_off_the_line_index_as_the_statement_walk_gives_it():
    for source in (MODULE, SCOPED, SHAPES):
        tree = ast.parse(source)
        facts = ModuleFacts(source, tree)
        for line in range(source.count("\n") + 3):
            assert facts.statement_at(line) == statement_at(tree, line), line
    facts = ModuleFacts(SHAPES, ast.parse(SHAPES))
    assert facts.statement_at(2) == (2, 3, 0, 0)  # `x = 1; y = f(x); z = (...)`: the last statement on the line
    assert facts.statement_at(18) == (18, 18, 19, 19)  # `cmd = first` then `run(cmd)`, in a match case


# imports one level below every block of a `try`: `ast.walk` takes the handlers' before those under `else`
# and `finally`
TRY_IMPORTS = '''try:
    import json
except ImportError:
    import simplejson as json
else:
    if FAST:
        import ujson
finally:
    if EXIT:
        import atexit
'''


def test_children_are_the_child_nodes_but_leaf_singletons_and_walk_order_holds():
    singletons = ast.expr_context | ast.operator | ast.cmpop | ast.unaryop | ast.boolop
    for source in (MODULE, SCOPED, SHAPES, TRY_IMPORTS):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            want = [c for c in ast.iter_child_nodes(node) if not isinstance(c, singletons)]
            assert children(node) == want, ast.dump(node)[:80]
        assert {id(n) for n in subtree(tree)} == {id(n) for n in ast.walk(tree) if not isinstance(n, singletons)}
        imports, declares = statement_facts(tree)
        assert imports == [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        assert declares == any(isinstance(n, ast.Global | ast.Nonlocal) for n in ast.walk(tree))


DECLARED = '''MODE = "a"
def set_mode(flag):
    if flag:
        try:
            with lock:
                global MODE
                MODE = flag
        except E:
            pass
    return MODE
def outer():
    level = "x"
    def inner(v):
        for item in v:
            match item:
                case 1:
                    nonlocal level
                    level = item
        return level
    return inner, level
def local_only():
    MODE = "b"
    return MODE, lambda: MODE
'''


def test_global_and_nonlocal_statements_in_nested_blocks_bind_where_they_point():
    tree = ast.parse(DECLARED)
    scopes = ScopeMap(tree, declares=True)
    reads = {(n.id, n.lineno): n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert scopes.binding_count(reads[("MODE", 10)]) == 2  # `MODE = "a"` and the global store in set_mode
    assert scopes.constant_binding(reads[("MODE", 10)]) is None
    assert scopes.binding_count(reads[("level", 19)]) == 2  # `level = "x"` and the nonlocal store in inner
    assert scopes.binding_count(reads[("level", 20)]) == 2
    assert ast.unparse(scopes.constant_binding(reads[("MODE", 23)])) == "'b'"  # local_only's own MODE
