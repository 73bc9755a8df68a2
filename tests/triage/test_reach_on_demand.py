"""The call graph is built on demand (issue 12): only modules that may hold a web handler, then those that may
define a name the walk resolves, are parsed. The walk must be exactly the whole project's: same roots, same
resolutions (a name defined in a module nothing imports still makes `?.name` ambiguous), same edge order when two
files share a module name. Each case compares with the graph of every module added in path order."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.code.calls import CallGraph, outline
from agent.triage.code_kind import path_kind
from agent.triage.reachability import ReachabilityIndex, _python_files


def whole_walk(root: Path) -> dict:
    """The walk of the graph of every production module of `root`, added in path order (the definition)."""
    index = ReachabilityIndex(root)
    graph = CallGraph()
    for path in _python_files(index.files.root, path_kind):
        facts = index.facts(path)
        if facts.parsed:
            graph.add_module(path, facts.calls,
                             {first: ep.name for first, _, ep in facts.spans if ep.kind == "web handler"})
    return graph._walk()


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def on_demand(root: Path) -> tuple[ReachabilityIndex, dict]:
    index = ReachabilityIndex(root)
    walk = index.call_graph()._walk()
    assert list(walk.items()) == list(whole_walk(root).items())
    return index, walk


ROUTE = '''from flask import Flask
from app import service

app = Flask(__name__)


@app.route("/items", methods=["POST"])
def create():
    return service.store()
'''


def test_route_in_an_unflagged_file_reaches_a_flagged_helper_through_an_unflagged_module(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "app/__init__.py": "",
        "app/web.py": ROUTE,
        "app/service.py": "from app.db import save\n\n\ndef store():\n    return save()\n",
        "app/db.py": "def save():\n    return run('x')\n\n\ndef run(sql):\n    return sql\n",
        "app/unrelated.py": "def other():\n    return 1\n",
    })
    index, _ = on_demand(root)
    assert index.call_graph().path_to("app/db.py", "run") == (
        "reachable from route POST /items (web handler `create`) via store → save → run")
    assert index.files.reads == 3  # web, service, db: unrelated.py and __init__.py hold no handler and define no
    # name the walk asks for


def test_a_definition_in_a_module_nothing_imports_keeps_a_bare_name_ambiguous(tmp_path: Path) -> None:
    route = '@app.get("/a")\ndef show(repo):\n    return repo.lookup()\n'
    root = write(tmp_path, {
        "app/web.py": route,
        "app/repo.py": "class Repo:\n    def lookup(self):\n        return 1\n",
        "app/zz_other.py": "class Cache:\n    def lookup(self):\n        return 2\n",
    })
    _, walk = on_demand(root)
    assert list(walk) == ["app.web.show"]  # `?.lookup` names two functions: not followed
    (root / "app/zz_other.py").unlink()
    _, walk = on_demand(root)
    assert "app.repo.Repo.lookup" in walk


def test_class_constructor_and_two_files_of_one_module_name(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "app/web.py": "from app.model import Model\n\n\n@app.route('/m')\ndef make():\n    return Model()\n",
        "app/model.py": "class Model:\n    def __init__(self):\n        self.a = first()\n",
        "src/app/model.py": "class Model:\n    def __init__(self):\n        self.b = second()\n",
        "app/helpers.py": "def first():\n    return 1\n\n\ndef second():\n    return 2\n",
    })
    _, walk = on_demand(root)
    assert {"app.model.Model.__init__", "app.helpers.first", "app.helpers.second"} <= set(walk)


def test_view_classes_multi_line_decorators_and_non_ascii_modules_are_roots(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "app/views.py": "class Items(\n    base.MethodView,  # a view\n):\n    def get(self):\n        return a()\n",
        "app/multi.py": "@router.add(\n    'x',\n)\n@(\n    router\n    .post\n)('/b')\ndef b():\n    return c()\n",
        "app/uni.py": "# café\n@app.route('/u')\ndef u():\n    return d()\n",
        "app/helpers.py": "def a():\n    return 1\n\n\ndef c():\n    return 2\n\n\ndef d():\n    return 3\n",
    })
    _, walk = on_demand(root)
    assert {"app.views.Items.get", "app.multi.b", "app.uni.u", "app.helpers.a", "app.helpers.c",
            "app.helpers.d"} <= set(walk)


@pytest.mark.parametrize(("source", "web"), [
    ('@app.route("/x")\ndef f():\n    pass\n', True),
    ("@app\\\n.get\ndef f():\n    pass\n", True),
    ('@cache("route get post")  # route\ndef f():\n    pass\n', False),  # words in strings and comments
    ('@cache("""\nroute\n""")\ndef f():\n    pass\n', False),
    ('@cache(f"{x}")\ndef f():\n    pass\n', True),  # an f-string: not told apart, so counted
    ("@cache(\ndef f():\n    pass\n", True),  # does not tokenize: counted
    ("class A(Base):\n    route = 1\n", False),
    ("class A(x.ViewSet, metaclass=M):\n    pass\n", True),
    ("class A(Handler[int]):\n    pass\n", True),
    ("x = '''\n@app.route('/')\n'''\n", True),  # inside a string: a superset is fine
    ("x = 1  # caf\u00e9\n", True),  # not ASCII: anything
])
def test_outline_may_hold_a_web_handler(source: str, web: bool) -> None:
    assert outline(source).web is web


def test_outline_names_every_def_and_class() -> None:
    found = outline("def a():\n    def b(): pass\nasync def c(): pass\nclass D:\n    pass\ndef\\\n  e(): pass\n")
    assert found.names is not None and {"a", "b", "c", "D", "e"} <= found.names


def test_edges_keep_path_order_when_a_module_name_is_added_out_of_order(tmp_path: Path) -> None:
    # src/app/model.py holds the route (parsed first); app/model.py, earlier in path order, is parsed on demand
    # and its edges of the shared `app.model.go` still come first, so the shortest path found is the same
    root = write(tmp_path, {
        "app/model.py": "from app.x import alpha\n\n\ndef go():\n    return alpha()\n",
        "src/app/model.py": "from app.x import beta\n\n\n@app.route('/g')\ndef r():\n    return go()\n\n\n"
                            "def go():\n    return beta()\n",
        "app/x.py": "def alpha():\n    return target()\n\n\ndef beta():\n    return target()\n\n\n"
                    "def target():\n    return 1\n",
    })
    index, _ = on_demand(root)
    assert index.call_graph().path_to("app/x.py", "target") == (
        "reachable from route GET /g (web handler `r`) via go → alpha → target")


def test_files_prepared_for_findings_outline_from_their_facts(tmp_path: Path) -> None:
    from agent.models import Finding, Location

    root = write(tmp_path, {
        "app/__init__.py": "",
        "app/web.py": ROUTE,  # flagged: its facts are loaded by prepare, and its route found there
        "app/service.py": "from app.db import save\n\n\ndef store():\n    return save()\n",
        "app/db.py": "class Saver:\n    def save(self):\n        return 1\n\n\ndef save():\n    return Saver().save()\n",
    })
    index = ReachabilityIndex(root)
    index.prepare([Finding(id="a", tool="bandit", rule_id="B608", message="sql", severity="high",
                           location=Location(path="app/web.py", start_line=9))])
    walk = index.call_graph()._walk()
    assert list(walk.items()) == list(whole_walk(root).items())
    assert "app.db.save" in walk
